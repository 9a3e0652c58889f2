"""Values through the API: streamed, and exactly what is stored, as CSV and JSON, daily and continuous."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from acquisition.models import ContinuousValue, DailyValue
from tests.api_helpers import bearer, close_streaming, make_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(monkeypatch):
    # Small slices, so the tests cross slice boundaries as a long range does.
    monkeypatch.setattr("api.value_endpoints.CHUNK_ROWS", 2)
    catalog = make_catalog()
    continuous = catalog["shenandoah"].series.get()
    start = dt.datetime(2026, 1, 1, 4, 45, tzinfo=dt.UTC)
    ContinuousValue.objects.bulk_create(
        ContinuousValue(
            series=continuous,
            time=start + dt.timedelta(minutes=15 * i),
            value=None if i == 3 else 2.5 * i,
            approval_status="Provisional",
            last_modified=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        )
        for i in range(7)
    )
    catalog["continuous"] = continuous
    return catalog


def _get(client, url, headers) -> tuple[StreamingHttpResponse, str]:
    response = client.get(url, headers=headers)
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content).decode()


def test_daily_csv_is_exactly_the_stored_rows(client, viewer, catalog):
    response, text = _get(client, f"/api/v1/series/{'a' * 32}/values", bearer(viewer))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "site", "time_series_id", "date", "value", "unit_usgs", "approval_status", "qualifiers", "last_modified_utc"
    ]  # fmt: skip
    stored = DailyValue.objects.filter(series=catalog["series"]).order_by("date")
    assert [(r["site"], r["time_series_id"], r["unit_usgs"]) for r in rows] == [
        ("USGS-01646500", "a" * 32, "ft^3/s")
    ] * len(stored)
    assert [(r["date"], float(r["value"]), r["approval_status"], r["qualifiers"]) for r in rows] == [
        (v.date.isoformat(), v.value, v.approval_status, " ".join(v.qualifiers)) for v in stored
    ]


def test_a_day_range_selects_both_ends(client, viewer, catalog):
    _, text = _get(client, f"/api/v1/series/{'a' * 32}/values?start=2026-01-02&end=2026-01-04", bearer(viewer))
    assert [r["date"] for r in csv.DictReader(io.StringIO(text))] == ["2026-01-02", "2026-01-03", "2026-01-04"]


def test_daily_json_is_exactly_the_stored_rows(client, viewer, catalog):
    response, text = _get(client, f"/api/v1/series/{'a' * 32}/values?format=json", bearer(viewer))
    assert response["Content-Type"] == "application/json"
    body = json.loads(text)
    assert (body["site"], body["kind"], body["unit"]) == ("USGS-01646500", "daily", "ft^3/s")
    stored = DailyValue.objects.filter(series=catalog["series"]).order_by("date")
    assert body["values"] == [
        {"date": v.date.isoformat(), "value": v.value, "approval_status": v.approval_status,
         "qualifiers": v.qualifiers, "last_modified_utc": None}
        for v in stored
    ]  # fmt: skip


def test_continuous_csv_and_json_carry_utc_times_and_missing_values(client, viewer, catalog):
    headers = bearer(viewer)
    stored = list(ContinuousValue.objects.filter(series=catalog["continuous"]).order_by("time"))
    _, text = _get(client, f"/api/v1/series/{'c' * 32}/values", headers)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["time_utc"], float(r["value"]) if r["value"] else None) for r in rows] == [
        (v.time.strftime("%Y-%m-%dT%H:%M:%SZ"), v.value) for v in stored
    ]
    assert rows[0]["last_modified_utc"] == "2026-01-02T00:00:00+00:00"
    _, text = _get(client, f"/api/v1/series/{'c' * 32}/values?format=json", headers)
    values = json.loads(text)["values"]
    assert [(v["time_utc"], v["value"]) for v in values] == [
        (v.time.strftime("%Y-%m-%dT%H:%M:%SZ"), v.value) for v in stored
    ]


def test_continuous_days_are_the_stations_local_days(client, viewer, catalog):
    # The station is on Eastern time: 1 January there begins at 05:00 UTC, so the 04:45 value is 31 December's.
    _, text = _get(client, f"/api/v1/series/{'c' * 32}/values?start=2026-01-01&end=2026-01-01", bearer(viewer))
    times = [r["time_utc"] for r in csv.DictReader(io.StringIO(text))]
    assert times[0] == "2026-01-01T05:00:00Z"
    assert len(times) == 6


def test_an_inverted_range_is_a_422_naming_start(client, viewer, catalog):
    response = client.get(f"/api/v1/series/{'a' * 32}/values?start=2026-02-01&end=2026-01-01", headers=bearer(viewer))
    assert response.status_code == 422
    assert "start" in response.json()["errors"]


def test_an_unknown_series_is_a_404(client, viewer, catalog):
    assert client.get("/api/v1/series/nope/values", headers=bearer(viewer)).status_code == 404


def test_values_need_credentials(client, catalog):
    assert client.get(f"/api/v1/series/{'a' * 32}/values").status_code == 401


def test_the_api_shares_the_data_pages_export_slots_per_user_not_per_token(client, viewer, catalog, settings):
    settings.EXPORTS_PER_USER = 2
    series = catalog["continuous"]
    url = f"/api/v1/series/{series.time_series_id}/values"
    page_export = Client()
    page_export.force_login(viewer)
    held = [page_export.get(f"/monitoring/stations/{series.location.monitoring_location_id}/data.csv?kind=continuous")]
    held.append(client.get(url, headers=bearer(viewer, "first")))
    try:
        assert [r.status_code for r in held] == [200, 200]

        refused = client.get(url, headers=bearer(viewer, "second"))

        assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
        assert "already have 2 downloads streaming" in refused.json()["detail"]
    finally:
        for response in held:
            close_streaming(response)
    _, body = _get(client, url, bearer(viewer, "third"))  # both closed: their slots are free again
    assert body.count("\n") == 8


@pytest.mark.parametrize(
    "query, field",
    [("end=9999-12-31", "end"), ("start=0001-01-01", "start"), ("start=1700-01-01&end=9999-12-31", "start")],
)
def test_a_day_outside_any_gage_record_is_a_422_before_anything_streams(client, viewer, catalog, query, field):
    series = catalog["continuous"]

    response = client.get(f"/api/v1/series/{series.time_series_id}/values?{query}", headers=bearer(viewer))

    assert response.status_code == 422 and not response.streaming
    assert "between the years 1800 and 2200" in response.json()["errors"][field][0]
