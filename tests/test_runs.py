"""Run bookkeeping: one active run per configuration, finalization by the last station, alerts, the janitor,
and the shared rate limiter."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from acquisition import janitor, run_bookkeeping
from acquisition.models import Heartbeat, PullLogEntry, PullRun, PullRunBatch, PullRunStation, RateLimitBucket
from acquisition.throttled_client import DatabaseTokenBucket
from pulls.models import PullConfigurationStation, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory


def configuration_with(n: int):
    config = PullConfigurationFactory()
    for _ in range(n):
        PullConfigurationStation.objects.create(configuration=config, location=MonitoringLocationFactory())
    return config


@pytest.fixture(autouse=True)
def one_station_a_batch(settings):
    """These tests are about each station's bookkeeping: a batch of one makes a batch claim a station claim."""
    settings.ACQUISITION_BATCH_SERIES = 1


def claim(run, station, *, worker: str = ""):
    """Claim the batch of `station` (a batch of one here): (batch, members) or None."""
    station.refresh_from_db()
    return run_bookkeeping.claim_batch(run.pk, station.batch.number, worker=worker)


def batch_of(station):
    station.refresh_from_db()
    return station.batch


@pytest.fixture
def alerts(monkeypatch):
    calls: list[tuple[int, str]] = []
    monkeypatch.setattr("monitoring.alerts.run_finished", lambda run: calls.append((run.pk, run.status)))
    return calls


@pytest.mark.django_db
def test_it_starts_a_running_run_with_a_row_per_station(alerts):
    config = configuration_with(3)

    run = run_bookkeeping.start_run(config, trigger=PullRun.Trigger.MANUAL, triggered_by="olivia")

    run.refresh_from_db()
    assert (run.status, run.trigger, run.triggered_by, run.stations_total) == ("running", "manual", "olivia", 3)
    assert run.started_at is not None and run.heartbeat_at is not None
    assert set(run.stations.values_list("status", flat=True)) == {PullRunStation.Status.PENDING}
    assert PullLogEntry.objects.filter(run=run, message__startswith="Run started (manual)").exists()
    assert alerts == []


@pytest.mark.django_db
def test_a_second_trigger_while_one_runs_is_recorded_as_skipped(alerts):
    config = configuration_with(2)
    first = run_bookkeeping.start_run(config)

    second = run_bookkeeping.start_run(config, trigger=PullRun.Trigger.MANUAL)

    assert second.pk != first.pk
    second.refresh_from_db()
    assert second.status == PullRun.Status.SKIPPED and second.finished_at is not None
    assert f"run #{first.pk}" in second.message
    assert second.stations.count() == 0
    assert PullRun.objects.active().get() == first
    assert alerts == [(second.pk, "skipped")]


@pytest.mark.django_db
def test_a_configuration_without_stations_fails_at_once_with_a_sentence(alerts):
    config = configuration_with(0)

    run = run_bookkeeping.start_run(config)

    assert run.status == PullRun.Status.FAILED
    assert run.message == "The configuration has no stations: add stations to it, then run it again."
    assert alerts == [(run.pk, "failed")]


@pytest.mark.django_db
def test_the_last_station_to_finish_finalizes_the_run_once(alerts):
    config = configuration_with(2)
    run = run_bookkeeping.start_run(config)
    first, second = run.stations.order_by("pk")
    claim(run, first)
    claim(run, second)

    assert run_bookkeeping.mark_station_succeeded(first.pk, values_inserted=5, requests_made=2)
    assert run_bookkeeping.station_finished(run.pk) is None
    run.refresh_from_db()
    assert run.status == PullRun.Status.RUNNING and run.values_inserted == 5  # running totals move

    run_bookkeeping.fail_station(second, "USGS answered HTTP 500 for http://x/daily/items.", attempt=1)
    ended = run_bookkeeping.station_finished(run.pk)

    assert ended is not None and ended.status == PullRun.Status.PARTIAL
    assert (ended.stations_succeeded, ended.stations_failed, ended.requests_made) == (1, 1, 2)
    assert second.location.monitoring_location_id in ended.message
    assert run_bookkeeping.finalize_run(run.pk) is None  # a second finalizer loses the conditional update
    assert alerts == [(run.pk, "partial")]
    progress = StationProgress.objects.get(location=second.location)
    assert progress.consecutive_failures == 1 and progress.last_error.startswith("USGS answered HTTP 500")
    assert progress.newest_date is None


@pytest.mark.django_db
def test_a_finished_station_cannot_be_claimed_or_failed_again(alerts):
    config = configuration_with(1)
    run = run_bookkeeping.start_run(config)
    station = run.stations.get()
    claim(run, station)
    run_bookkeeping.mark_station_succeeded(station.pk)

    assert claim(run, station) is None
    assert run_bookkeeping.fail_station(station, "late", attempt=None) is False
    station.refresh_from_db()
    assert station.status == PullRunStation.Status.SUCCEEDED
    assert not StationProgress.objects.filter(location=station.location, consecutive_failures__gt=0).exists()


@pytest.mark.django_db
def test_a_duplicate_station_task_leaves_a_station_that_is_being_pulled_alone(alerts):
    config = configuration_with(1)
    run = run_bookkeeping.start_run(config)
    station = run.stations.get()
    claim(run, station, worker="w1@host")

    assert claim(run, station, worker="w2@host") is None

    station = run.stations.get()
    assert (station.attempts, station.worker, station.status) == (1, "w1@host", PullRunStation.Status.RUNNING)


@pytest.mark.django_db
def test_a_redelivered_station_task_claims_a_silent_station_again_and_keeps_its_request_count(alerts):
    config = configuration_with(1)
    run = run_bookkeeping.start_run(config)
    station = run.stations.get()
    claim(run, station, worker="w1@host")
    PullRunBatch.objects.filter(run=run).update(
        requests_made=7, heartbeat_at=timezone.now() - run_bookkeeping.station_silent_after() - dt.timedelta(seconds=1)
    )

    batch, members = claim(run, station, worker="w2@host")

    assert batch.attempts == 2 and batch.status == PullRunBatch.Status.RUNNING
    assert (batch.worker, batch.requests_made) == ("w2@host", 7)
    again = members[0]
    assert again.attempts == 2 and again.status == PullRunStation.Status.RUNNING and again.worker == "w2@host"


@pytest.mark.django_db
def test_an_alert_failure_never_changes_the_run(monkeypatch):
    def broken(run):
        raise RuntimeError("smtp down")

    monkeypatch.setattr("monitoring.alerts.run_finished", broken)
    config = configuration_with(1)
    run = run_bookkeeping.start_run(config)
    station = run.stations.get()
    claim(run, station)
    run_bookkeeping.mark_station_succeeded(station.pk)

    ended = run_bookkeeping.station_finished(run.pk)

    assert ended.status == PullRun.Status.SUCCEEDED
    assert PullRun.objects.get(pk=run.pk).status == PullRun.Status.SUCCEEDED


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(janitor, "_send_batch", lambda run_id, number: calls.append((run_id, number)))
    return calls


def _worker_seen(name: str, ago: dt.timedelta) -> None:
    Heartbeat.objects.update_or_create(name=f"worker:{name}", defaults={"seen_at": timezone.now() - ago})


@pytest.mark.django_db
def test_the_janitor_resumes_the_station_of_a_lost_worker_and_leaves_live_ones_alone(alerts, sent):
    config = configuration_with(3)
    run = run_bookkeeping.start_run(config)
    done, lost, live = run.stations.order_by("pk")
    claim(run, done, worker="dead@host")
    run_bookkeeping.mark_station_succeeded(done.pk, values_inserted=3)
    claim(run, lost, worker="dead@host")
    claim(run, live, worker="alive@host")
    _worker_seen("dead@host", dt.timedelta(minutes=3))
    _worker_seen("alive@host", dt.timedelta(seconds=10))

    assert janitor.janitor() == []

    assert sent == [(run.pk, batch_of(lost).number)]
    lost.refresh_from_db()
    live.refresh_from_db()
    assert (lost.status, lost.worker, lost.resumes) == (PullRunStation.Status.PENDING, "", 1)
    assert (live.status, live.worker, live.resumes) == (PullRunStation.Status.RUNNING, "alive@host", 0)
    assert (lost.batch.status, lost.batch.resumes) == (PullRunBatch.Status.PENDING, 1)
    line = PullLogEntry.objects.get(run=run, level=PullLogEntry.Level.WARNING)
    assert line.message.startswith(f"Batch {lost.batch.number}: worker dead@host lost")
    assert "batch resumed (attempt 2)" in line.message
    run.refresh_from_db()
    assert run.status == PullRun.Status.RUNNING and alerts == []

    batch, members = claim(run, lost, worker="alive@host")  # the re-sent task arrives
    assert batch.attempts == 2 and batch.worker == "alive@host" and members[0].attempts == 2


@pytest.mark.django_db
def test_the_janitor_leaves_queued_stations_waiting_until_a_long_silence(alerts, sent):
    config = configuration_with(2)
    run = run_bookkeeping.start_run(config)
    waiting = batch_of(run.stations.order_by("pk").first())
    quiet = timezone.now() - janitor.stale_after_default() + dt.timedelta(minutes=1)
    PullRunBatch.objects.filter(run=run).update(heartbeat_at=quiet)
    PullRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=3))

    assert janitor.janitor() == [] and sent == []  # behind other runs in the queue: not touched, not failed

    PullRunBatch.objects.filter(pk=waiting.pk).update(heartbeat_at=quiet - dt.timedelta(minutes=2))
    assert janitor.janitor() == []
    assert sent == [(run.pk, waiting.number)]
    assert PullRun.objects.get(pk=run.pk).status == PullRun.Status.RUNNING


@pytest.mark.django_db
def test_the_janitor_fails_a_station_lost_three_times_and_ends_the_run(alerts, sent):
    config = configuration_with(2)
    run = run_bookkeeping.start_run(config)
    done, lost = run.stations.order_by("pk")
    claim(run, done)
    run_bookkeeping.mark_station_succeeded(done.pk, values_inserted=3)
    claim(run, lost, worker="dead@host")
    PullRunBatch.objects.filter(pk=batch_of(lost).pk).update(resumes=janitor.MAX_RESUMES)
    _worker_seen("dead@host", dt.timedelta(minutes=3))

    assert janitor.janitor() == [run.pk]

    assert sent == []
    lost.refresh_from_db()
    assert lost.status == PullRunStation.Status.FAILED and "given up after 3 lost attempts" in lost.error
    assert StationProgress.objects.get(location=lost.location).consecutive_failures == 1
    run.refresh_from_db()
    assert run.status == PullRun.Status.PARTIAL and run.values_inserted == 3
    assert alerts == [(run.pk, "partial")]


@pytest.mark.django_db
def test_a_zero_stale_after_means_zero_not_the_default(alerts, sent):
    config = configuration_with(1)
    run = run_bookkeeping.start_run(config)

    janitor.janitor(stale_after=dt.timedelta(0), now=timezone.now() + dt.timedelta(seconds=1))

    assert sent == [(run.pk, 1)]


@pytest.mark.django_db
def test_the_janitor_finalizes_a_run_whose_stations_all_finished(alerts):
    config = configuration_with(1)
    run = run_bookkeeping.start_run(config)
    station = run.stations.get()
    claim(run, station)
    run_bookkeeping.mark_station_succeeded(station.pk)  # ...and the worker died before finalizing

    assert janitor.janitor() == [run.pk]
    assert PullRun.objects.get(pk=run.pk).status == PullRun.Status.SUCCEEDED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_triggers_at_the_same_moment_give_one_run_and_one_skip(alerts):
    config = configuration_with(2)
    barrier = threading.Barrier(2)
    results: list[PullRun] = []

    def trigger():
        try:
            barrier.wait()
            results.append(run_bookkeeping.start_run(config))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.status for r in results) == [PullRun.Status.RUNNING, PullRun.Status.SKIPPED]
    assert PullRun.objects.active().count() == 1


@pytest.mark.django_db
def test_the_token_bucket_is_shared_by_every_limiter_of_the_same_name():
    now = timezone.now()
    a = DatabaseTokenBucket(3600, capacity=2)
    b = DatabaseTokenBucket(3600, capacity=2)

    assert a.try_take(now) == 0.0
    assert b.try_take(now) == 0.0
    wait = a.try_take(now)

    assert wait == pytest.approx(1.0)  # 3600/h refills one token a second
    assert b.try_take(now + dt.timedelta(seconds=1)) == 0.0
    assert RateLimitBucket.objects.get(name="usgs").tokens == pytest.approx(0.0)


@pytest.mark.django_db
def test_the_token_bucket_sleeps_until_a_token_is_there():
    slept: list[float] = []
    waits: list[float] = []
    bucket = DatabaseTokenBucket(36_000, capacity=1, sleep=slept.append, on_wait=waits.append)
    bucket()  # takes the only token

    bucket()  # waits about 0.1 s (the stub sleep returns at once, so it polls until real time catches up)

    assert waits and 0 < waits[0] <= 0.2
    assert slept and slept[0] == waits[0]


@pytest.mark.django_db
def test_a_station_whose_totals_read_was_overtaken_by_the_finalizer_leaves_the_final_totals(alerts, monkeypatch):
    config = configuration_with(2)
    run = run_bookkeeping.start_run(config)
    first, second = run.stations.order_by("pk")
    claim(run, first)
    claim(run, second)
    run_bookkeeping.mark_station_succeeded(first.pk, values_inserted=5, requests_made=2)
    stale = run_bookkeeping._totals(run.pk)  # the first station's task reads the totals, then stalls...
    run_bookkeeping.mark_station_succeeded(second.pk, values_inserted=7, requests_made=3)
    assert run_bookkeeping.station_finished(run.pk) is not None  # ...while the second one finishes and ends the run

    monkeypatch.setattr(run_bookkeeping, "_totals", lambda run_id: dict(stale))
    assert run_bookkeeping.station_finished(run.pk) is None  # the first one resumes with its old read

    run.refresh_from_db()
    assert run.status == PullRun.Status.SUCCEEDED
    assert (run.values_inserted, run.requests_made, run.stations_succeeded) == (12, 5, 2)
    assert alerts == [(run.pk, "succeeded")]


def _wait_while_locked(execute, sql, params, many, context):
    """SQLite's test database is in memory with a shared cache, whose table locks fail at once instead of waiting
    like the busy timeout of the real (file) database: wait here the way the busy timeout would."""
    for _ in range(2000):
        try:
            return execute(sql, params, many, context)
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc):
                raise
            time.sleep(0.002)
    return execute(sql, params, many, context)


def _finish_stations_together(n: int) -> tuple[PullRun, list[PullRun | None], list[BaseException]]:
    run = run_bookkeeping.start_run(configuration_with(n))
    numbers = dict(run.stations.values_list("pk", "batch__number"))
    stations = list(run.stations.order_by("pk"))
    barrier = threading.Barrier(len(stations))
    ended: list[PullRun | None] = []
    errors: list[BaseException] = []

    def finish(i: int, station: PullRunStation) -> None:
        try:
            with connection.execute_wrapper(_wait_while_locked):
                run_bookkeeping.claim_batch(run.pk, numbers[station.pk])
                barrier.wait()
                run_bookkeeping.mark_station_succeeded(station.pk, values_inserted=1000 + i, requests_made=1)
                ended.append(run_bookkeeping.station_finished(run.pk))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=finish, args=(i, s)) for i, s in enumerate(stations)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.refresh_from_db()
    return run, ended, errors


@pytest.mark.django_db(transaction=True)
def test_stations_finishing_at_the_same_moment_give_exact_totals_and_one_finalizer(alerts):
    for _ in range(4):
        alerts.clear()
        run, ended, errors = _finish_stations_together(5)

        assert errors == []
        assert len([e for e in ended if e is not None]) == 1
        assert run.status == PullRun.Status.SUCCEEDED
        assert (run.values_inserted, run.requests_made, run.stations_succeeded) == (5010, 5, 5)
        assert alerts == [(run.pk, "succeeded")]
