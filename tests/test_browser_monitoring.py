"""In a real browser: the run page's log and progress grow without a reload, and polling stops when the run ends.

The run is simulated: the test thread writes log lines and station progress while the page polls, as the workers
would, then finishes the run.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from acquisition.models import PullLogEntry, PullRun, PullRunStation
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, PullRunStationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINES = "#log-lines .log-line"


def _wait_for_lines(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#log-lines .log-line').length >= n", arg=count, timeout=10_000
    )


def _overall(page) -> int:
    return int(re.search(r"width:\s*(\d+)%", page.locator("#overall-progress").get_attribute("style")).group(1))


def test_the_run_page_grows_live_and_stops_polling_when_the_run_ends(viewer_page):
    page = viewer_page
    config = PullConfigurationFactory(name="Five Maryland gages")
    run = PullRunFactory(
        configuration=config, status=PullRun.Status.RUNNING, stations_total=5, started_at=timezone.now()
    )
    stations = [
        PullRunStationFactory(run=run, location=MonitoringLocationFactory(), status="running", windows_total=4)
        for _ in range(5)
    ]
    PullLogEntry.objects.create(run=run, message="Run started: 5 stations")

    polls = []
    page.on("request", lambda request: polls.append(request.url) if "after=" in request.url else None)
    page.goto(f"/monitoring/runs/{run.pk}/")
    assert page.locator(LINES).count() == 1
    assert _overall(page) == 0

    # The "workers" advance every station one window at a time, logging as they go.
    expected = 1
    for window in range(1, 4):
        for station in stations:
            name = station.location.monitoring_location_id
            PullLogEntry.objects.create(run=run, location=station.location, message=f"{name}: window {window}")
            PullRunStation.objects.filter(pk=station.pk).update(windows_done=window, progress=25 * window)
        PullRun.objects.filter(pk=run.pk).update(requests_made=10 * window)
        expected += 5
        _wait_for_lines(page, expected)
        # The run's counters are redrawn out of band when they move.
        page.wait_for_function(
            "t => document.getElementById('run-values').textContent.includes(t)", arg=f"{10 * window} requests"
        )
        page.wait_for_function(
            "p => parseInt(document.getElementById('overall-progress').style.width) >= p", arg=25 * window
        )
        # Each station's row is redrawn on its own (an out-of-band table row), with its new window count.
        for station in stations:
            cell = f"#station-{station.location.monitoring_location_id} td.num"
            page.wait_for_function(
                "([s, t]) => document.querySelector(s).textContent.trim() === t", arg=[cell, f"{window} / 4"]
            )
        # No line arrives twice: the poll asks only after the last id the page has.
        assert page.locator(LINES).count() == expected
    assert page.locator(LINES).last.inner_text().endswith("window 3")
    page_url = page.url

    # The run ends.
    PullRunStation.objects.filter(run=run).update(status=PullRunStation.Status.SUCCEEDED, windows_done=4)
    PullLogEntry.objects.create(run=run, message="Run finished: succeeded.")
    PullRun.objects.filter(pk=run.pk).update(
        status=PullRun.Status.SUCCEEDED, finished_at=timezone.now(), stations_succeeded=5
    )
    page.wait_for_function("() => document.getElementById('run-status').textContent.trim() === 'Succeeded'")
    assert page.locator(LINES).count() == expected + 1
    # htmx settles attributes of same-id elements a moment after the swap (for CSS transitions): wait for it.
    page.wait_for_function("() => document.getElementById('overall-progress').style.width === '100%'")
    assert page.locator("#run-live").get_attribute("hx-trigger") is None
    assert page.locator("#run-progress .badge", has_text="Succeeded").count() == 5
    assert page.locator("#run-stations-total").inner_text() == "5 succeeded, 0 failed of 5"

    polls_at_end = len(polls)
    page.wait_for_timeout(5_000)  # two and a half poll intervals
    assert len(polls) == polls_at_end, "the page kept polling after the run ended"
    # Once settled, the final state stays: complete, every line once.
    assert _overall(page) == 100
    assert page.locator(LINES).count() == expected + 1
    assert page.url == page_url  # never reloaded
    assert polls_at_end >= 3


STRUCTURE = """() => [...document.querySelectorAll('main *')]
    .map(e => e.tagName + (e.id ? '#' + e.id : '') + (e.tagName === 'DT' ? ':' + e.textContent.trim() : ''))"""


def test_after_a_live_run_the_page_has_the_structure_of_a_reload(viewer_page):
    page = viewer_page
    run = PullRunFactory(
        configuration=PullConfigurationFactory(), status=PullRun.Status.RUNNING, stations_total=2,
        started_at=timezone.now(),
    )  # fmt: skip
    stations = [
        PullRunStationFactory(run=run, location=MonitoringLocationFactory(), status="running", windows_total=3)
        for _ in range(2)
    ]
    page.goto(f"/monitoring/runs/{run.pk}/")

    # Several polls that bring new counts (each redraws the run's counters out of band).
    for window in range(1, 4):
        PullLogEntry.objects.create(run=run, message=f"window {window}")
        PullRunStation.objects.filter(run=run).update(windows_done=window, progress=33 * window)
        PullRun.objects.filter(pk=run.pk).update(requests_made=window, values_inserted=100 * window)
        page.wait_for_function(
            "t => document.getElementById('run-values').textContent.includes(t)", arg=f"{window} request"
        )
    PullRunStation.objects.filter(run=run).update(status=PullRunStation.Status.SUCCEEDED, windows_done=3)
    PullRun.objects.filter(pk=run.pk).update(
        status=PullRun.Status.SUCCEEDED, finished_at=timezone.now(), stations_succeeded=2
    )
    page.wait_for_function("() => document.getElementById('run-status').textContent.trim() === 'Succeeded'")
    page.wait_for_timeout(500)  # htmx settles swapped attributes a moment later
    live = page.evaluate(STRUCTURE)

    page.reload()
    reloaded = page.evaluate(STRUCTURE)

    assert [item for item in live if item.startswith("DT")].count("DT:Values") == 1
    assert live == reloaded
    assert len(stations) == page.locator("#run-progress tbody tr").count()
