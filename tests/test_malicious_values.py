"""Malicious values from a hostile upstream (issue 12, item 4): "Infinity", "NaN", "1e309", "-inf" and their kin.

A non-finite value is not a measurement: the parser stores it as missing (None) and says so in the log, naming the
series and the time. Whatever the database holds anyway (a row written before this rule, or by hand), the data page,
its chart and its CSV still work.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import re

import orjson
import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from acquisition.models import ContinuousValue, DailyValue
from acquisition.usgs.parsers import (
    normalize_monitoring_location,
    parse_continuous_page,
    parse_daily_page,
    parse_readings_text,
)
from monitoring import charts
from stations.models import MonitoringLocation, TimeSeries
from tests.factories import MonitoringLocationFactory, TimeSeriesFactory

NON_FINITE_TEXTS = ["Infinity", "-Infinity", "NaN", "nan", "inf", "-inf", "1e309", "-1e309", "+Infinity", " NaN "]
SERIES = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"


def _feature(time: str, value) -> dict:
    return {
        "type": "Feature",
        "properties": {
            "time_series_id": SERIES,
            "time": time,
            "value": value,
            "qualifier": None,
            "approval_status": "Provisional",
            "last_modified": "2026-01-01T00:00:00+00:00",
        },
    }


def _page(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


# --- The parser: non-finite in, missing out, a warning in the log ---------------------------------------------


@pytest.mark.parametrize("text", NON_FINITE_TEXTS)
def test_a_non_finite_daily_value_is_stored_as_missing_with_a_warning(text, caplog):
    caplog.set_level(logging.WARNING, logger="acquisition.usgs.parsers")
    readings = parse_daily_page(_page(_feature("2026-03-01", "12.5"), _feature("2026-03-02", text)))
    assert [r.value for r in readings] == [12.5, None]
    assert readings[1].value_text is None
    assert readings[1].time == dt.date(2026, 3, 2)  # the row is kept (its time is known), only its value is not
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert SERIES in warning and "2026-03-02" in warning


@pytest.mark.parametrize("text", NON_FINITE_TEXTS)
def test_a_non_finite_continuous_value_in_a_raw_body_is_stored_as_missing(text, caplog):
    caplog.set_level(logging.WARNING, logger="acquisition.usgs.parsers")
    body = orjson.dumps(_page(_feature("2026-03-01T00:15:00+00:00", text), _feature("2026-03-01T00:20:00+00:00", "3")))
    readings = parse_readings_text(body, "continuous")
    assert [r.value for r in readings] == [None, 3.0]
    assert all(r.value is None or math.isfinite(r.value) for r in readings)
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert SERIES in warning and "2026-03-01T00:15:00+00:00" in warning


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_a_non_finite_number_in_an_already_decoded_page_is_missing_too(number):
    (reading,) = parse_continuous_page(_page(_feature("2026-03-01T00:15:00+00:00", number)))
    assert reading.value is None


def test_one_warning_per_page_however_many_values_are_bad(caplog):
    caplog.set_level(logging.WARNING, logger="acquisition.usgs.parsers")
    features = [_feature(f"2026-03-{day:02d}", "Infinity") for day in range(1, 29)]
    readings = parse_daily_page(_page(*features))
    assert [r.value for r in readings] == [None] * 28
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "28" in warnings[0].getMessage()


def test_the_largest_finite_number_is_a_number():
    (reading,) = parse_daily_page(_page(_feature("2026-03-01", "1.79e308")))
    assert reading.value == 1.79e308


def test_a_json_number_beyond_double_range_refuses_the_page_instead_of_storing_infinity():
    # orjson will not decode 1e309 as a number: the body is not JSON it can read, so nothing of it is stored.
    body = (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"time":"2026-03-01","value":1e309}}]}'
    )
    with pytest.raises(ValueError):
        parse_readings_text(body, "daily")


@settings(max_examples=60, deadline=None)
@given(value=st.one_of(st.floats(), st.sampled_from(NON_FINITE_TEXTS), st.floats().map(repr)))
def test_any_value_parses_to_a_finite_number_or_missing(value):
    (reading,) = parse_daily_page(_page(_feature("2026-03-01", value)))
    assert reading.value is None or math.isfinite(reading.value)


@pytest.mark.parametrize("text", ["Infinity", "NaN", "-inf", "1e309"])
def test_a_monitoring_location_with_non_finite_coordinates_or_area_gets_none(text):
    location = normalize_monitoring_location(
        {
            "id": "USGS-01646500",
            "properties": {"monitoring_location_name": "POTOMAC", "drainage_area": text},
            "geometry": {"type": "Point", "coordinates": [text, text]},
        }
    )
    assert (location["latitude"], location["longitude"], location["drainage_area_sqmi"]) == (None, None, None)


# --- The chart: robust to any stored value ----------------------------------------------------------------------

DAY = 86400.0


def _assert_drawable(svg: str) -> None:
    numbers = re.findall(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|height|width)="([^"%]*)"', svg)
    numbers += [c for p in re.findall(r' points="([^"]*)"', svg) for xy in p.split() for c in xy.split(",")]
    assert numbers
    for number in numbers:
        assert math.isfinite(float(number)), number


@pytest.mark.parametrize(
    "bad",
    [math.inf, -math.inf, math.nan, 1.79e308, -1.79e308, 5e-324],
    ids=["inf", "-inf", "nan", "max", "-max", "denormal"],
)
def test_the_hydrograph_draws_around_any_stored_value(bad):
    rows = [(i * DAY, 100.0 + i, False) for i in range(10)]
    rows[4] = (4 * DAY, bad, False)
    chart = charts.hydrograph(rows, charts.HydrographSpec(start=0, end=9 * DAY, daily=True, unit="ft^3/s"))
    _assert_drawable(chart.svg)
    assert "nan" not in chart.svg.lower() and "inf" not in chart.svg.lower()


def test_a_range_too_narrow_for_its_magnitude_still_ends_its_axis():
    # 1e16 and the next double but one (1e16 + 2): a tick step (0.5) below the spacing of floats looped forever.
    rows = [(0.0, 1e16, False), (DAY, 1e16 + 2, False)]
    chart = charts.hydrograph(rows, charts.HydrographSpec(start=0, end=DAY, daily=True, unit="ft^3/s"))
    _assert_drawable(chart.svg)


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.floats()), min_size=1, max_size=12))
def test_the_hydrograph_never_fails_on_any_floats(values):
    rows = [(i * DAY, v, i % 3 == 0) for i, v in enumerate(values)]
    spec = charts.HydrographSpec(start=0, end=max(len(values) - 1, 1) * DAY, daily=True, unit="ft^3/s")
    chart = charts.hydrograph(rows, spec)
    _assert_drawable(chart.svg)


# --- The data page and CSV over non-finite rows written straight to the database ---------------------------------


def _stored_series(kind: str):
    location = MonitoringLocationFactory(tz_abbreviation="", uses_dst=None)
    return TimeSeriesFactory(kind=kind, location=location)


def _daily_with_bad_rows(bad_values):
    series = _stored_series(TimeSeries.Kind.DAILY)
    start = dt.date(2026, 1, 1)
    values = [10.0 + i for i in range(30)]
    for i, bad in enumerate(bad_values):
        values[5 + 3 * i] = bad
    DailyValue.objects.bulk_create(
        DailyValue(series=series, date=start + dt.timedelta(days=i), value=v, approval_status="Approved")
        for i, v in enumerate(values)
    )
    return series


def _csv_rows(client, series, **params) -> list[dict]:
    url = reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])
    response = client.get(url, params)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_stored_infinite_and_nan_values_do_not_break_the_data_page(htmx, viewer_client):
    series = _daily_with_bad_rows([math.inf, -math.inf, math.nan, 1.79e308, -1.79e308])
    url = reverse("monitoring:station_data", args=[series.location.monitoring_location_id])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = viewer_client.get(url, {"start": "2026-01-01", "end": "2026-01-30"}, **headers)
    assert response.status_code == 200
    assert ("<html" in response.content.decode()) is not htmx
    _assert_drawable(response.context["chart"].svg)


@pytest.mark.django_db
def test_stored_non_finite_values_leave_a_long_bucketed_chart_drawable(viewer_client):
    series = _stored_series(TimeSeries.Kind.CONTINUOUS)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        ContinuousValue(series=series, time=start + dt.timedelta(minutes=5 * i), value=100.0 + i % 50)
        for i in range(6000)
    ]
    for i, bad in zip((10, 2000, 4000, 5000), (math.inf, -math.inf, math.nan, 1.79e308), strict=True):
        rows[i].value = bad
    ContinuousValue.objects.bulk_create(rows, batch_size=2000)
    url = reverse("monitoring:station_data", args=[series.location.monitoring_location_id])
    response = viewer_client.get(url, {"kind": "continuous", "start": "2026-01-01", "end": "2026-01-21"})
    assert response.status_code == 200
    chart = response.context["chart"]
    assert chart.values == 6000
    _assert_drawable(chart.svg)


@pytest.mark.django_db
def test_stored_non_finite_values_export_as_empty_cells_not_inf_or_nan(viewer_client):
    series = _daily_with_bad_rows([math.inf, -math.inf, math.nan])
    rows = _csv_rows(viewer_client, series)
    assert len(rows) == 30
    assert [r["value"] for r in rows[5:12:3]] == ["", "", ""]
    assert rows[0]["value"] == "10"  # written as PostgreSQL writes a float8
    assert not any(r["value"].lower() in ("inf", "-inf", "nan") for r in rows)


@pytest.mark.django_db
def test_a_station_page_with_non_finite_coordinates_in_the_database_still_renders(viewer_client):
    location = MonitoringLocationFactory(drainage_area_sqmi=math.inf, latitude=math.inf, longitude=-math.inf)
    MonitoringLocation.objects.filter(pk=location.pk).update(drainage_area_sqmi=math.inf)
    response = viewer_client.get(location.get_absolute_url())
    assert response.status_code == 200


@pytest.mark.django_db
def test_stored_infinite_nan_and_huge_values_do_not_break_the_quality_page(viewer_client):
    # 1.79e308 × 3 overflows, and PostgreSQL raises on a float overflow: the spike rule must not multiply it.
    series = _daily_with_bad_rows([math.inf, -math.inf, math.nan, 1.79e308, -1.79e308, 1.79e308])
    url = reverse("monitoring:station_quality", args=[series.location.monitoring_location_id])
    response = viewer_client.get(url)
    assert response.status_code == 200
    # What reads back as a value (SQLite stores NaN as NULL, PostgreSQL keeps it) is what the page counts.
    stored = DailyValue.objects.filter(series=series, value__isnull=False).count()
    assert response.context["quality"].present == stored >= 29
