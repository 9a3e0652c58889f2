"""A run of thousands of stations: its page shows one page of them, failed first, filtered; the poll reads a tally."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acquisition.models import PullRun, PullRunStation
from stations.models import MonitoringLocation
from tests.factories import PullLogEntryFactory, PullRunFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
STATIONS = 3000


def _big_run(failed_every: int = 500) -> PullRun:
    """3,000 running stations, every 500th failed (6), made in bulk."""
    run = PullRunFactory(status=PullRun.Status.RUNNING, stations_total=STATIONS)
    locations = MonitoringLocation.objects.bulk_create(
        MonitoringLocation(
            site_number=f"{2000000 + i:08d}",
            monitoring_location_id=f"USGS-{2000000 + i:08d}",
            agency_code="USGS",
            name="ANACOSTIA RIVER NR HYATTSVILLE, MD" if i == 1234 else f"BULK CREEK {i} NEAR TOWN, MD",
            state_code="MD",
        )
        for i in range(STATIONS)
    )
    PullRunStation.objects.bulk_create(
        PullRunStation(
            run=run,
            location=location,
            status="failed" if i % failed_every == 7 else "running",
            progress=100 if i % failed_every == 7 else 50,
            error="HTTP 500 from USGS" if i % failed_every == 7 else "",
        )
        for i, location in enumerate(locations)
    )
    return run


def _rows(body: str) -> list[str]:
    return re.findall(r'<tr id="station-([^"]+)"', body)


def _url(run: PullRun, query: str = "") -> str:
    return reverse("monitoring:run_detail", args=[run.pk]) + query


def test_a_run_of_3000_stations_shows_one_page_of_them_with_the_failed_first(viewer_client):
    run = _big_run()
    failed = list(
        run.stations.filter(status="failed").order_by("pk").values_list("location__monitoring_location_id", flat=True)
    )

    response = viewer_client.get(_url(run))
    body = response.content.decode()

    assert response.status_code == 200
    rows = _rows(body)
    assert len(rows) == 50
    assert rows[: len(failed)] == failed
    assert "Stations 1–50 of 3,000" in body
    assert "Failed 6" in body and "Running 2,994" in body and "All 3,000" in body
    # No second list of every station (the log's station filter is a text box).
    assert '<option value="USGS-' not in body
    assert len(response.content) < 200_000
    # The overall bar is the mean of every station's, not of the page's.
    assert 'id="overall-progress" style="width: 50%"' in body


def test_the_next_page_of_stations_is_a_fragment_for_htmx(viewer_client):
    run = _big_run()
    response = viewer_client.get(_url(run, "?sp=2"), HTTP_HX_TARGET="run-stations", **HTMX)
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="run-stations">')
    assert len(_rows(body)) == 50
    assert "Stations 51–100 of 3,000" in body
    assert "Failed" in body  # the filter comes along; the log does not
    assert 'id="run-log"' not in body


def test_the_stations_can_be_filtered_by_status_and_found_by_name(viewer_client):
    run = _big_run()
    failed = viewer_client.get(_url(run, "?stations=failed")).content.decode()
    assert len(_rows(failed)) == 6
    assert failed.count("HTTP 500 from USGS") >= 6
    assert 'aria-current="page">Failed 6</a>' in failed

    found = viewer_client.get(_url(run, "?find=anacostia")).content.decode()
    assert _rows(found) == ["USGS-02001234"]

    nothing = viewer_client.get(_url(run, "?stations=failed&find=anacostia")).content.decode()
    assert _rows(nothing) == []
    assert "No station matches this filter." in nothing


def test_the_poll_of_a_big_run_reads_a_tally_and_redraws_only_rows_on_the_shown_page(viewer_client):
    run = _big_run()
    page = viewer_client.get(_url(run)).content.decode()
    poll = html.unescape(re.search(r'id="run-live"[^>]* hx-get="([^"]+)"', page).group(1))
    assert 'hx-include="#stations-shown"' in page
    on_page = run.stations.get(location__monitoring_location_id=_rows(page)[10])
    off_page = run.stations.order_by("-pk").first()  # a running station far beyond page 1
    for station in (on_page, off_page):
        PullLogEntryFactory(run=run, location=station.location, message="page 2 of 3")
    failing_quietly = run.stations.filter(status="running").order_by("-pk")[5]
    PullRunStation.objects.filter(pk=failing_quietly.pk).update(status="failed", progress=100)

    with CaptureQueriesContext(connection) as queries:
        response = viewer_client.get(poll + "&stations=&find=&sp=1", **HTMX)
    body = response.content.decode()

    assert _rows(body) == [on_page.location.monitoring_location_id]
    assert "Failed 7" in body  # the status counts moved with the tally
    station_reads = [q["sql"] for q in queries.captured_queries if '"monitoring_pullrunstation"' in q["sql"]]
    # Every read of the station table is grouped or limited to a page: none fetches all 3,000 rows.
    assert station_reads
    assert all("GROUP BY" in sql or "LIMIT" in sql for sql in station_reads), station_reads
