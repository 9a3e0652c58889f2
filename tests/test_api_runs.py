"""Runs through the API: filtered history, one run with stations and batches, its log after a cursor."""

from __future__ import annotations

import pytest

from acquisition.models import PullLogEntry, PullRun
from tests.api_helpers import bearer, make_catalog
from tests.factories import PullRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    return make_catalog()


def test_it_lists_runs_newest_first_with_filters_and_next(client, viewer, catalog):
    failed = PullRunFactory(configuration=catalog["config"], status=PullRun.Status.FAILED, trigger="manual")
    newest = PullRunFactory(configuration=catalog["config"], status=PullRun.Status.SUCCEEDED)
    headers = bearer(viewer)
    page = client.get("/api/v1/runs?limit=2", headers=headers).json()
    assert [r["id"] for r in page["items"]] == [newest.pk, failed.pk]
    rest = client.get(page["next"], headers=headers).json()
    assert [r["id"] for r in rest["items"]] == [catalog["run"].pk]
    assert rest["next"] is None
    only_failed = client.get("/api/v1/runs?status=failed&trigger=manual", headers=headers).json()
    assert [r["id"] for r in only_failed["items"]] == [failed.pk]


def test_a_bad_filter_is_a_422_naming_it(client, viewer, catalog):
    response = client.get("/api/v1/runs?status=exploded", headers=bearer(viewer))
    assert response.status_code == 422
    assert "status" in response.json()["errors"]
    response = client.get("/api/v1/runs?date_from=2026-02-01&date_to=2026-01-01", headers=bearer(viewer))
    assert response.status_code == 422
    assert "swap them" in response.json()["detail"]


def test_one_run_has_its_stations_and_batches(client, viewer, catalog):
    body = client.get(f"/api/v1/runs/{catalog['run'].pk}", headers=bearer(viewer)).json()
    assert [s["station"] for s in body["stations"]] == ["USGS-01646500", "USGS-01645000"]
    assert body["stations"][0]["batch"] == 1
    assert body["stations"][0]["time_series_id"] == "a" * 32
    assert [b["number"] for b in body["batches"]] == [1]
    assert body["log_url"].endswith(f"/api/v1/runs/{catalog['run'].pk}/log")


def test_the_log_tails_after_a_cursor(client, viewer, catalog):
    run, headers = catalog["run"], bearer(viewer)
    first = client.get(f"/api/v1/runs/{run.pk}/log?limit=2", headers=headers).json()
    assert [line["message"] for line in first["items"]] == ["line 0", "line 1"]
    assert first["items"][0]["station"] is None
    assert first["items"][1]["station"] == "USGS-01646500"
    assert first["active"] is False
    rest = client.get(first["next"], headers=headers).json()
    assert [line["message"] for line in rest["items"]] == ["line 2"]
    PullLogEntry.objects.create(run=run, message="a late line")
    later = client.get(rest["next"], headers=headers).json()
    assert [line["message"] for line in later["items"]] == ["a late line"]
    nothing = client.get(later["next"], headers=headers).json()
    assert nothing["items"] == []
    assert nothing["next"] == later["next"]


def test_an_unknown_run_is_a_404(client, viewer, catalog):
    assert client.get("/api/v1/runs/999999", headers=bearer(viewer)).status_code == 404
    assert client.get("/api/v1/runs/999999/log", headers=bearer(viewer)).status_code == 404
