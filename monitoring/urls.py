from __future__ import annotations

from django.urls import path

import stations.converters  # noqa: F401  (registers <location_id:>)

from . import data_views, map_views, ops_views, percentile_views, quality_views, revision_views, views

app_name = "monitoring"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("monitoring/runs/", views.run_list, name="runs"),
    path("monitoring/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("monitoring/runs/<int:pk>/poll/", views.run_poll, name="run_poll"),
    path("monitoring/runs/<int:pk>/log.txt", views.run_log_download, name="run_log_download"),
    path("monitoring/runs/<int:pk>/run-again/", views.run_again, name="run_again"),
    path(
        "monitoring/configurations/<int:pk>/statistics/",
        data_views.configuration_statistics,
        name="configuration_statistics",
    ),
    path("monitoring/status-map.json", map_views.status_map, name="status_map"),
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
        "monitoring/stations/<location_id:monitoring_location_id>/quality/",
        quality_views.station_quality,
        name="station_quality",
    ),
    path(
        "monitoring/configurations/<int:pk>/status-map.json",
        map_views.configuration_status_map,
        name="configuration_status_map",
    ),
    path(
        "monitoring/stations/<location_id:monitoring_location_id>/data/", data_views.station_data, name="station_data"
    ),
    path(
        "monitoring/stations/<location_id:monitoring_location_id>/data.csv",
        data_views.station_data_csv,
        name="station_data_csv",
    ),
    path("monitoring/channels/", ops_views.channel_list, name="channels"),
    path("monitoring/channels/new/", ops_views.channel_create, name="channel_create"),
    path("monitoring/channels/<int:pk>/", ops_views.channel_detail, name="channel_detail"),
    path("monitoring/channels/<int:pk>/test/", ops_views.channel_test, name="channel_test"),
    path("monitoring/channels/<int:pk>/delete/", ops_views.channel_delete, name="channel_delete"),
    path("monitoring/channels/<int:pk>/rules/", ops_views.rule_create, name="rule_create"),
    path("monitoring/channels/<int:pk>/rules/<int:rule_pk>/delete/", ops_views.rule_delete, name="rule_delete"),
    path("monitoring/deliveries/", ops_views.delivery_list, name="deliveries"),
    path("monitoring/percentile-map.json", percentile_views.percentile_map, name="percentile_map"),
    path(
        "monitoring/configurations/<int:pk>/percentile-map.json",
        percentile_views.configuration_percentile_map,
        name="configuration_percentile_map",
    ),
    path(
        "monitoring/stations/<location_id:monitoring_location_id>/normals/refresh/",
        percentile_views.refresh_station_normals,
        name="refresh_station_normals",
    ),
    path("monitoring/workers/", ops_views.worker_list, name="workers"),
]
