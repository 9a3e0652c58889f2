from __future__ import annotations

from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("monitoring/runs/", views.run_list, name="runs"),
    path("monitoring/runs/<int:pk>/", views.run_detail, name="run_detail"),
]
