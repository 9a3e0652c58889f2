"""The run page's poll is small: new lines, and only the station rows, counters and header that moved."""

from __future__ import annotations

import html
import re

import pytest
from django.db.models import F
from django.urls import reverse

from acquisition.models import PullLogEntry, PullRun, PullRunStation
from tests.factories import PullLogEntryFactory
from tests.monitoring_factories import add_log_lines, running_run

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _poll_url(body: str) -> str:
    """The URL the page's poller asks next, as htmx would read it from the run-live element."""
    return html.unescape(re.search(r'id="run-live"[^>]* hx-get="([^"]+)"', body).group(1))


def _rows(body: str) -> list[str]:
    return re.findall(r'<tr id="station-([^"]+)"', body)


def _page_poll_url(client, run, query: str = "") -> str:
    page = client.get(reverse("monitoring:run_detail", args=[run.pk]) + query)
    assert page.status_code == 200 and "<html" in page.content.decode()
    return _poll_url(page.content.decode())


def _log_page(station: PullRunStation, message: str = "page 2 of 3") -> None:
    """What the acquisition code does on a page: move the station's counters, then log a line naming it."""
    PullRunStation.objects.filter(pk=station.pk).update(pages_fetched=F("pages_fetched") + 1, values_received=777)
    PullLogEntryFactory(run=station.run, location=station.location, message=message)


@pytest.fixture
def run():
    run = running_run(stations=40)
    add_log_lines(run, 30)
    return run


def test_a_poll_with_nothing_new_is_only_the_poller(viewer_client, run):
    url = _page_poll_url(viewer_client, run)
    response = viewer_client.get(url, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert len(response.content) < 1024
    assert _rows(body) == []
    assert 'id="run-header"' not in body and 'id="overall-progress"' not in body and "log-line" not in body
    # Polling goes on from the same cursor.
    assert _poll_url(body) == url


def test_a_poll_after_one_station_logged_a_page_redraws_only_that_station(viewer_client, run):
    url = _page_poll_url(viewer_client, run)
    moved, other = run.stations.select_related("location").order_by("pk")[:2]
    _log_page(moved, "USGS page 2 of 3")

    response = viewer_client.get(url, **HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert _rows(body) == [moved.location.monitoring_location_id]
    assert other.location.monitoring_location_id not in _rows(body)
    row = re.search(r'<tr id="station-[^"]+" hx-swap-oob="true">.*?</tr>', body, re.S).group(0)
    assert ">777<" in row and f">{moved.pages_fetched + 1}<" in row
    assert "USGS page 2 of 3" in body and 'hx-swap-oob="beforeend:#log-lines"' in body
    # Neither the overall progress nor the counters moved: not redrawn.
    assert 'id="run-overall"' not in body and 'id="run-header"' not in body
    new_id = PullLogEntry.objects.filter(run=run).order_by("-pk").first().pk
    assert f"after={new_id}&" in _poll_url(body)


def test_a_finished_window_redraws_the_overall_progress_and_counters(viewer_client, run):
    url = _page_poll_url(viewer_client, run)
    station = run.stations.select_related("location").first()
    PullRunStation.objects.filter(pk=station.pk).update(windows_done=4, status="succeeded")
    PullRun.objects.filter(pk=run.pk).update(stations_succeeded=1, values_inserted=1234)
    PullLogEntryFactory(run=run, location=station.location, message="1234 values received")

    body = viewer_client.get(url, **HTMX).content.decode()

    assert _rows(body) == [station.location.monitoring_location_id]
    assert 'id="run-overall"' in body and 'hx-swap-oob="true"' in body
    # 39 stations at 25 % and one at 100 %.
    assert 'id="overall-progress" style="width: 26%"' in body
    assert "1 succeeded, 0 failed of 40" in body and "1,234 inserted" in body
    assert 'id="run-header"' not in body
    # The next poll redraws the row once more (a window count may land just after its line), then it is quiet.
    PullRunStation.objects.filter(pk=station.pk).update(values_received=4321)
    again = viewer_client.get(_poll_url(body), **HTMX).content.decode()
    assert _rows(again) == [station.location.monitoring_location_id] and ">4,321<" in again
    assert "log-line" not in again and 'id="run-overall"' not in again
    quiet = viewer_client.get(_poll_url(again), **HTMX)
    assert _rows(quiet.content.decode()) == [] and len(quiet.content) < 1024


def test_counters_that_move_without_a_line_are_redrawn(viewer_client, run):
    url = _page_poll_url(viewer_client, run)
    PullRun.objects.filter(pk=run.pk).update(stations_failed=1, requests_made=99)
    body = viewer_client.get(url, **HTMX).content.decode()
    assert "0 succeeded, 1 failed of 40" in body and "99 requests" in body
    assert _rows(body) == []


def test_a_filtered_log_still_moves_the_progress_of_stations_whose_lines_it_hides(viewer_client, run):
    url = _page_poll_url(viewer_client, run, "?level=40")
    station = run.stations.select_related("location").first()
    _log_page(station, "an info line the filter hides")

    body = viewer_client.get(url, **HTMX).content.decode()

    assert "an info line the filter hides" not in body
    assert _rows(body) == [station.location.monitoring_location_id]
    # The cursor moves past the hidden line, so the next poll does not scan it again.
    last = PullLogEntry.objects.filter(run=run).order_by("-pk").first().pk
    next_url = _poll_url(body)
    assert f"after={last}&level=40&" in next_url
    again = viewer_client.get(next_url, **HTMX).content.decode()
    assert _rows(again) == [station.location.monitoring_location_id]
    assert _rows(viewer_client.get(_poll_url(again), **HTMX).content.decode()) == []


def test_the_final_poll_redraws_everything_and_stops(viewer_client, run):
    url = _page_poll_url(viewer_client, run)
    PullRunStation.objects.filter(run=run).update(status="succeeded", windows_done=4)
    PullLogEntryFactory(run=run, message="Run finished: succeeded.")
    PullRun.objects.filter(pk=run.pk).update(status=PullRun.Status.SUCCEEDED, stations_succeeded=40)

    response = viewer_client.get(url, **HTMX)
    body = response.content.decode()

    assert response.status_code == 286
    assert "hx-trigger" not in body
    assert len(_rows(body)) == 40
    assert body.count("station-progress bg-success") == 40
    assert 'id="overall-progress" style="width: 100%"' in body
    assert 'id="run-status">Succeeded<' in body and "40 succeeded, 0 failed of 40" in body
    assert "Run finished: succeeded." in body


def test_a_status_change_of_an_active_run_redraws_the_header(viewer_client):
    run = running_run(stations=2)
    PullRun.objects.filter(pk=run.pk).update(status=PullRun.Status.QUEUED)
    url = _page_poll_url(viewer_client, run)
    assert "state=queued" in url
    PullRun.objects.filter(pk=run.pk).update(status=PullRun.Status.RUNNING)
    body = viewer_client.get(url, **HTMX).content.decode()
    assert 'id="run-header" hx-swap-oob="true"' in body and 'id="run-status">Running<' in body
    assert "state=running" in _poll_url(body)


def test_changing_the_log_filter_also_brings_header_and_progress_up_to_date(viewer_client, run):
    response = viewer_client.get(reverse("monitoring:run_detail", args=[run.pk]) + "?level=30", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="run-log"' in body
    assert 'id="run-header" hx-swap-oob="true"' in body and 'id="run-progress" class="mb-3" hx-swap-oob="true"' in body
    assert len(_rows(body)) == 40


def test_the_poll_costs_the_same_queries_for_40_stations_as_for_one(viewer_client, run, django_assert_max_num_queries):
    url = _page_poll_url(viewer_client, run)
    for station in run.stations.select_related("location"):
        _log_page(station)
    # Session, user, run, new lines, moved rows (one query with their locations), overall progress, permissions,
    # the run's batches and the USGS quota (one query each, whatever the number of stations).
    with django_assert_max_num_queries(10):
        body = viewer_client.get(url, **HTMX).content.decode()
    assert len(_rows(body)) == 40
