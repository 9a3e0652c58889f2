"""Seven fault scenarios (issue 7), each ending with the exact check of tests/faults/truth.py.

Run with `make faults`. Every scenario: a real Celery worker process (prefork) on PostgreSQL and a private Redis,
the fake USGS server in this process (faults switched on its `faults` object), small pages (harness.PAGE_LIMIT)
so that a station's window takes many requests.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection

from acquisition import janitor
from acquisition.models import PullLogEntry, PullRun
from pulls.models import PullConfiguration
from stations.models import TimeSeries
from tests.faults.harness import (
    PAGE_LIMIT,
    ROOT,
    START,
    BeatProcess,
    data_requests,
    newest_run,
    resumed_lines,
    settle,
    start_worker,
    statuses,
    trigger,
    wait_for,
    wait_run_end,
)
from tests.faults.truth import verify_configuration, verify_stored
from tests.worker_fixtures import fake_usgs, make_configuration  # noqa: F401 - fixture

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

MD = ["USGS-01646500", "USGS-01638500", "USGS-01643000", "USGS-01645000", "USGS-01650500", "USGS-01651000"]


@pytest.fixture
def env(transactional_db, private_redis, fake_usgs):  # noqa: F811
    """The fake (with slow-ish pages, so faults land mid-station) and the workers started, stopped at the end."""
    logging.getLogger("tests.fakeusgs").setLevel(logging.WARNING)  # one line per request drowns the report
    fake_usgs.faults.slow_seconds = 0.05
    started = []

    def worker(**kwargs):
        w = start_worker(fake_usgs, **kwargs)
        started.append(w)
        return w

    yield fake_usgs, worker
    for w in started:
        w.kill()  # no warm shutdown: nothing of one scenario may run into the next
        w.stop()


def _exact(sc, fake, config, *, complete=True):
    verdict = verify_configuration(fake, config, complete=complete)
    sc.found(("final " if complete else "interim ") + "check: " + verdict.summary(), ok=verdict.ok)
    assert verdict.ok, verdict.summary()
    return verdict


def test_1_worker_sigkilled_mid_station(env, scenario):
    fake, worker = env
    w = worker(concurrency=2)
    daily = make_configuration(fake, MD[:3], start_date=START, name="Kill daily")
    cont = make_configuration(
        fake, MD[3:5], start_date=dt.date(2026, 11, 14), data_type=PullConfiguration.DataType.CONTINUOUS,
        name="Kill continuous",
    )  # fmt: skip
    fake.faults.slow_seconds = 0.15
    for config in (daily, cont):
        trigger(config)
    wait_for(lambda: data_requests(fake) >= 6, 60, "six data pages served")
    w.kill()
    scenario.did(f"SIGKILLed the worker and its pool after {data_requests(fake)} data pages (page size {PAGE_LIMIT})")
    for config in (daily, cont):
        _exact(scenario, fake, config, complete=False)
    fake.faults.slow_seconds = 0.05
    worker(concurrency=2, purge=False)
    scenario.did("restarted the worker (queued station tasks kept)")
    for config in (daily, cont):
        run = newest_run(config.pk)
        seen = settle(config, scenario, run_id=run.pk)
        _exact(scenario, fake, config)
        resumed = sum(len(resumed_lines(r.pk)) for r in seen)
        scenario.found(f"{config.name}: {len(seen)} run(s); {resumed} stations resumed by the janitor",
                       ok=seen[0].pk == run.pk and seen[0].status == PullRun.Status.SUCCEEDED)  # fmt: skip
        assert seen[0].pk == run.pk and seen[0].status == PullRun.Status.SUCCEEDED
    scenario.passed("lost stations resumed in the same run (no rerun); no station half-written; exact match")


def test_2_redis_restarted_during_a_run(env, scenario, private_redis):
    fake, worker = env
    worker(concurrency=2)
    config = make_configuration(fake, MD, start_date=START, name="Redis restart")
    fake.faults.slow_seconds = 0.1
    trigger(config)
    run = wait_for(lambda: newest_run(config.pk), 60, "the run")
    wait_for(lambda: data_requests(fake) >= 5, 60, "five data pages served")
    private_redis.restart(down_for=2)
    pages = data_requests(fake)
    scenario.did(f"killed Redis (no persistence: queued tasks lost) after {pages} pages; up again 2 s later")
    fake.faults.slow_seconds = 0.05
    seen = settle(config, scenario, run_id=run.pk)
    _exact(scenario, fake, config)
    ok = seen[0].pk == run.pk and seen[0].status == PullRun.Status.SUCCEEDED
    scenario.found(f"the interrupted run #{run.pk} itself ended {seen[0].status}", ok=ok)
    assert ok
    scenario.passed("worker reconnected by itself; tasks lost with Redis re-sent by the janitor; same run exact")


def _terminate_worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


def test_3_postgresql_connections_terminated_during_a_run(env, scenario):
    fake, worker = env
    w = worker(concurrency=2)
    config = make_configuration(fake, MD[:4], start_date=START, name="PG terminate")
    fake.faults.slow_seconds = 0.1
    trigger(config)
    run = wait_for(lambda: newest_run(config.pk), 60, "the run")
    wait_for(lambda: data_requests(fake) >= 3, 60, "three data pages served")
    killed = 0
    for _ in range(8):
        killed += _terminate_worker_connections()
        time.sleep(0.4)
    scenario.did(f"pg_terminate_backend() on the worker's connections 8 times over 3 s ({killed} connections)")
    fake.faults.slow_seconds = 0.05
    settle(config, scenario, run_id=run.pk)
    errors = [line.strip()[:150] for line in w.output().splitlines() if "Error" in line and "Traceback" not in line]
    scenario.found(f"worker log: {len(errors)} error lines, e.g. {errors[:2]}")
    _exact(scenario, fake, config)
    scenario.passed("no partial commit; the worker reconnected; exact match after recovery")


def test_4_usgs_rate_limited_then_errors_on_a_third_of_requests(env, scenario):
    fake, worker = env
    worker(concurrency=2)
    config = make_configuration(fake, MD[:3], start_date=START, name="429 and 5xx")
    fake.faults.retry_after = 3
    fake.faults.rate_limit_until = time.monotonic() + 8
    scenario.did("USGS answers 429 (Retry-After: 3) to everything for 8 s")
    runs_seen = settle(config, scenario)
    scenario.found(f"responses served: {statuses(fake)}")
    _exact(scenario, fake, config)
    fake.clear_requests()
    fake.faults.error_rate = 1 / 3
    second = make_configuration(fake, MD[3:6], start_date=START, name="5xx third")
    scenario.did("USGS answers 500/502/503 to a third of requests (seeded)")
    runs_second = settle(second, scenario)
    scenario.found(f"responses served: {statuses(fake)}")
    _exact(scenario, fake, second)
    scenario.passed(f"succeeded after {len(runs_seen)} + {len(runs_second)} run(s); exact match")


def test_5_response_cut_mid_body_and_malformed_json(env, scenario):
    fake, worker = env
    worker(concurrency=2)
    config = make_configuration(fake, MD[:3], start_date=START, name="Broken bodies")
    fake.faults.drop_mid_body_next = 2
    fake.faults.malformed_next = 1
    scenario.did("the next 2 responses cut off mid-body, then 1 with malformed JSON")
    seen = settle(config, scenario)
    left = fake.faults.drop_mid_body_next + fake.faults.malformed_next
    scenario.found(f"faults left unused: {left}", ok=left == 0)
    _exact(scenario, fake, config)
    scenario.passed(f"retried inside the run ({len(seen)} run); exact match")


def test_6_ten_triggers_at_once_and_two_configurations_sharing_stations(env, scenario):
    fake, worker = env
    worker(concurrency=4)
    config = make_configuration(fake, MD[:3], start_date=START, name="Ten triggers")
    fake.faults.slow_seconds = 0.1
    threads = [threading.Thread(target=trigger, args=(config,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    scenario.did("enqueued run_configuration 10 times at once (4 worker processes)")
    wait_for(lambda: PullRun.objects.filter(configuration=config).count() >= 10, 60, "ten runs recorded")
    active = newest_run(config.pk)
    wait_run_end(active.pk)
    counts = {s: PullRun.objects.filter(configuration=config, status=s).count() for s in PullRun.Status.values}
    counts = {s: n for s, n in counts.items() if n}
    ran = PullRun.objects.filter(configuration=config).exclude(status=PullRun.Status.SKIPPED).count()
    scenario.found(f"runs by status: {counts}", ok=ran == 1 and counts.get("skipped") == 9)
    assert ran == 1 and counts.get("skipped") == 9, counts
    _exact(scenario, fake, config)

    fake.faults.slow_seconds = 0.05
    a = make_configuration(fake, MD[2:5], start_date=START, name="Shared A")
    b = make_configuration(fake, MD[3:6], start_date=START, name="Shared B")
    trigger(a)
    trigger(b)
    scenario.did("ran two configurations sharing USGS-01645000 and USGS-01650500 together (one, USGS-01643000, "
                 "already stored)")  # fmt: skip
    for c in (a, b):
        run = wait_for(lambda c=c: newest_run(c.pk), 60, "the run")
        settle(c, scenario, run_id=run.pk)
    for c in (a, b):
        _exact(scenario, fake, c)
    scenario.passed("exactly one run, nine skipped; shared stations stored once, exact match")


def test_7_beat_restarted_during_edits_and_configuration_deleted_while_it_runs(env, scenario):
    fake, worker = env
    w = worker(concurrency=2)
    config = make_configuration(fake, MD[:2], start_date=START, name="Edited")
    beat = BeatProcess(w.env()).start()
    schedules = [("hourly", None), ("custom", "15 3 * * 1-5"), ("weekly", None), ("custom", "*/20 * * * *"),
                 ("every_6_hours", None), ("custom", "5 4 1 * *")]  # fmt: skip
    try:
        for i, (kind, cron) in enumerate(schedules):
            config.schedule_type = kind
            if cron:
                config.cron_expression = cron
            config.timezone = ["UTC", "America/New_York", "America/Denver"][i % 3]
            config.save()
            if i == 2:
                beat.kill()
                scenario.did("SIGKILLed beat between two edits")
            if i == 3:
                beat = BeatProcess(w.env()).start()
                scenario.did("restarted beat")
            time.sleep(0.3)
        time.sleep(2)
        scenario.did(f"edited the schedule {len(schedules)} times (presets, custom cron, time zones)")
        check = subprocess.run(
            [sys.executable, "manage.py", "sync_schedules", "--check"],
            cwd=ROOT, env=w.env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        scenario.found(f"sync_schedules --check exit {check.returncode}: {check.stdout.strip()[-160:]}",
                       ok=check.returncode == 0)  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        beat.stop()

    doomed = make_configuration(fake, MD[2:6], start_date=START, name="Deleted mid-run")
    fake.faults.slow_seconds = 0.15
    trigger(doomed)
    run = wait_for(lambda: newest_run(doomed.pk), 60, "the run")
    wait_for(lambda: data_requests(fake) >= 4, 60, "four data pages served")
    doomed_pk = doomed.pk
    doomed.delete()
    scenario.did(f"deleted the configuration while run #{run.pk} was pulling")
    run, ended = wait_run_end(run.pk)
    if not ended:
        scenario.found(f"run #{run.pk} did not end by itself (still {run.status})", ok=False)
        janitor.janitor(stale_after=dt.timedelta(seconds=1))
        run.refresh_from_db()
    lines = PullLogEntry.objects.filter(run=run).count()
    kept = run.configuration_id is None and run.configuration_name == "Deleted mid-run" and lines > 0
    scenario.found(f"run #{run.pk} ended {run.status} by itself={ended}; configuration {doomed_pk} gone, "
                   f"name kept, {lines} log lines kept: {run.message[:100]}", ok=ended and kept)  # fmt: skip
    verdict = verify_stored(fake, MD[2:6], TimeSeries.Kind.DAILY, START)
    scenario.found("stored data check: " + verdict.summary(), ok=verdict.ok)
    assert ended and kept and verdict.ok
    scenario.passed("schedule in sync after beat restart; deleted mid-run: run ended cleanly, history kept")
