"""End to end on PostgreSQL + Redis: a REAL `celery -A streamflow worker` process pulls from the fake USGS server
over HTTP. The tasks are sent from this process exactly as beat and "Run now" send them."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from acquisition.models import DailyValue, Heartbeat, PullLogEntry, PullRun
from acquisition.tasks import run_configuration
from pulls.models import StationProgress
from tests.acquisition_factories import make_configuration, wait_for_run
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation
from tests.worker_fixtures import WorkerProcess

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs, celery_worker
pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

SITES = ["USGS-01646500", "USGS-01638500", "USGS-01643000"]
START = dt.date(2026, 1, 1)


def stored(site: str) -> list[dict]:
    rows = DailyValue.objects.filter(series__location__monitoring_location_id=site).select_related("series")
    return [
        {
            "time_series_id": r.series.time_series_id,
            "time": r.date,
            "value": r.value,
            "qualifiers": r.qualifiers,
            "approval_status": r.approval_status,
            "last_modified": r.last_modified,
        }
        for r in rows.order_by("date")
    ]


def test_a_worker_pulls_appends_revises_and_then_has_nothing_to_do(celery_worker):
    fake = celery_worker.fake
    config = make_configuration(fake, SITES, start_date=START)

    # 1. First run: exactly what USGS has, for every station.
    run_configuration.delay(config.pk)
    first = wait_for_run(config)
    assert first.status == PullRun.Status.SUCCEEDED, first.message
    for site in SITES:
        assert stored(site) == fake.expected_daily(site, START, fake.today)
    assert first.values_inserted == sum(len(stored(s)) for s in SITES)
    assert first.requests_made == len(fake.requests)

    # 2. Five days later: each station asks from its last stored date and adds exactly the new days.
    old_today = fake.today
    before = {site: stored(site) for site in SITES}
    fake.today = old_today + dt.timedelta(days=5)
    fake.clear_requests()
    run_configuration.delay(config.pk)
    second = wait_for_run(config, after=first.pk)
    assert second.status == PullRun.Status.SUCCEEDED, second.message
    assert second.values_inserted == 3 * 5
    for site in SITES:
        series_id = fake.primary_series_id(site)
        windows = [
            r.params["time"]
            for r in fake.requests
            if r.path.endswith("/daily/items")
            and series_id in r.params.get("time_series_id", "").split(",")
            and "time" in r.params
            and "last_modified" not in r.params  # the revision pass asks the whole range, from the start date
        ]
        assert windows == [f"{old_today.isoformat()}/{second.created_at.date().isoformat()}"]  # to the run's date
        assert stored(site)[len(before[site]) :] == fake.expected_daily(
            site, old_today + dt.timedelta(days=1), fake.today
        )
        assert StationProgress.objects.get(configuration=config, location__monitoring_location_id=site).newest_date == (
            fake.today
        )

    # 3. A provisional value is revised upstream: the revision pass updates it.
    day = dt.date(2026, 9, 15)
    fake.revise(SITES[2], day, 777.0, last_modified=timezone.now())
    run_configuration.delay(config.pk)
    third = wait_for_run(config, after=second.pk)
    assert third.status == PullRun.Status.SUCCEEDED, third.message
    assert (third.values_inserted, third.values_updated) == (0, 1)
    assert DailyValue.objects.get(series__location__monitoring_location_id=SITES[2], date=day).value == 777.0

    # 4. Nothing new: nothing inserted, nothing updated.
    run_configuration.delay(config.pk)
    fourth = wait_for_run(config, after=third.pk)
    assert fourth.status == PullRun.Status.SUCCEEDED, fourth.message
    assert (fourth.values_inserted, fourth.values_updated) == (0, 0)
    assert fourth.values_unchanged >= 3
    assert PullLogEntry.objects.filter(run=fourth, message__startswith="Run finished: succeeded").exists()


@pytest.fixture
def worker_one_station_a_batch(transactional_db, fake_usgs):
    """A worker whose batches hold one station each: a failing request then fails one station only."""
    worker = WorkerProcess(fake_usgs.base_url, extra_env={"ACQUISITION_BATCH_SERIES": "1"})
    worker.fake = fake_usgs
    worker.start()
    yield worker
    worker.stop()


def test_a_worker_run_with_faults_ends_partial_and_leaves_the_failing_station_alone(worker_one_station_a_batch):
    fake = worker_one_station_a_batch.fake
    config = make_configuration(fake, SITES, start_date=START)
    run_configuration.delay(config.pk)
    first = wait_for_run(config)
    assert first.status == PullRun.Status.SUCCEEDED, first.message
    failing = SITES[0]
    progress = StationProgress.objects.get(configuration=config, location__monitoring_location_id=failing)
    before = stored(failing)

    fake.today += dt.timedelta(days=3)
    fake.faults.retry_after = 1
    fake.faults.rate_limit_next = 2
    fake.faults.error_next = 2
    fake.faults.fail_sites = {failing}
    run_configuration.delay(config.pk)
    run = wait_for_run(config, after=first.pk)

    assert run.status == PullRun.Status.PARTIAL
    assert (run.stations_succeeded, run.stations_failed) == (2, 1)
    assert stored(failing) == before
    after = StationProgress.objects.get(pk=progress.pk)
    assert (after.newest_date, after.last_success_at) == (progress.newest_date, progress.last_success_at)
    assert after.consecutive_failures == 1 and "/daily/items" in after.last_error
    for site in SITES[1:]:
        assert stored(site)[-1]["time"] == fake.today
    assert PullLogEntry.objects.filter(run=run, message__contains="retrying").exists()


def test_two_triggers_at_once_give_one_run_and_one_skip(celery_worker):
    fake = celery_worker.fake
    config = make_configuration(fake, SITES, start_date=START)
    fake.faults.slow_seconds = 0.3  # keep the first run busy while the second trigger arrives

    barrier = threading.Barrier(2)

    def trigger() -> None:
        barrier.wait()
        run_configuration.delay(config.pk)

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run = wait_for_run(config)
    connection.close()

    assert run.status == PullRun.Status.SUCCEEDED
    statuses = sorted(PullRun.objects.filter(configuration=config).values_list("status", flat=True))
    assert statuses == [PullRun.Status.SKIPPED, PullRun.Status.SUCCEEDED]
    for site in SITES:
        assert stored(site) == fake.expected_daily(site, START, fake.today)


@pytest.fixture
def network_worker(transactional_db, settings):
    """A real worker against a fake USGS serving 250 gages (a state network)."""
    stations = [
        FakeStation(f"USGS-{41000000 + i:08d}", f"NETWORK CREEK {i} NR TOWN PA", daily_begin=dt.date(2026, 8, 1))
        for i in range(250)
    ]
    fake = FakeUSGS(stations=stations)
    settings.USGS_API_URL = fake.start()
    worker = WorkerProcess(fake.base_url)
    worker.fake = fake
    worker.start()
    yield worker
    worker.stop()
    fake.stop()


def test_a_worker_keeps_250_stations_exact_in_a_handful_of_requests(network_worker):
    fake = network_worker.fake
    sites = [s.monitoring_location_id for s in fake.stations]
    start = dt.date(2026, 9, 1)
    config = make_configuration(fake, sites, start_date=start)

    run_configuration.delay(config.pk)
    first = wait_for_run(config, timeout=120)
    assert first.status == PullRun.Status.SUCCEEDED, first.message
    # One batch of 250: one series lookup, one window with the 250 series ids POSTed as CQL2.
    assert first.requests_made == len(fake.requests) == 2
    assert [r.method for r in fake.requests] == ["GET", "POST"]

    fake.today += dt.timedelta(days=1)
    fake.clear_requests()
    run_configuration.delay(config.pk)
    second = wait_for_run(config, after=first.pk, timeout=120)

    assert second.status == PullRun.Status.SUCCEEDED, second.message
    assert len(fake.requests) == 2  # the window and the revision pass
    assert second.requests_made == len(fake.requests)
    assert second.values_inserted == 250
    for site in sites:
        assert stored(site) == fake.expected_daily(site, start, fake.today), site


def test_a_real_workers_heartbeat_reaches_the_database_through_the_kernels_hook(celery_worker):
    """The worker's heartbeat step (streamflow.celery) sends streamflow.signals.process_alive; monitoring, which
    connects the receiver in its AppConfig.ready, stores it for /health/ (the kernel imports no app)."""
    prefix = "worker:" + celery_worker.hostname.split("@")[0] + "@"  # celery expands the %h after the @
    deadline = time.monotonic() + 20
    while not Heartbeat.objects.filter(name__startswith=prefix).exists():
        assert time.monotonic() < deadline, f"no heartbeat {prefix}… in 20 s:\n{celery_worker.output()}"
        time.sleep(0.5)
