from __future__ import annotations

from django.urls import path

from . import data_views, quality_views, revision_views, views

app_name = "monitoring"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("monitoring/runs/", views.run_list, name="runs"),
    path("monitoring/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("monitoring/runs/<int:pk>/log.txt", views.run_log_download, name="run_log_download"),
    path("monitoring/runs/<int:pk>/run-again/", views.run_again, name="run_again"),
    path(
        "monitoring/configurations/<int:pk>/statistics/",
        data_views.configuration_statistics,
        name="configuration_statistics",
    ),
    path("monitoring/configurations/<int:pk>/revisions/", revision_views.configuration_revisions, name="revisions"),
    path(
        "monitoring/configurations/<int:pk>/revisions.csv",
        revision_views.configuration_revisions_csv,
        name="revisions_csv",
    ),
    path(
        "monitoring/configurations/<int:pk>/quality/", quality_views.configuration_quality, name="configuration_quality"
    ),
    path(
        "monitoring/configurations/<int:pk>/quality.csv",
        quality_views.configuration_quality_csv,
        name="configuration_quality_csv",
    ),
    path(
        "monitoring/configurations/<int:pk>/quality/worst/",
        quality_views.configuration_quality_worst,
        name="configuration_quality_worst",
    ),
    path(
        "monitoring/stations/<str:monitoring_location_id>/quality/",
        quality_views.station_quality,
        name="station_quality",
    ),
    path("monitoring/stations/<str:monitoring_location_id>/data/", data_views.station_data, name="station_data"),
    path(
        "monitoring/stations/<str:monitoring_location_id>/data.csv",
        data_views.station_data_csv,
        name="station_data_csv",
    ),
]
