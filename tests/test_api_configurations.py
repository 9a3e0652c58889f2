"""Configurations through the API: the configuration form's rules and messages, and beat's task in step."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from acquisition.models import PullRun
from pulls.models import PullConfiguration
from tests.api_helpers import bearer, make_catalog

pytestmark = pytest.mark.django_db
LIST = "/api/v1/configurations"


@pytest.fixture
def catalog():
    return make_catalog()


@pytest.fixture
def sent(monkeypatch) -> list:
    """The real enqueue_run (the run row is created), with the task's .delay recorded instead of sent."""
    calls = []
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *a, **kw: calls.append((a, kw)))
    return calls


def _post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def _patch(client, url, body, headers):
    return client.patch(url, json.dumps(body), content_type="application/json", headers=headers)


NEW = {
    "name": "Seneca hourly",
    "schedule_type": "custom",
    "cron_expression": "15 */2 * * *",
    "timezone": "America/New_York",
    "start_date": "2025-01-01",
    "stations": ["USGS-01645000", "USGS-01646500"],
}


def test_it_creates_a_configuration_with_its_periodic_task(client, operator, catalog):
    response = _post(client, LIST, NEW, bearer(operator))
    assert response.status_code == 201
    body = response.json()
    assert body["stations"] == ["USGS-01645000", "USGS-01646500"]
    assert body["cron_expression"] == "15 */2 * * *"
    config = PullConfiguration.objects.get(pk=body["id"])
    assert config.created_by == operator
    task = PeriodicTask.objects.get(name=f"pull-config-{config.pk}")
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("15", "*/2", "America/New_York")
    assert json.loads(task.args) == [config.pk]


def test_a_bad_cron_gets_the_forms_message_and_nothing_is_created(client, operator, catalog):
    response = _post(client, LIST, {**NEW, "cron_expression": "61 * * * *"}, bearer(operator))
    assert response.status_code == 422
    body = response.json()
    assert body["errors"]["cron_expression"] == ["61 is out of range in the minute field; use 0-59."]
    assert "cron_expression" in body["detail"]
    assert not PullConfiguration.objects.filter(name=NEW["name"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stations": ["USGS-99999999"]}, "stations"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "potomac DAILY"}, "name"),
        ({"colour": "blue"}, "colour"),
        ({"enabled": "sometimes"}, "enabled"),
        ({"start_date": "2025-02-30"}, "start_date"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, operator, catalog, change, field):
    response = _post(client, LIST, {**NEW, **change}, bearer(operator))
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert PullConfiguration.objects.count() == 1


def test_malformed_json_is_a_400_with_a_message(client, operator, catalog):
    response = client.post(LIST, "{not json", content_type="application/json", headers=bearer(operator))
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_a_viewer_cannot_create(client, viewer, catalog):
    response = _post(client, LIST, NEW, bearer(viewer))
    assert response.status_code == 403
    assert PullConfiguration.objects.count() == 1


def test_it_lists_with_a_keyset_next_link(client, viewer, catalog):
    for n in range(3):
        PullConfiguration.objects.create(name=f"Extra {n}", start_date="2025-01-01")
    headers = bearer(viewer)
    first = client.get(f"{LIST}?limit=3", headers=headers).json()
    assert [c["name"] for c in first["items"]] == ["Potomac daily", "Extra 0", "Extra 1"]
    second = client.get(first["next"], headers=headers).json()
    assert [c["name"] for c in second["items"]] == ["Extra 2"]
    assert second["next"] is None


def test_a_tampered_cursor_is_refused(client, viewer, catalog):
    response = client.get(f"{LIST}?cursor=WzFd:forged", headers=bearer(viewer))
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]


def test_it_reads_one_with_its_stations_and_404s_an_unknown_one(client, viewer, catalog):
    headers = bearer(viewer)
    body = client.get(f"{LIST}/{catalog['config'].pk}", headers=headers).json()
    assert body["stations"] == ["USGS-01646500", "USGS-01645000"]
    assert body["station_count"] == 2
    missing = client.get(f"{LIST}/999999", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["detail"]


def test_it_updates_only_the_fields_sent_and_resyncs_the_task(client, operator, catalog):
    config = catalog["config"]
    response = _patch(client, f"{LIST}/{config.pk}", {"schedule_type": "hourly"}, bearer(operator))
    assert response.status_code == 200
    config.refresh_from_db()
    assert (config.schedule_type, config.cron_expression, config.name) == ("hourly", "0 * * * *", "Potomac daily")
    assert PeriodicTask.objects.get(name=f"pull-config-{config.pk}").crontab.hour == "*"


def test_an_update_with_a_bad_cron_changes_nothing(client, operator, catalog):
    config = catalog["config"]
    body = {"schedule_type": "custom", "cron_expression": "* * 31 2 *"}
    response = _patch(client, f"{LIST}/{config.pk}", body, bearer(operator))
    assert response.status_code == 422
    assert "cron_expression" in response.json()["errors"]
    config.refresh_from_db()
    assert config.schedule_type == "daily"


def test_it_pauses_and_resumes_with_the_task(client, operator, catalog):
    config, headers = catalog["config"], bearer(operator)
    task_name = f"pull-config-{config.pk}"
    assert client.post(f"{LIST}/{config.pk}/pause", headers=headers).json()["enabled"] is False
    assert PeriodicTask.objects.get(name=task_name).enabled is False
    assert client.post(f"{LIST}/{config.pk}/resume", headers=headers).json()["enabled"] is True
    assert PeriodicTask.objects.get(name=task_name).enabled is True


def test_it_adds_and_removes_stations(client, operator, catalog):
    config, headers = catalog["config"], bearer(operator)
    added = _post(client, f"{LIST}/{config.pk}/stations", {"stations": ["USGS-01636500"]}, headers)
    assert added.status_code == 422  # the catalog knows no daily series for it: the form's rule
    assert "series" in added.json()["detail"]
    body = {"stations": ["USGS-01636500"], "keep_without_series": True}
    added = _post(client, f"{LIST}/{config.pk}/stations", body, headers)
    assert added.status_code == 200
    assert added.json()["stations"] == ["USGS-01646500", "USGS-01645000", "USGS-01636500"]
    removed = client.delete(f"{LIST}/{config.pk}/stations/USGS-01645000", headers=headers)
    assert removed.json()["stations"] == ["USGS-01646500", "USGS-01636500"]
    assert list(config.memberships.values_list("location__site_number", flat=True)) == ["01646500", "01636500"]
    assert client.delete(f"{LIST}/{config.pk}/stations/USGS-01645000", headers=headers).status_code == 404


def test_it_deletes_a_configuration_and_its_task_keeping_runs(client, operator, catalog):
    config = catalog["config"]
    response = client.delete(f"{LIST}/{config.pk}", headers=bearer(operator))
    assert response.status_code == 204
    assert not PullConfiguration.objects.filter(pk=config.pk).exists()
    assert not PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").exists()
    assert PullRun.objects.filter(pk=catalog["run"].pk).exists()


def test_a_viewer_cannot_delete(client, viewer, catalog):
    assert client.delete(f"{LIST}/{catalog['config'].pk}", headers=bearer(viewer)).status_code == 403
    assert PullConfiguration.objects.filter(pk=catalog["config"].pk).exists()


def test_run_now_queues_a_run_and_answers_202_with_its_url(client, operator, catalog, sent):
    config = catalog["config"]
    response = client.post(f"{LIST}/{config.pk}/run", headers=bearer(operator))
    assert response.status_code == 202
    body = response.json()
    run = PullRun.objects.get(pk=body["run"]["id"])
    assert (run.status, run.trigger, run.triggered_by) == ("queued", "manual", operator.username)
    assert body["url"].endswith(f"/api/v1/runs/{run.pk}")
    assert len(sent) == 1
    again = client.post(f"{LIST}/{config.pk}/run", headers=bearer(operator))
    assert again.status_code == 409
    assert f"run #{run.pk}" in again.json()["detail"]


def test_a_viewer_cannot_run(client, viewer, catalog, sent):
    assert client.post(f"{LIST}/{catalog['config'].pk}/run", headers=bearer(viewer)).status_code == 403
    assert PullRun.objects.count() == 1
    assert sent == []


def test_run_now_says_so_when_the_queue_is_unreachable(client, operator, catalog, monkeypatch):
    def broken(*a, **kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", broken)
    response = client.post(f"{LIST}/{catalog['config'].pk}/run", headers=bearer(operator))
    assert response.status_code == 503
    assert PullRun.objects.active().count() == 0


def test_repull_queues_a_backfill_of_the_range(client, operator, catalog, sent):
    config = catalog["config"]
    body = {"start": "2026-01-01", "end": "2026-01-31"}
    response = _post(client, f"{LIST}/{config.pk}/repull", body, bearer(operator))
    assert response.status_code == 202
    run = PullRun.objects.get(pk=response.json()["run"]["id"])
    assert (run.trigger, str(run.range_start), str(run.range_end)) == ("backfill", "2026-01-01", "2026-01-31")


def test_an_inverted_repull_range_is_refused(client, operator, catalog, sent):
    body = {"start": "2026-02-01", "end": "2026-01-01"}
    response = _post(client, f"{LIST}/{catalog['config'].pk}/repull", body, bearer(operator))
    assert response.status_code == 422
    assert "swap the two dates" in response.json()["detail"]
    assert PullRun.objects.count() == 1


def test_a_nul_character_in_the_body_is_a_422_naming_the_field(client, operator, catalog):
    for body in ({**NEW, "stations": ["USGS-0164\x006500"]}, {**NEW, "name": "a\x00b"}):
        field = "stations" if "\x00" in body["stations"][0] else "name"
        response = _post(client, LIST, body, bearer(operator))
        assert response.status_code == 422
        assert field in response.json()["errors"]
    assert PullConfiguration.objects.count() == 1


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_body_over_the_upload_limit_is_a_413_json_and_nothing_changes(client, operator, catalog, settings, method):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    config = PullConfiguration.objects.get()
    url = LIST if method == "post" else f"{LIST}/{config.pk}"
    body = json.dumps({**NEW, "description": "x" * 5000})

    response = getattr(client, method)(url, body, content_type="application/json", headers=bearer(operator))

    assert response.status_code == 413
    assert "larger than the 1,000 bytes" in response.json()["detail"]
    config.refresh_from_db()
    assert PullConfiguration.objects.count() == 1 and config.description != "x" * 5000


# --- parameters (issue 24) -----------------------------------------------------------------------------------------


def test_a_configuration_is_created_with_its_parameters_and_shows_them(client, operator, catalog):
    response = _post(client, LIST, {**NEW, "parameters": ["00065", "00060", "00010"]}, bearer(operator))

    assert response.status_code == 201, response.content
    config = PullConfiguration.objects.get(pk=response.json()["id"])
    # In the catalog's order, whatever order they were sent in, as the form stores them.
    assert config.parameter_codes == ["00060", "00065", "00010"]
    assert response.json()["parameters"] == ["00060", "00065", "00010"]
    assert client.get(f"{LIST}/{config.pk}", headers=bearer(operator)).json()["parameters"] == config.parameter_codes


def test_without_parameters_a_configuration_pulls_discharge(client, operator, catalog):
    body = _post(client, LIST, NEW, bearer(operator)).json()

    assert body["parameters"] == ["00060"]
    assert PullConfiguration.objects.get(pk=body["id"]).parameter_codes == ["00060"]


def test_a_patch_changes_the_parameters_only_when_sent(client, operator, catalog):
    url = f"{LIST}/{_post(client, LIST, {**NEW, 'parameters': ['00060', '00065']}, bearer(operator)).json()['id']}"

    assert _patch(client, url, {"enabled": False}, bearer(operator)).json()["parameters"] == ["00060", "00065"]
    assert _patch(client, url, {"parameters": ["00010"]}, bearer(operator)).json()["parameters"] == ["00010"]


@pytest.mark.parametrize("parameters", [[], ["99999"], ["00060", "00060x"], "00060"])
def test_bad_parameters_are_a_422_and_change_nothing(client, operator, catalog, parameters):
    before = PullConfiguration.objects.count()

    response = _post(client, LIST, {**NEW, "parameters": parameters}, bearer(operator))

    assert response.status_code == 422
    assert "parameters" in json.dumps(response.json())
    assert PullConfiguration.objects.count() == before
