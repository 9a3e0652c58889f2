"""Exact under what operators do (issue 21): one test per way the mirror used to lose or add values while the run
said "succeeded". Each runs the real engine against the fake USGS server over HTTP, with the engine's clock on the
fake's (plus a skew where the test says so), and checks the stored rows against the fake's truth.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from acquisition import batch_commit, janitor, planning, run_bookkeeping, smart_append
from acquisition.models import ContinuousValue, DailyValue, PullRun, PullRunBatch, PullRunStation
from acquisition.planning import local_midnight
from acquisition.runlog import BatchEvents
from acquisition.smart_append import run_inline
from acquisition.staging import BatchStage
from pulls.models import PullConfiguration, StationProgress
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation

DAILY = PullConfiguration.DataType.DAILY_MEAN
CONTINUOUS = PullConfiguration.DataType.CONTINUOUS
OVERWRITE = PullConfiguration.Strategy.OVERWRITE
EAST, WEST = "USGS-50000001", "USGS-50000002"
NOON = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def stations() -> list[FakeStation]:
    common = {"daily_begin": dt.date(2026, 8, 1), "continuous_begin": dt.date(2026, 10, 1)}
    return [
        FakeStation(EAST, "EAST CREEK NR SOMEWHERE MD", time_zone_abbreviation="EST", **common),
        FakeStation(WEST, "WEST CREEK NR SOMEWHERE CA", state_code="06", time_zone_abbreviation="PST", **common),
        FakeStation("USGS-50000003", "THIRD CREEK NR SOMEWHERE MD", time_zone_abbreviation="EST", **common),
    ]


@pytest.fixture
def fake(settings, monkeypatch):
    """The fake on its own clock, and the engine's clock following it (`fake.skew` ahead of it)."""
    fake = FakeUSGS(stations=stations())
    fake.clock = NOON
    fake.skew = dt.timedelta(0)
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    monkeypatch.setattr(timezone, "now", lambda: fake.clock + fake.skew)
    yield fake
    fake.stop()


def stored(site: str, kind: str = "daily") -> list[tuple]:
    if kind == "daily":
        rows = DailyValue.objects.filter(series__location__monitoring_location_id=site).order_by("date")
        return [(r.date, r.value, r.qualifiers, r.approval_status) for r in rows]
    rows = ContinuousValue.objects.filter(series__location__monitoring_location_id=site).order_by("time")
    return [(r.time, r.value, r.qualifiers, r.approval_status) for r in rows]


def truth(fake: FakeUSGS, site: str, start, end, kind: str = "daily") -> list[tuple]:
    expected = (fake.expected_daily if kind == "daily" else fake.expected_continuous)(site, start, end)
    return [(e["time"], e["value"], e["qualifiers"], e["approval_status"]) for e in expected]


def progress_of(config, site: str) -> StationProgress:
    return StationProgress.objects.get(configuration=config, location__monitoring_location_id=site)


# --- 1. A re-pull before the first scheduled run ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_repull_before_the_first_run_leaves_no_hole_and_moves_no_progress(fake):
    start = dt.date(2026, 9, 1)
    config = make_configuration(fake, [EAST], start_date=start)

    repull = run_inline(config, trigger=PullRun.Trigger.BACKFILL, range_start=dt.date(2026, 10, 1),
                        range_end=dt.date(2026, 10, 31))  # fmt: skip
    after_repull = progress_of(config, EAST)
    run = run_inline(config)

    assert repull.status == run.status == PullRun.Status.SUCCEEDED
    assert (after_repull.newest_date, after_repull.last_success_at) == (None, None)
    assert stored(EAST) == truth(fake, EAST, start, fake.today)  # 81 days, not the 60 the hole left
    assert progress_of(config, EAST).newest_date == fake.today


@pytest.mark.django_db
def test_a_repull_after_runs_leaves_progress_and_the_revision_cutoff_alone(fake):
    config = make_configuration(fake, [EAST], start_date=dt.date(2026, 9, 1))
    run_inline(config)
    before = progress_of(config, EAST)
    fake.clock += dt.timedelta(days=2)

    run_inline(config, trigger=PullRun.Trigger.BACKFILL, range_start=dt.date(2026, 9, 10),
               range_end=dt.date(2026, 9, 20))  # fmt: skip

    after = progress_of(config, EAST)
    assert (after.newest_date, after.last_success_at, after.revisions_checked_at) == (
        before.newest_date, before.last_success_at, before.revisions_checked_at,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_run_resumed_hours_after_it_was_planned_asks_up_to_its_plan_and_the_next_run_takes_the_rest(fake):
    """Found by `make simulate` (a worker lost after a page, the janitor resuming it ten hours later): the oracle
    expected the late attempt to reach the newest value; the plan says the run's windows end at its creation."""
    config = make_configuration(fake, [EAST], start_date=dt.date(2026, 11, 19), data_type=CONTINUOUS)
    run = run_bookkeeping.start_run(config)
    planned = run.created_at
    fake.clock += dt.timedelta(hours=10)  # its batch waits, or is lost and resumed, for ten hours

    for number in run_bookkeeping.pending_batches(run.pk):
        smart_append.pull_batch(run.pk, number)

    zone = config.memberships.get().location.zone
    start = local_midnight(dt.date(2026, 11, 19), zone)
    assert progress_of(config, EAST).newest_time == truth(fake, EAST, start, planned, "continuous")[-1][0]
    run_inline(config)
    assert stored(EAST, "continuous") == truth(fake, EAST, start, fake.clock, "continuous")


# --- 2. Nothing before the start date; revisions anywhere within the range --------------------------------------


@pytest.mark.django_db
def test_a_daily_revision_before_the_start_date_is_never_stored(fake):
    start = dt.date(2026, 10, 1)
    config = make_configuration(fake, [EAST], start_date=start)
    run_inline(config)
    fake.clock += dt.timedelta(hours=3)
    fake.revise(EAST, start - dt.timedelta(days=10), 123.0, last_modified=fake.clock)
    fake.revise(EAST, start + dt.timedelta(days=3), 456.0, last_modified=fake.clock)

    run_inline(config)

    assert DailyValue.objects.filter(date__lt=start).count() == 0
    assert stored(EAST) == truth(fake, EAST, start, fake.today)
    assert DailyValue.objects.get(date=start + dt.timedelta(days=3)).value == 456.0


def _continuous_progress(fake, config, site, *, newest, checked, deep_checked):
    """Progress as a continuous append with years of history would have it, without loading those years."""
    location = config.memberships.get(location__monitoring_location_id=site).location
    progress = progress_of(config, site)
    progress.newest_time = newest
    progress.covered_from = config.start_date
    progress.revisions_checked_at = checked
    progress.deep_revisions_checked_at = deep_checked
    progress.save()
    return location


@pytest.mark.django_db
def test_a_continuous_revision_older_than_1000_days_lands_when_the_deep_check_is_due(fake, settings):
    fake.stations[0].continuous_begin = dt.date(2022, 1, 1)
    fake.series_of(EAST, "continuous").begin = dt.date(2022, 1, 1)
    config = make_configuration(fake, [EAST], start_date=dt.date(2022, 6, 1), data_type=CONTINUOUS)
    checked = fake.clock - dt.timedelta(hours=1)
    _continuous_progress(fake, config, EAST, newest=fake.clock - dt.timedelta(minutes=30), checked=checked,
                         deep_checked=checked - dt.timedelta(days=8))  # fmt: skip
    old = dt.datetime(2023, 1, 10, 15, 0, tzinfo=dt.UTC)  # ~1,400 days back, inside the range
    before_start = dt.datetime(2022, 5, 1, 15, 0, tzinfo=dt.UTC)
    fake.revise(EAST, old, 777.0, kind="continuous", last_modified=fake.clock - dt.timedelta(minutes=20))
    fake.revise(EAST, before_start, 888.0, kind="continuous", last_modified=fake.clock - dt.timedelta(minutes=20))
    fake.clock += dt.timedelta(minutes=10)

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    assert ContinuousValue.objects.get(time=old).value == 777.0
    assert not ContinuousValue.objects.filter(time__lt=local_midnight(dt.date(2022, 6, 1), None)).exists()
    revision_asks = [r.params["time"] for r in fake.requests if "last_modified" in r.params]
    assert len(revision_asks) == 2  # the whole range, in two pieces of at most 1000 days
    assert progress_of(config, EAST).deep_revisions_checked_at == fake.clock


@pytest.mark.django_db
def test_between_deep_checks_continuous_revisions_are_sought_in_the_last_1000_days_only(fake):
    fake.series_of(EAST, "continuous").begin = dt.date(2022, 1, 1)
    config = make_configuration(fake, [EAST], start_date=dt.date(2022, 6, 1), data_type=CONTINUOUS)
    checked = fake.clock - dt.timedelta(hours=1)
    _continuous_progress(fake, config, EAST, newest=fake.clock - dt.timedelta(minutes=30), checked=checked,
                         deep_checked=checked - dt.timedelta(days=1))  # fmt: skip
    fake.clock += dt.timedelta(minutes=10)

    run_inline(config)

    (asked,) = [r.params["time"] for r in fake.requests if "last_modified" in r.params]
    assert asked.startswith((fake.clock - dt.timedelta(days=1000)).strftime("%Y-%m-%dT"))
    progress = progress_of(config, EAST)
    assert progress.deep_revisions_checked_at == checked - dt.timedelta(days=1)  # not a deep check
    assert progress.revisions_checked_at == fake.clock


@pytest.mark.django_db
def test_a_start_date_moved_earlier_loads_the_new_early_range_on_the_next_run(fake):
    config = make_configuration(fake, [EAST], start_date=dt.date(2026, 10, 1))
    run_inline(config)
    config.start_date = dt.date(2026, 8, 15)
    config.save()
    fake.clock += dt.timedelta(days=1)

    run_inline(config)

    assert stored(EAST) == truth(fake, EAST, dt.date(2026, 8, 15), fake.today)


# --- 3. A member that is skipped or fails does not take its batch down -------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_member_removed_mid_fetch_leaves_the_rest_of_its_batch_exact_with_connections_closed(fake, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)  # Django's default: closed when obsolete
    connection.close()
    sites = [s.monitoring_location_id for s in fake.stations]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 11, 1))
    real_fetch = smart_append.fetch

    def fetch_then_remove(*args, **kwargs):
        real_fetch(*args, **kwargs)
        config.memberships.filter(location__monitoring_location_id=sites[0]).delete()

    monkeypatch.setattr(smart_append, "fetch", fetch_then_remove)

    run = run_inline(config)

    statuses = dict(run.stations.values_list("location__monitoring_location_id", "status"))
    assert statuses == {sites[0]: "skipped", sites[1]: "succeeded", sites[2]: "succeeded"}
    assert run.status == PullRun.Status.SUCCEEDED
    for site in sites[1:]:
        assert stored(site) == truth(fake, site, dt.date(2026, 11, 1), fake.today)


# --- 4. Time zones in one continuous re-pull ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_continuous_repull_gives_each_station_exactly_its_own_local_days(fake):
    config = make_configuration(fake, [EAST, WEST], start_date=dt.date(2026, 10, 1), data_type=CONTINUOUS)
    d1, d2 = dt.date(2026, 11, 10), dt.date(2026, 11, 11)

    run = run_inline(config, trigger=PullRun.Trigger.BACKFILL, range_start=d1, range_end=d2)

    assert run.status == PullRun.Status.SUCCEEDED
    for site in (EAST, WEST):
        zone = config.memberships.get(location__monitoring_location_id=site).location.zone
        first = local_midnight(d1, zone)
        last = local_midnight(d2 + dt.timedelta(days=1), zone) - dt.timedelta(seconds=1)
        assert stored(site, "continuous") == truth(fake, site, first, last, "continuous"), site


# --- 5. An overwrite never deletes, nor rolls back, what another configuration stored meanwhile ------------------


@pytest.mark.django_db
def test_an_overwrite_keeps_what_an_append_of_the_same_station_stored_while_it_fetched(fake, monkeypatch):
    append = make_configuration(fake, [EAST], start_date=dt.date(2026, 11, 1), data_type=CONTINUOUS)
    overwrite = make_configuration(fake, [EAST], start_date=dt.date(2026, 11, 1), data_type=CONTINUOUS,
                                   strategy=OVERWRITE)  # fmt: skip
    run_inline(append)
    real_fetch = smart_append.fetch
    revised = dt.datetime(2026, 11, 15, 6, 0, tzinfo=dt.UTC)

    def meanwhile(*args, **kwargs):
        real_fetch(*args, **kwargs)
        # While the overwrite waits to commit: time passes, USGS revises a value, and the append stores both.
        monkeypatch.setattr(smart_append, "fetch", real_fetch)
        fake.clock += dt.timedelta(hours=2)
        fake.revise(EAST, revised, 999.0, kind="continuous", last_modified=fake.clock)
        assert run_inline(append).status == PullRun.Status.SUCCEEDED

    monkeypatch.setattr(smart_append, "fetch", meanwhile)

    assert run_inline(overwrite).status == PullRun.Status.SUCCEEDED

    newest = progress_of(append, EAST).newest_time
    start = local_midnight(dt.date(2026, 11, 1), append.memberships.get().location.zone)
    assert newest > NOON + dt.timedelta(hours=1)
    assert stored(EAST, "continuous") == truth(fake, EAST, start, newest, "continuous")
    assert ContinuousValue.objects.get(time=revised).value == 999.0


@pytest.mark.django_db
def test_an_overwrite_replaces_only_up_to_the_end_it_asked_for(fake):
    config = make_configuration(fake, [EAST], start_date=dt.date(2026, 11, 1), strategy=OVERWRITE)
    run_inline(config)
    series = DailyValue.objects.filter(series__location__monitoring_location_id=EAST).first().series
    later = DailyValue.objects.create(series=series, date=fake.today + dt.timedelta(days=3), value=5.0)

    run_inline(config)

    assert DailyValue.objects.filter(pk=later.pk).exists()  # after the end it asked for: not the overwrite's


# --- 6. A batch waiting in the queue is not lost and never fails ---------------------------------------------------


@pytest.mark.django_db
def test_a_batch_waiting_for_hours_in_the_queue_is_resent_ever_less_often_and_never_failed(fake, monkeypatch):
    sent = []
    monkeypatch.setattr(janitor, "_send_batch", lambda run_id, number: sent.append(fake.clock))
    config = make_configuration(fake, [EAST], start_date=dt.date(2026, 11, 1))
    run = run_bookkeeping.start_run(config)
    start = fake.clock

    for _ in range(6 * 60):  # six hours of janitor passes, a minute apart
        fake.clock += dt.timedelta(minutes=1)
        janitor.janitor()

    batch = PullRunBatch.objects.get(run=run)
    assert batch.status == PullRunBatch.Status.PENDING and batch.resumes == 0
    assert run.stations.get().status == PullRunStation.Status.PENDING
    assert PullRun.objects.get(pk=run.pk).status == PullRun.Status.RUNNING
    minutes = [round((t - start).total_seconds() / 60) for t in sent]
    assert minutes == [16, 47, 108, 229]  # after 15 min of quiet, then 30, 60, 120 …


# --- 7. Every write of an attempt is fenced by the attempt ------------------------------------------------------


@pytest.mark.django_db
def test_a_superseded_attempt_neither_fails_nor_moves_the_live_attempts_members(fake):
    config = make_configuration(fake, [EAST, WEST], start_date=dt.date(2026, 11, 1))
    run = run_bookkeeping.start_run(config)
    old_batch, _ = run_bookkeeping.claim_batch(run.pk, 1, worker="old")
    old_events = BatchEvents(old_batch, 1)
    fake.clock += run_bookkeeping.station_silent_after() + dt.timedelta(minutes=1)
    janitor.janitor()  # presumed lost: back to pending, then claimed again
    live_batch, _ = run_bookkeeping.claim_batch(run.pk, 1, worker="live")
    assert live_batch.attempts == 2

    old_events.batch.pages_fetched = 99
    old_events._save_progress()
    smart_append._fail_unfinished(run, old_batch, "the old attempt's request failed", old_events)
    assert run_bookkeeping.release_batch(run.pk, 1, attempt=1) is False

    live = PullRunBatch.objects.get(pk=live_batch.pk)
    assert (live.status, live.attempts, live.pages_fetched, live.worker) == ("running", 2, 0, "live")
    assert set(run.stations.values_list("status", flat=True)) == {"running"}
    assert not StationProgress.objects.filter(configuration=config, consecutive_failures__gt=0).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("together", [True, False], ids=["as a set", "member by member"])
def test_the_commit_phase_beats_as_it_goes(fake, monkeypatch, together):
    config = make_configuration(
        fake, [s.monitoring_location_id for s in fake.stations], start_date=dt.date(2026, 11, 1)
    )
    if not together:
        monkeypatch.setattr(batch_commit, "commit_set", _set_unavailable)
    beats = []
    real_beat = BatchEvents.beat

    def beat(self):
        beats.append(self.phase)
        real_beat(self)

    monkeypatch.setattr(BatchEvents, "beat", beat)

    run_inline(config)

    set_commits = together and connection.vendor == "postgresql"
    assert beats.count("committing") == (1 if set_commits else 3)  # after the set, or after each member


def _set_unavailable(*args, **kwargs):
    raise batch_commit.SetCommitUnavailable("member by member")


# --- 8. The commit phase reads each member's rows through the stage's index -------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_members_read_of_the_stage_is_an_index_range_whatever_the_stage_holds(fake):
    from acquisition.usgs.parsers import Reading

    stage = BatchStage("continuous", batch_id=77, attempt=1)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for series in range(1, 41):
        stage.add(series, [Reading("x", t0 + dt.timedelta(minutes=15 * i), 1.0, [], "Approved", None)
                           for i in range(2000)])  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE acquisition_staged_continuous")
        cursor.execute(
            "EXPLAIN SELECT DISTINCT ON (time) series_id, time FROM acquisition_staged_continuous "
            f"WHERE {stage._mine(7)} ORDER BY time, id DESC"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "staged_cont_member" in plan and "Seq Scan" not in plan


# --- 9. The revision cutoff is USGS's clock, not the worker's ---------------------------------------------------


@pytest.mark.django_db
def test_a_worker_clock_two_hours_ahead_of_usgs_still_finds_every_revision(fake):
    config = make_configuration(fake, [EAST], start_date=dt.date(2026, 11, 1))
    fake.skew = dt.timedelta(hours=2)
    run_inline(config)
    fake.clock += dt.timedelta(minutes=10)
    day = dt.date(2026, 11, 5)
    fake.revise(EAST, day, 4320.0, last_modified=fake.clock)
    fake.clock += dt.timedelta(minutes=10)

    run_inline(config)

    assert DailyValue.objects.get(date=day).value == 4320.0
    assert progress_of(config, EAST).revisions_checked_at <= fake.clock


# --- the plan is one frozen object per member -------------------------------------------------------------------


def test_a_member_plan_is_frozen_and_keeps_only_its_own_rows():
    plan = planning.MemberPlan(True, dt.date(2026, 11, 5), dt.date(2026, 11, 9), dt.date(2026, 11, 1))

    with pytest.raises(AttributeError):
        plan.start = dt.date(2026, 1, 1)  # type: ignore[misc]
    assert [plan.keeps(dt.date(2026, 11, d), revision=False) for d in (4, 5, 9, 10)] == [False, True, True, False]
    assert [plan.keeps(dt.date(2026, 11, d), revision=True) for d in (1, 4, 10)] == [True, True, False]
