"""Failures the simulation found (tests/simulation/machine.py), each written down as a plain test.

Each failed on the engine as issue 21 found it, for the reason its name says, and passes since the fix (commit
"Engine, issue 21: one frozen plan per member, …"). The shrunk sequence that found each is in its docstring.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from acquisition.models import ContinuousValue, DailyValue, PullRun
from pulls.models import PullConfiguration
from tests.acquisition_factories import FAST_QUOTA
from tests.fakeusgs import FakeUSGS
from tests.simulation import engine
from tests.simulation.machine import START, STATIONS, is_data_request

EASTERN, EASTERN_15, PACIFIC = "USGS-01646500", "USGS-01638500", "USGS-11264500"


@pytest.fixture
def fake(settings, monkeypatch):
    """The simulation's fake (five gages in four zones), its clock standing at START; the engine's clock on it."""
    server = FakeUSGS(stations=STATIONS)
    server.clock = START
    server.faults.retry_after = 0
    settings.USGS_API_URL = server.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    monkeypatch.setattr(timezone, "now", server.now)
    yield server
    server.stop()


def configuration(fake: FakeUSGS, sites: list[str], *, kind: str = engine.DAILY, days_ago: int = 2, **kw) -> int:
    locations = [engine.ensure_location(fake.by_id[site]) for site in sites]
    start = fake.today - dt.timedelta(days=days_ago)
    return engine.create_configuration(
        f"regression {kind} {'-'.join(sites)}", kind, kw.get("strategy", "append"), start, locations
    )


def run(config_id: int, *, backfill: tuple[dt.date, dt.date] | None = None) -> PullRun:
    run_id = engine.start(config_id, backfill=backfill)
    for number in engine.pending(run_id):
        engine.pull(run_id, number)
    return PullRun.objects.get(pk=run_id)


def stored_days(fake: FakeUSGS, site: str) -> list[dt.date]:
    series = fake.primary_series_id(site, "daily")
    rows = DailyValue.objects.filter(series__time_series_id=series).order_by("date")
    return list(rows.values_list("date", flat=True))


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.mark.django_db
def test_a_re_pull_before_the_first_run_leaves_no_hole(fake):
    """state.create_daily(days_ago=20); state.re_pull(from_days_ago=10, days=5); state.run()"""
    config = configuration(fake, [EASTERN], days_ago=20)
    start = PullConfiguration.objects.get(pk=config).start_date
    middle = (fake.today - dt.timedelta(days=10), fake.today - dt.timedelta(days=5))
    assert run(config, backfill=middle).status == "succeeded"

    assert run(config).status == "succeeded"

    assert stored_days(fake, EASTERN) == days(start, fake.today)


@pytest.mark.django_db
def test_a_value_usgs_approves_before_the_start_date_is_not_stored(fake):
    """Found as: state.move_clock(minutes=600); state.create_daily(days_ago=2); state.run(); state.run() — the
    fake approves values 120 days back as its clock passes a day (a USGS approval wave), and the second run's
    revision pass stored one of them, 118 days before the start date."""
    config = configuration(fake, [EASTERN], days_ago=2)
    start = PullConfiguration.objects.get(pk=config).start_date
    assert run(config).status == "succeeded"
    fake.revise(EASTERN, start - dt.timedelta(days=10), 4321.0, last_modified=fake.now())
    fake.clock += dt.timedelta(hours=2)

    assert run(config).status == "succeeded"

    assert stored_days(fake, EASTERN)[0] == start


@pytest.mark.django_db
def test_a_re_pull_that_starts_before_the_start_date_stores_nothing_before_it(fake):
    """state.create_continuous(days_ago=1); state.re_pull(from_days_ago=3, days=0) — the form accepts any range
    ending by today; DESIGN §4.8 makes the start date the floor of everything stored."""
    config = configuration(fake, [EASTERN], kind=engine.CONTINUOUS, days_ago=1)
    start = PullConfiguration.objects.get(pk=config).start_date
    first = start - dt.timedelta(days=2)

    assert run(config, backfill=(first, start)).status == "succeeded"

    earliest = ContinuousValue.objects.order_by("time").values_list("time", flat=True).first()
    zone = engine.zone_of(engine.ensure_location(fake.by_id[EASTERN]))
    assert earliest >= dt.datetime.combine(start, dt.time(0), tzinfo=zone)


@pytest.mark.django_db
def test_moving_the_start_date_earlier_fills_the_days_before_the_old_one(fake):
    """state.create_daily(days_ago=2); state.run(); state.move_start_date(days=-30); state.run()"""
    config = configuration(fake, [EASTERN], days_ago=2)
    assert run(config).status == "succeeded"
    earlier = PullConfiguration.objects.get(pk=config).start_date - dt.timedelta(days=30)
    engine.edit_configuration(config, start_date=earlier)

    assert run(config).status == "succeeded"

    assert stored_days(fake, EASTERN) == days(earlier, fake.today)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_station_removed_mid_fetch_does_not_fail_the_rest_of_its_batch(fake):
    """state.create_continuous(days_ago=1, sites=[EASTERN, EASTERN_15]); state.two_at_once(meanwhile='remove a
    station') — with CONN_MAX_AGE=0 (Django's default) the skipped member's connection close drops the temporary
    stage: 'relation "acq_batch_time" does not exist' for the other member."""
    old = connection.settings_dict.get("CONN_MAX_AGE")
    connection.settings_dict["CONN_MAX_AGE"] = 0
    connection.close()
    try:
        config = configuration(fake, [EASTERN, EASTERN_15], kind=engine.CONTINUOUS, days_ago=1)
        run_id = engine.start(config)
        gate = fake.hold(is_data_request)
        worker = threading.Thread(target=_pull_all_then_close, args=(run_id,))
        worker.start()
        assert gate.wait_arrived(20)
        engine.remove_station(config, engine.ensure_location(fake.by_id[EASTERN]))
        gate.release()
        worker.join(60)

        outcome = engine.outcome(run_id)
        kept = engine.ensure_location(fake.by_id[EASTERN_15])
        assert outcome.stations[kept] == "succeeded", outcome.errors.get(kept)
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = old


def _pull_all_then_close(run_id: int) -> None:
    try:
        for number in engine.pending(run_id):
            engine.pull(run_id, number)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_an_overwrite_keeps_what_another_configuration_stored_while_it_fetched(fake):
    """Found as (shrunk by hand from 17 steps): an append and an overwrite configuration of the same gage;
    state.two_at_once(first=overwrite, held=1, meanwhile='clock +30 min, run second', second=append) — the
    overwrite's commit deleted the append's newer values, and the append's progress pointed at nothing."""
    appends = configuration(fake, [EASTERN], kind=engine.CONTINUOUS, days_ago=1)
    overwrites = engine.create_configuration(
        "regression overwrite", engine.CONTINUOUS, "overwrite", fake.today - dt.timedelta(days=1),
        [engine.ensure_location(fake.by_id[EASTERN])],
    )  # fmt: skip
    run_id = engine.start(overwrites)
    gate = fake.hold(is_data_request)
    worker = threading.Thread(target=_pull_all_then_close, args=(run_id,))
    worker.start()
    assert gate.wait_arrived(20)
    fake.clock += dt.timedelta(minutes=30)
    assert run(appends).status == "succeeded"
    newest = engine.progress(appends, engine.ensure_location(fake.by_id[EASTERN]), engine.CONTINUOUS)
    gate.release()
    worker.join(60)

    assert engine.outcome(run_id).status == "succeeded"
    assert engine.is_stored(fake.primary_series_id(EASTERN, "continuous"), engine.CONTINUOUS, newest)


@pytest.mark.django_db
def test_a_run_that_waits_in_the_queue_is_never_failed_by_the_janitor(fake, monkeypatch):
    """state.create_continuous(days_ago=1); state.queue_and_wait(); state.move_clock(minutes=1440) and three more
    moves — each janitor pass after 900 s re-sent the queued run; the fourth failed its stations "after 3 tries",
    though no worker ever claimed them."""
    engine.mute_task_sends(monkeypatch, [])
    config = configuration(fake, [EASTERN], kind=engine.CONTINUOUS, days_ago=1)
    run_id = engine.start(config, queued=True)

    for _ in range(4):
        fake.clock += engine.pending_silent_after() + dt.timedelta(minutes=1)
        engine.janitor(fake.now())

    assert engine.is_active(run_id)
    assert set(engine.outcome(run_id).stations.values()) == {"pending"}


@pytest.mark.django_db
def test_a_continuous_re_pull_of_eastern_and_pacific_gages_stores_each_ones_whole_local_days(fake):
    """state.create_continuous(days_ago=2, sites=['USGS-01638500', 'USGS-11264500']); state.re_pull(from_days_ago=1,
    days=0) — the Pacific gage missed 21:00-23:45 of its own last day (12 values), cut at the Eastern one's end."""
    config = configuration(fake, [EASTERN_15, PACIFIC], kind=engine.CONTINUOUS, days_ago=2)
    day = fake.today - dt.timedelta(days=1)

    assert run(config, backfill=(day, day)).status == "succeeded"

    pacific = engine.ensure_location(fake.by_id[PACIFIC])
    zone = engine.zone_of(pacific)
    first = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    last = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone) - dt.timedelta(microseconds=1)
    wanted = [r["time"] for r in fake.truth_as_of(PACIFIC, "continuous", first, last)]
    series = fake.primary_series_id(PACIFIC, "continuous")
    stored = ContinuousValue.objects.filter(series__time_series_id=series, time__range=(first, last))
    assert sorted(stored.values_list("time", flat=True)) == wanted


@pytest.mark.django_db
def test_a_worker_clock_90_minutes_fast_still_sees_every_revision(fake, monkeypatch):
    """The machine's rules, in this order (the random search had not hit it in the budgets run so far):
    state.skew_worker_clock(minutes=90); state.create_daily(days_ago=2); state.run(); state.move_clock(minutes=7);
    state.revise(days_ago=1); state.run() — the revision, stamped by USGS's clock, fell before the cutoff the
    worker's clock set, and the stored value stayed as it was."""
    monkeypatch.setattr(timezone, "now", lambda: fake.now() + dt.timedelta(minutes=90))
    config = configuration(fake, [EASTERN], days_ago=2)
    assert run(config).status == "succeeded"
    fake.clock += dt.timedelta(minutes=7)
    day = fake.today - dt.timedelta(days=1)
    fake.revise(EASTERN, day, 4321.0, last_modified=fake.now())

    assert run(config).status == "succeeded"

    series = fake.primary_series_id(EASTERN, "daily")
    assert DailyValue.objects.get(series__time_series_id=series, date=day).value == 4320.0
