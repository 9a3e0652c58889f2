"""Celery tasks run eagerly in this process: run_configuration fans out one run_batch per batch; the janitor
task wraps acquisition.janitor."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.db import OperationalError
from django.utils import timezone

from acquisition import run_bookkeeping, smart_append, tasks
from acquisition.models import ContinuousValue, DailyValue, Heartbeat, PullLogEntry, PullRun, PullRunStation
from acquisition.planning import local_midnight
from acquisition.run_bookkeeping import start_run
from pulls.models import PullConfiguration, StationProgress
from stations.models import MonitoringLocation
from streamflow.celery import app
from tests.acquisition_factories import make_configuration

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

SITES = ["USGS-01646500", "USGS-01638500", "USGS-01643000"]


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_run_configuration_runs_every_station_and_finalizes(fake_usgs, eager):
    config = make_configuration(fake_usgs, SITES, start_date=dt.date(2026, 9, 1))

    result = tasks.run_configuration.delay(config.pk, trigger=PullRun.Trigger.MANUAL).get()

    run = PullRun.objects.get()
    assert result == {"run": run.pk, "status": "running"}  # as seen when the fan-out was sent
    assert run.status == PullRun.Status.SUCCEEDED and run.trigger == "manual"
    assert list(run.stations.values_list("status", flat=True)) == ["succeeded"] * 3
    expected = sum(len(fake_usgs.expected_daily(s, dt.date(2026, 9, 1), fake_usgs.today)) for s in SITES)
    assert DailyValue.objects.count() == expected == run.values_inserted


def test_run_configuration_is_skipped_while_a_run_is_active(fake_usgs, eager):
    config = make_configuration(fake_usgs, SITES[:1])
    active = start_run(config)

    result = tasks.run_configuration.delay(config.pk).get()

    skipped = PullRun.objects.exclude(pk=active.pk).get()
    assert result == {"run": skipped.pk, "status": "skipped"}
    assert fake_usgs.requests == []
    assert PullRunStation.objects.get(run=active).status == PullRunStation.Status.PENDING


def test_run_configuration_of_a_deleted_configuration_does_nothing(eager):
    assert tasks.run_configuration.delay(123456, trigger="manual").get() == {"run": None, "status": "missing"}
    assert tasks.run_configuration.delay(123456).get()["status"] == "skipped"
    assert PullRun.objects.count() == 0


def test_a_scheduled_trigger_of_a_paused_configuration_starts_nothing(fake_usgs, eager):
    config = make_configuration(fake_usgs, SITES[:1])
    PullConfiguration.objects.filter(pk=config.pk).update(enabled=False)  # paused after beat queued the message

    result = tasks.run_configuration.delay(config.pk).get()

    assert result["status"] == "skipped" and "is paused" in result["note"]
    assert PullRun.objects.count() == 0 and fake_usgs.requests == []
    # An operator may still run it by hand.
    assert tasks.run_configuration.delay(config.pk, trigger="manual").get()["status"] == "running"


def test_a_station_task_for_a_finished_run_does_nothing(fake_usgs, eager):
    config = make_configuration(fake_usgs, SITES[:1])
    tasks.run_configuration.delay(config.pk).get()
    run = PullRun.objects.get()
    fake_usgs.clear_requests()

    result = tasks.run_batch.delay(run.pk, 1).get()

    assert result["status"] is None
    assert fake_usgs.requests == []


def test_the_janitor_task_resumes_a_station_whose_worker_was_lost(fake_usgs, eager):
    config = make_configuration(fake_usgs, SITES[:1], start_date=dt.date(2026, 11, 1))
    run = start_run(config)
    run_bookkeeping.claim_batch(run.pk, 1, worker="gone@host")
    Heartbeat.objects.create(name="worker:gone@host", seen_at=timezone.now() - dt.timedelta(minutes=3))

    tasks.janitor.delay().get()  # eager: the re-sent station task runs (and ends the run) inside this call

    run.refresh_from_db()
    station = run.stations.get()
    assert run.status == PullRun.Status.SUCCEEDED
    assert (station.attempts, station.resumes, station.status) == (2, 1, PullRunStation.Status.SUCCEEDED)
    assert PullLogEntry.objects.filter(run=run, message__contains="batch resumed (attempt 2)").exists()


def test_run_configuration_takes_over_the_queued_run_it_is_given(fake_usgs, eager):
    config = make_configuration(fake_usgs, SITES[:2], start_date=dt.date(2026, 11, 1))
    queued = run_bookkeeping.queue_run(config, PullRun.Trigger.MANUAL, "olivia")
    assert queued.status == PullRun.Status.QUEUED and queued.stations.count() == 2

    result = tasks.run_configuration.delay(config.pk, trigger="manual", triggered_by="olivia", run_id=queued.pk).get()

    assert result == {"run": queued.pk, "status": "running"}
    assert PullRun.objects.count() == 1
    queued.refresh_from_db()
    assert queued.status == PullRun.Status.SUCCEEDED and queued.started_at is not None
    assert queued.task_id != ""


def test_a_second_trigger_while_a_run_is_queued_is_recorded_as_skipped(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1])
    queued = run_bookkeeping.queue_run(config, PullRun.Trigger.MANUAL, "olivia")

    again = run_bookkeeping.queue_run(config, PullRun.Trigger.MANUAL, "olivia")

    assert again.status == PullRun.Status.SKIPPED and f"run #{queued.pk}" in again.message
    assert PullRun.objects.active().get() == queued


def test_a_retried_fan_out_sends_the_pending_batches_of_its_own_run(fake_usgs, eager, settings):
    settings.ACQUISITION_BATCH_SERIES = 1  # three batches
    config = make_configuration(fake_usgs, SITES, start_date=dt.date(2026, 11, 1))
    # The first attempt committed its run and sent one batch, then died before sending the others.
    run = start_run(config, task_id="task-1")
    first = run.stations.get(batch__number=1)
    tasks.run_batch.delay(run.pk, 1).get()

    result = tasks.run_configuration.apply(args=[config.pk], task_id="task-1").get()

    assert result == {"run": run.pk, "status": "running"}
    assert PullRun.objects.count() == 1  # not a `skipped` run of its own
    run.refresh_from_db()
    assert run.status == PullRun.Status.SUCCEEDED and run.stations_succeeded == 3
    assert PullRunStation.objects.get(pk=first.pk).attempts == 1  # the finished station was not pulled again


def test_a_station_task_retries_a_database_error_on_a_fresh_connection(fake_usgs, eager, monkeypatch):
    config = make_configuration(fake_usgs, SITES[:1], start_date=dt.date(2026, 11, 1))
    run = start_run(config)
    real = smart_append.commit
    calls = []

    def commit_once_broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real(*args, **kwargs)

    monkeypatch.setattr(smart_append, "commit", commit_once_broken)
    monkeypatch.setattr(tasks, "STATION_DB_RETRY_SECONDS", 0)

    tasks.run_batch.delay(run.pk, 1).get()

    station = run.stations.get()
    assert len(calls) == 2 and (station.status, station.attempts) == (PullRunStation.Status.SUCCEEDED, 2)
    assert station.batch.requests_made == len(fake_usgs.requests)  # both attempts' requests, not just the last
    assert PullRun.objects.get(pk=run.pk).requests_made == len(fake_usgs.requests)
    assert PullRun.objects.get(pk=run.pk).status == PullRun.Status.SUCCEEDED


def test_a_station_task_gives_up_after_repeated_database_errors_and_ends_the_run(fake_usgs, eager, monkeypatch):
    config = make_configuration(fake_usgs, SITES[:1], start_date=dt.date(2026, 11, 1))
    run = start_run(config)

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(smart_append, "commit", broken)
    monkeypatch.setattr(tasks, "STATION_DB_RETRY_SECONDS", 0)

    tasks.run_batch.apply(args=[run.pk, 1])

    station = run.stations.get()
    assert station.status == PullRunStation.Status.FAILED and "database connection kept failing" in station.error
    assert station.attempts == tasks.STATION_DB_RETRIES + 1
    assert PullRun.objects.get(pk=run.pk).status == PullRun.Status.FAILED


def test_the_batch_tasks_ack_late_and_have_time_limits():
    for task in (tasks.run_configuration, tasks.run_batch, tasks.janitor):
        assert task.acks_late is True
        assert task.time_limit and task.soft_time_limit and task.soft_time_limit < task.time_limit
    assert tasks.run_batch.reject_on_worker_lost is True
    assert not getattr(tasks.run_batch, "autoretry_for", ())


def test_a_continuous_configuration_four_years_back_pulls_in_windows_of_at_most_1000_days(fake_usgs, eager):
    site = "USGS-01638500"  # 15-minute data
    start = fake_usgs.today - dt.timedelta(days=4 * 365)
    config = make_configuration(fake_usgs, [site], start_date=start, data_type=PullConfiguration.DataType.CONTINUOUS)

    tasks.run_configuration.delay(config.pk).get()

    run = PullRun.objects.get()
    assert run.status == PullRun.Status.SUCCEEDED
    windows = [
        r.params["time"]
        for r in fake_usgs.requests
        if r.path.endswith("/continuous/items") and "cursor" not in r.params
    ]
    assert len(windows) >= 2
    spans = []
    for window in windows:
        lo, hi = (dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in window.split("/"))
        spans.append(hi - lo)
        assert lo.tzinfo is not None and window.endswith("Z")
    assert max(spans) <= dt.timedelta(days=1000)
    station = run.stations.get()
    assert station.windows_total == station.windows_done == len(windows)
    # The station's own day: the window starts at local midnight of the start date (issue: UTC days missed hours).
    first = local_midnight(start, MonitoringLocation.objects.get(monitoring_location_id=site).zone)
    assert first.utcoffset() == dt.timedelta(0) and first.hour != 0
    expected = fake_usgs.expected_continuous(site, first, timezone.now())
    assert ContinuousValue.objects.count() == len(expected) == run.values_inserted
    stored = list(ContinuousValue.objects.order_by("time").values_list("time", "value")[:3])
    assert stored == [(e["time"], e["value"]) for e in expected[:3]]
    assert all(t.utcoffset() == dt.timedelta(0) for t, _ in stored)
    progress = StationProgress.objects.get(configuration=config)
    assert progress.newest_time == expected[-1]["time"]


@pytest.mark.parametrize(("time_limit", "visibility"), [("3600", 7200), ("10800", 21600)])
def test_redis_redelivers_only_after_twice_the_task_time_limit(time_limit, visibility):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'streamflow.settings'; django.setup(); "
        "from django.conf import settings as s; "
        "print(s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], s.CELERY_BEAT_SCHEDULE['acquisition-janitor']"
        "['schedule'])"
    )
    env = dict(os.environ, CELERY_BROKER_URL="redis://127.0.0.1:6379/10", CELERY_TASK_TIME_LIMIT=time_limit)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(visibility), "60.0"]
