"""One cap on a configuration's stations (issue 22, item 13): BASKET_MAX_STATIONS bounds the basket, the
configuration form and the API's create, edit and add-stations alike; the roll-up page lists them a page at a time."""

from __future__ import annotations

import json

import pytest

from pulls.models import PullConfiguration
from tests.api_helpers import bearer
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/configurations"
CAP = 3


@pytest.fixture
def capped(settings):
    settings.BASKET_MAX_STATIONS = CAP
    return [MonitoringLocationFactory(has_daily=True) for _ in range(CAP + 2)]


def _ids(locations) -> list[str]:
    return [loc.monitoring_location_id for loc in locations]


def _config(locations) -> PullConfiguration:
    config = PullConfigurationFactory()
    config.add_stations([loc.pk for loc in locations])
    return config


def _members(config) -> list[str]:
    return list(config.memberships.values_list("location__monitoring_location_id", flat=True))


def test_the_api_cannot_create_a_configuration_past_the_cap(client, operator, capped):
    body = {"name": "Too many", "schedule_type": "daily", "start_date": "2025-01-01", "stations": _ids(capped)}

    response = client.post(LIST, json.dumps(body), content_type="application/json", headers=bearer(operator))

    assert response.status_code == 422
    assert f"at most {CAP} stations" in response.json()["detail"]
    assert not PullConfiguration.objects.exists()


def test_the_api_cannot_grow_a_configuration_past_the_cap_by_adding(client, operator, capped):
    config = _config(capped[:CAP])
    url = f"{LIST}/{config.pk}/stations"

    response = client.post(url, json.dumps({"stations": _ids(capped[CAP:])}), content_type="application/json",
                           headers=bearer(operator))  # fmt: skip

    assert response.status_code == 422 and "BASKET_MAX_STATIONS" in response.json()["detail"]
    assert _members(config) == _ids(capped[:CAP])


def test_the_api_cannot_patch_a_configuration_past_the_cap(client, operator, capped):
    config = _config(capped[:1])

    response = client.patch(f"{LIST}/{config.pk}", json.dumps({"stations": _ids(capped)}),
                            content_type="application/json", headers=bearer(operator))  # fmt: skip

    assert response.status_code == 422
    assert _members(config) == _ids(capped[:1])


def test_the_form_refuses_more_stations_than_the_cap_and_saves_nothing(operator_client, capped):
    session = operator_client.session
    session["basket"] = _ids(capped)  # a basket filled before the cap was lowered
    session.save()

    form = {"name": "From the basket", "data_type": "daily_mean", "strategy": "append", "start_date": "2025-01-01",
            "schedule_type": "daily", "timezone": "UTC", "enabled": "on", "action": "save"}  # fmt: skip
    response = operator_client.post("/pulls/new/", form)

    assert response.status_code in (200, 400)
    assert f"at most {CAP} stations" in response.content.decode()
    assert not PullConfiguration.objects.exists()


def test_the_cap_itself_is_allowed(client, operator, capped):
    body = {"name": "Just right", "schedule_type": "daily", "start_date": "2025-01-01", "stations": _ids(capped[:CAP])}

    response = client.post(LIST, json.dumps(body), content_type="application/json", headers=bearer(operator))

    assert response.status_code == 201
    assert _members(PullConfiguration.objects.get()) == _ids(capped[:CAP])


def test_the_quality_rollup_lists_stations_a_page_at_a_time(viewer_client, monkeypatch):
    monkeypatch.setattr("monitoring.quality_views.ROLLUP_PER_PAGE", 2)
    config = _config([MonitoringLocationFactory() for _ in range(5)])
    url = f"/monitoring/configurations/{config.pk}/quality/"

    first = viewer_client.get(url).content.decode()
    last = viewer_client.get(url, {"page": 3}, headers={"HX-Request": "true"}).content.decode()

    assert first.count('class="rollup-row"') == 2 and "Stations 1–2 of 5" in first and "<html" in first
    assert last.count('class="rollup-row"') == 1 and "Stations 5–5 of 5" in last and "<html" not in last
    csv_rows = b"".join(viewer_client.get(f"/monitoring/configurations/{config.pk}/quality.csv").streaming_content)
    assert csv_rows.decode().count("\n") == 6  # the CSV keeps every station
