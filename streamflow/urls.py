from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", include("monitoring.urls")),
    path("health/", views.health, name="health"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("stations/", include("stations.urls")),
    path("pulls/", include("pulls.urls")),
    path("admin/", admin.site.urls),
]
