from __future__ import annotations

from django.urls import path

from . import views

app_name = "pulls"

urlpatterns = [
    path("", views.configuration_list, name="list"),
    path("<int:pk>/", views.configuration_detail, name="detail"),
]
