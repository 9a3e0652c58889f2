"""In a real browser, against a REAL Celery worker pulling from the (slowed) fake USGS server over HTTP: the run
page's log and progress grow without a reload, and polling stops once the run ends."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from acquisition.models import PullRun
from tests.acquisition_factories import make_configuration
from tests.worker_fixtures import WorkerProcess

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs, celery_worker
pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

LINES = "#log-lines .log-line"


@pytest.fixture
def slow_worker(transactional_db, fake_usgs, settings):
    """A real worker pulling one station a batch: five stations make five batches, so the run lasts several polls
    (with batches of 200 the whole run would be two slowed requests)."""
    settings.ACQUISITION_BATCH_SERIES = 1  # "Run now" plans the run here, in the web process
    worker = WorkerProcess(fake_usgs.base_url, extra_env={"ACQUISITION_BATCH_SERIES": "1"})
    worker.fake = fake_usgs
    worker.start()
    yield worker
    worker.stop()


def _poll_count(requests: list[str]) -> int:
    return sum("after=" in url for url in requests)


def test_a_running_pull_grows_live_on_its_page_and_polling_stops_at_the_end(slow_worker, operator_page):
    fake = slow_worker.fake
    sites = [s.monitoring_location_id for s in fake.stations if s.daily_begin is not None][:5]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 1, 1), name="Five gages, slowed")
    fake.faults.slow_seconds = 1.5  # each USGS answer takes 1.5 s: the run lasts several polls

    page = operator_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(config.get_absolute_url())
    page.click("#run-now")
    page.wait_for_url("**/monitoring/runs/*/")
    page_url = page.url
    run = PullRun.objects.get(configuration=config)

    # While it runs: the log grows, several times, without the page reloading.
    seen_counts = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        seen_counts.append(page.locator(LINES).count())
        run.refresh_from_db()
        if not run.is_active:
            break
        page.wait_for_timeout(500)
    assert run.status == PullRun.Status.SUCCEEDED, run.message
    assert len(set(seen_counts)) >= 3, f"the log did not grow live: {seen_counts}"
    assert page.url == page_url

    # The end: the page says so, every station is complete, and the polling stops by itself.
    page.wait_for_function("() => document.getElementById('run-status').textContent.trim() === 'Succeeded'")
    page.wait_for_function("() => document.getElementById('overall-progress').style.width === '100%'")
    assert page.locator(LINES).count() >= run.log_entries.count() - 1
    polls_at_end = _poll_count(requests)
    page.wait_for_timeout(5_000)
    assert _poll_count(requests) == polls_at_end, "the page kept polling after the run ended"
    assert polls_at_end >= 3
    assert page.url == page_url
