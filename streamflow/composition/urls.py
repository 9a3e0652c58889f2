from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import api_urlpatterns, token_views
from monitoring.metrics_views import metrics_view

from . import views

handler404 = "streamflow.not_found.page_not_found"

urlpatterns = [
    path("", include("monitoring.urls")),
    path("health/", views.health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    # Only login is public (DESIGN §8): no self-service password reset; an administrator resets passwords.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("stations/", include("stations.urls")),
    path("pulls/", include("pulls.urls")),
    path("accounts/api-tokens/", token_views.token_list, name="api_tokens"),
    path("accounts/api-tokens/<int:pk>/revoke/", token_views.token_revoke, name="api_token_revoke"),
    path("api/v1/", api_urlpatterns()),
    path("admin/", admin.site.urls),
]
