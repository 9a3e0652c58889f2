"""The configuration's revision list: its stations only, filters, the htmx fragment, the CSV (formula cells
neutralised) and bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from acquisition.storage import store_readings
from acquisition.usgs.parsers import Reading
from monitoring.csv_safe import csv_cell
from pulls.models import PullConfigurationStation
from stations.models import TimeSeries
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, TimeSeriesFactory

pytestmark = pytest.mark.django_db
LM = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def reading(day: int, value: float, status: str = "Provisional", quals=()) -> Reading:
    return Reading("ts", dt.date(2026, 10, day), value, list(quals), status, LM)


@pytest.fixture
def revised():
    """A configuration with two stations; one value revised and one approved in the first, one in an outsider."""
    config = PullConfigurationFactory()
    run = PullRunFactory(configuration=config)
    series = []
    for name in ("=HYPERLINK(1)", "PLAIN CREEK", "OUTSIDER"):
        location = MonitoringLocationFactory(name=name)
        if name != "OUTSIDER":
            PullConfigurationStation.objects.create(configuration=config, location=location)
        s = TimeSeriesFactory(location=location, kind=TimeSeries.Kind.DAILY)
        store_readings("daily", s.pk, [reading(1, 1.0), reading(2, 2.0)])
        series.append(s)
    store_readings(
        "daily", series[0].pk, [reading(1, -5.0, quals=["@SUM"]), reading(2, 2.0, "Approved")], run_id=run.pk
    )
    store_readings("daily", series[1].pk, [reading(1, 1.5), reading(2, 2.0)], run_id=run.pk)
    store_readings("daily", series[2].pk, [reading(1, 9.0), reading(2, 2.0)], run_id=run.pk)
    return config, run, series


def test_it_lists_the_revisions_of_the_configurations_stations_only(viewer_client, revised):
    config, run, series = revised

    response = viewer_client.get(f"/monitoring/configurations/{config.pk}/revisions/")

    assert response.status_code == 200
    rows = response.context["revisions"]
    assert sorted((r.series_id, r.change) for r in rows) == sorted(
        [(series[0].pk, "value"), (series[0].pk, "approval"), (series[1].pk, "value")]
    )
    assert b"<html" in response.content and b"Download as CSV" in response.content


def test_it_filters_by_station_and_kind_and_answers_htmx_with_the_table(viewer_client, revised):
    config, run, series = revised
    station = series[0].location.monitoring_location_id

    response = viewer_client.get(
        f"/monitoring/configurations/{config.pk}/revisions/",
        {"station": station, "kind": "approval"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert [(r.series_id, r.change, r.new_approval) for r in response.context["revisions"]] == [
        (series[0].pk, "approval", "Approved")
    ]
    assert b"<html" not in response.content and b'id="revision-table"' in response.content


def test_the_csv_has_every_revision_with_formula_cells_neutralised(viewer_client, revised):
    config, run, series = revised

    response = viewer_client.get(f"/monitoring/configurations/{config.pk}/revisions.csv", {"kind": "value"})

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    first = next(r for r in rows if r["monitoring_location_id"] == series[0].location.monitoring_location_id)
    assert (first["old_value"], first["new_value"], first["new_qualifiers"]) == ("1.0", "-5.0", "'@SUM")
    assert first["run"] == str(run.pk) and first["time"] == "2026-10-01"


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("ok", "ok"), (-3.5, "-3.5"), (None, "")],
)  # fmt: skip
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(cell, written):
    assert csv_cell(cell) == written


def test_bad_filters_are_refused(viewer_client, revised):
    config, run, series = revised
    url = f"/monitoring/configurations/{config.pk}/revisions/"

    assert viewer_client.get(url, {"kind": "nonsense"}).status_code == 400
    assert viewer_client.get(url, {"run": "abc"}).status_code == 400
    assert viewer_client.get(url, {"station": "USGS-99999999"}).status_code == 404
    outsider = series[2].location.monitoring_location_id
    assert viewer_client.get(url, {"station": outsider}).status_code == 404
    assert viewer_client.get("/monitoring/configurations/999999/revisions/").status_code == 404


def test_it_needs_a_login(anonymous_client, revised):
    config, _, _ = revised
    response = anonymous_client.get(f"/monitoring/configurations/{config.pk}/revisions/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
