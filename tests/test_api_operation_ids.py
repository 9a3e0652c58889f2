"""The OpenAPI document's operationIds are a published interface (generated clients name their methods by them):
moving the API from streamflow/api/ to api/ and renaming its modules must not change them (issue 27)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

# As published before the move: ninja's default, <module>_<function>, from streamflow/api/<resource>.py.
PUBLISHED = {
    ("POST", "/api/v1/configurations/{config_id}/stations"): "streamflow_api_configurations_add_stations",
    ("POST", "/api/v1/configurations"): "streamflow_api_configurations_create_configuration",
    ("DELETE", "/api/v1/configurations/{config_id}"): "streamflow_api_configurations_delete_configuration",
    ("GET", "/api/v1/configurations/{config_id}"): "streamflow_api_configurations_get_configuration",
    ("GET", "/api/v1/configurations"): "streamflow_api_configurations_list_configurations",
    ("POST", "/api/v1/configurations/{config_id}/pause"): "streamflow_api_configurations_pause_configuration",
    ("DELETE", "/api/v1/configurations/{config_id}/stations/{monitoring_location_id}"): (
        "streamflow_api_configurations_remove_station"
    ),
    ("POST", "/api/v1/configurations/{config_id}/repull"): "streamflow_api_configurations_repull_configuration",
    ("POST", "/api/v1/configurations/{config_id}/resume"): "streamflow_api_configurations_resume_configuration",
    ("POST", "/api/v1/configurations/{config_id}/run"): "streamflow_api_configurations_run_configuration",
    ("PATCH", "/api/v1/configurations/{config_id}"): "streamflow_api_configurations_update_configuration",
    ("GET", "/api/v1/runs/{run_id}"): "streamflow_api_runs_get_run",
    ("GET", "/api/v1/runs"): "streamflow_api_runs_list_runs",
    ("GET", "/api/v1/runs/{run_id}/log"): "streamflow_api_runs_run_log",
    ("GET", "/api/v1/stations/{monitoring_location_id}"): "streamflow_api_stations_get_station",
    ("GET", "/api/v1/stations"): "streamflow_api_stations_list_stations",
    ("GET", "/api/v1/series/{time_series_id}/values"): "streamflow_api_values_series_values",
}


def test_every_published_operation_keeps_its_operation_id(viewer_client):
    document = viewer_client.get("/api/v1/openapi.json").json()
    served = {
        (method.upper(), path): operation["operationId"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert {key: served.get(key) for key in PUBLISHED} == PUBLISHED
