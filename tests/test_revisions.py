"""Revision history: every stored value a pull changes or removes leaves one entry in its store's RevisionSet,
written by the upsert itself — through storage, through a batch's stage, and through a real pull of the fake USGS
server."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from acquisition import storage
from acquisition.models import DailyValue, PullRun, RevisionSet
from acquisition.smart_append import run_inline
from acquisition.staging import BatchStage
from acquisition.storage import store_readings
from acquisition.usgs.parsers import Reading
from pulls.models import PullConfiguration
from stations.models import TimeSeries
from tests.acquisition_factories import make_configuration
from tests.factories import TimeSeriesFactory

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

LM = dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC)
SITE = "USGS-01646500"
START = dt.date(2026, 1, 1)


def daily(day: int, value: float | None = 10.0, quals=(), status: str | None = "Provisional") -> Reading:
    return Reading("ts", dt.date(2026, 10, day), value, list(quals), status, LM)


def instant(minute: int, value: float | None = 5.0, status: str = "Provisional") -> Reading:
    t = dt.datetime(2026, 10, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    return Reading("ts", t, value, [], status, LM)


def revisions(**filters) -> list:
    return list(RevisionSet.objects.filter(**filters).revisions())


def history(series) -> list[tuple]:
    rows = sorted(revisions(series=series), key=lambda r: r.when)
    return [
        (r.when, r.change, r.old_value, r.new_value, r.old_approval, r.new_approval, r.old_qualifiers, r.new_qualifiers)
        for r in rows
    ]


@pytest.fixture
def series(db):
    return TimeSeriesFactory(kind=TimeSeries.Kind.DAILY)


@pytest.fixture
def cseries(db):
    return TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS)


def test_a_first_load_records_no_revisions(series):
    store_readings("daily", series.pk, [daily(1), daily(2)])
    store_readings("daily", series.pk, [daily(3)])  # a stored neighbour: the upsert path, still only inserts

    assert len(revisions()) == 0


def test_each_changed_value_leaves_one_entry_with_its_old_and_new_state(series):
    store_readings("daily", series.pk, [daily(1), daily(2), daily(3), daily(4)])
    run = PullRun.objects.create(configuration_name="x", data_type="daily_mean", strategy="append")

    counts = store_readings(
        "daily",
        series.pk,
        [daily(1), daily(2, 12.5), daily(3, status="Approved"), daily(4, quals=["ICE"]), daily(5)],
        run_id=run.pk,
    )

    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 3, 1)
    assert history(series) == [
        (dt.date(2026, 10, 2), "value", 10.0, 12.5, "Provisional", "Provisional", [], []),
        (dt.date(2026, 10, 3), "approval", 10.0, 10.0, "Provisional", "Approved", [], []),
        (dt.date(2026, 10, 4), "qualifiers", 10.0, 10.0, "Provisional", "Provisional", [], ["ICE"]),
    ]
    assert {r.run_id for r in revisions()} == {run.pk}
    assert all(r.changed_at is not None and r.time is None for r in revisions())


def test_a_value_revised_and_approved_at_once_is_a_value_revision(series):
    store_readings("daily", series.pk, [daily(1), daily(2)])

    store_readings("daily", series.pk, [daily(1, 11.0, status="Approved"), daily(2, None)])

    assert history(series) == [
        (dt.date(2026, 10, 1), "value", 10.0, 11.0, "Provisional", "Approved", [], []),
        (dt.date(2026, 10, 2), "value", 10.0, None, "Provisional", "Provisional", [], []),
    ]


def test_an_unchanged_rerun_records_nothing(series):
    store_readings("daily", series.pk, [daily(1), daily(2, None), daily(3, quals=["ICE"])])

    store_readings("daily", series.pk, [daily(1), daily(2, None), daily(3, quals=["ICE"])])

    assert len(revisions()) == 0


def test_an_overwrite_records_what_it_removes(series):
    store_readings("daily", series.pk, [daily(1), daily(2, 3.0, ["ICE"]), daily(3)])

    counts = store_readings(
        "daily", series.pk, [daily(1), daily(3)], replace=(dt.date(2026, 10, 1), dt.date(2026, 10, 3))
    )

    assert counts.deleted == 1
    assert history(series) == [(dt.date(2026, 10, 2), "removed", 3.0, None, "Provisional", None, ["ICE"], None)]


def test_continuous_revisions_carry_the_instant(cseries):
    store_readings("continuous", cseries.pk, [instant(0), instant(5), instant(10)])

    store_readings("continuous", cseries.pk, [instant(0), instant(5, 6.0), instant(10)])

    (row,) = revisions(series=cseries)
    assert (row.time, row.date, row.old_value, row.new_value) == (
        dt.datetime(2026, 10, 1, 0, 5, tzinfo=dt.UTC),
        None,
        5.0,
        6.0,
    )


def test_a_batch_stage_records_revisions_of_its_member_with_the_run(series):
    store_readings("daily", series.pk, [daily(1), daily(2)])
    run = PullRun.objects.create(configuration_name="x", data_type="daily_mean", strategy="append")
    stage = BatchStage("daily", batch_id=1, attempt=1)
    stage.add(series.pk, [daily(2, 20.0)])
    stage.add(series.pk, [daily(2, 30.0)])  # the later arrival wins, and is the one recorded

    stage.store(series.pk, run_id=run.pk)

    assert history(series) == [(dt.date(2026, 10, 2), "value", 10.0, 30.0, "Provisional", "Provisional", [], [])]
    assert [r.run_id for r in revisions()] == [run.pk]


def test_switched_off_the_upsert_records_nothing(series, monkeypatch):
    monkeypatch.setattr(storage, "RECORD_REVISIONS", False)
    store_readings("daily", series.pk, [daily(1), daily(2)])

    counts = store_readings("daily", series.pk, [daily(1, 2.0)], replace=(dt.date(2026, 10, 1), dt.date(2026, 10, 2)))

    assert (counts.updated, counts.deleted) == (1, 1) and len(revisions()) == 0


@pytest.mark.postgres
def test_on_postgresql_the_history_is_written_by_the_upsert_statement_itself(series):
    """No second pass: one statement merges and records (the CTE's old row is the one the upsert replaced)."""
    store_readings("daily", series.pk, [daily(1), daily(2)])
    recorder = _Recorder()
    with connection.execute_wrapper(recorder):
        store_readings("daily", series.pk, [daily(1, 2.0), daily(2)])
    writes = [sql for sql in recorder.calls if "INSERT INTO acquisition_revisionset" in sql]
    assert len(writes) == 1 and "ON CONFLICT" in writes[0]
    assert [r.old_value for r in revisions()] == [10.0]


class _Recorder:
    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.calls.append(sql)
        return execute(sql, params, many, context)


# --- Through a real pull ----------------------------------------------------------------------------------


def test_a_revised_provisional_value_landing_through_a_pull_leaves_exactly_one_history_entry(fake_usgs):
    config = make_configuration(fake_usgs, [SITE], start_date=START)
    run_inline(config)
    day = dt.date(2026, 10, 2)  # provisional (within 120 days of the fake's today)
    old = DailyValue.objects.get(series__location__monitoring_location_id=SITE, date=day)
    assert old.approval_status == "Provisional"

    fake_usgs.today += dt.timedelta(days=1)  # the day 120 days back turns Approved: an approval, not a revision
    fake_usgs.revise(SITE, day, 4250.0, last_modified=timezone.now())
    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED and run.values_updated == len(revisions())
    (revision,) = [r for r in revisions() if r.change == "value"]
    assert (revision.date, revision.change, revision.old_value, revision.new_value) == (day, "value", old.value, 4250.0)
    assert (revision.old_approval, revision.new_approval) == ("Provisional", "Provisional")
    assert revision.run_id == run.pk and revision.series_id == old.series_id

    entries = len(revisions())
    again = run_inline(config)  # nothing changed upstream

    assert again.status == PullRun.Status.SUCCEEDED and again.values_updated == 0
    assert len(revisions()) == entries


def test_an_approval_transition_through_a_pull_counts_as_one(fake_usgs, client, operator):
    config = make_configuration(fake_usgs, [SITE], start_date=START)
    run_inline(config)
    first_provisional = fake_usgs.today - dt.timedelta(days=120)
    assert DailyValue.objects.get(date=first_provisional).approval_status == "Provisional"

    fake_usgs.approve_through(SITE, first_provisional, timezone.now())
    run = run_inline(config)

    (revision,) = revisions(run=run)
    assert (revision.date, revision.change) == (first_provisional, "approval")
    assert (revision.old_approval, revision.new_approval) == ("Provisional", "Approved")
    assert revision.old_value == revision.new_value
    client.force_login(operator)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "0 values revised, 1 approved" in page


def test_an_overwrite_pull_records_its_revision_and_what_it_removed(fake_usgs):
    config = make_configuration(fake_usgs, [SITE], start_date=START, strategy=PullConfiguration.Strategy.OVERWRITE)
    run_inline(config)
    series = TimeSeries.objects.get(time_series_id=fake_usgs.primary_series_id(SITE))
    gone = fake_usgs.today + dt.timedelta(days=1)  # in the replaced range (to the run's date), unknown to USGS
    DailyValue.objects.create(series=series, date=gone, value=1.0)
    before = DailyValue.objects.get(series=series, date=dt.date(2026, 2, 2)).value
    fake_usgs.revise(SITE, dt.date(2026, 2, 2), 55.5, last_modified=timezone.now())

    run = run_inline(config)

    rows = sorted((r.date, r.change, r.old_value, r.new_value) for r in revisions(run=run))
    assert [r[:2] for r in rows] == [(dt.date(2026, 2, 2), "value"), (gone, "removed")]
    assert rows[0][2:] == (before, 55.5)
    assert rows[1][2:] == (1.0, None)


# --- One set a store ---------------------------------------------------------------------------------------


def test_one_store_leaves_one_set_holding_every_change_it_made(series):
    store_readings("daily", series.pk, [daily(d) for d in range(1, 11)])
    changed = [daily(1, 1.0), daily(2, 2.0, status="Approved"), daily(3, status="Approved"), daily(4, quals=["ICE"])]

    store_readings("daily", series.pk, [*changed, *(daily(d) for d in range(5, 11))])

    (revision_set,) = RevisionSet.objects.all()
    assert revision_set.size == 4 and sorted(revision_set.changes) == ["a", "q", "v", "v"]
    assert (revision_set.revised, revision_set.approved) == (2, 2)
    assert [r.when for r in revision_set.entries()] == [dt.date(2026, 10, d) for d in (4, 3, 2, 1)]


def test_an_overwrite_records_its_changes_and_its_removals_apart(series):
    store_readings("daily", series.pk, [daily(1), daily(2), daily(3)])

    store_readings("daily", series.pk, [daily(1, 5.0)], replace=(dt.date(2026, 10, 1), dt.date(2026, 10, 3)))

    sets = sorted(RevisionSet.objects.all(), key=lambda s: s.changes)
    assert [s.changes for s in sets] == ["rr", "v"]
    assert [(s.revised, s.approved) for s in sets] == [(0, 0), (1, 0)]


@pytest.mark.parametrize("old", [0.1 + 0.2, 1.7976931348623157e308, 5e-324, -123456.78901234567])
def test_old_and_new_values_come_back_exactly(series, old):
    store_readings("daily", series.pk, [daily(1, old)])

    store_readings("daily", series.pk, [daily(1, float("inf"))])

    (revision,) = revisions()
    assert (revision.old_value, revision.new_value) == (old, float("inf"))


def test_the_revision_list_filters_sets_by_the_kind_of_change(series):
    store_readings("daily", series.pk, [daily(1), daily(2)])
    store_readings("daily", series.pk, [daily(1, 3.0), daily(2)])
    store_readings("daily", series.pk, [daily(1, 3.0), daily(2, status="Approved")])

    approvals = list(RevisionSet.objects.filter(series=series).revisions("approval"))

    assert [(r.when, r.change) for r in approvals] == [(dt.date(2026, 10, 2), "approval")]
    assert RevisionSet.objects.with_change("approval").count() == 1
    assert [r.change for r in RevisionSet.objects.revisions()] == ["approval", "value"]  # newest set first


def test_a_daily_store_across_years_leaves_one_set_read_newest_first(series):
    days = [dt.date(2024, 12, 30), dt.date(2024, 12, 31), dt.date(2025, 1, 1), dt.date(2026, 6, 1)]
    store_readings("daily", series.pk, [Reading("ts", d, 1.0, [], "Provisional", LM) for d in days])

    store_readings("daily", series.pk, [Reading("ts", d, 2.0, [], "Provisional", LM) for d in days])

    (revision_set,) = RevisionSet.objects.all()
    assert sorted(revision_set.dates) == days
    assert [r.when for r in RevisionSet.objects.revisions()] == days[::-1]


def test_continuous_sets_span_a_month_the_newest_with_the_highest_id(cseries):
    times = [
        dt.datetime(2026, 9, 30, 23, 55, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 1, 0, 5, tzinfo=dt.UTC),
    ]
    store_readings("continuous", cseries.pk, [Reading("ts", t, 1.0, [], "Provisional", LM) for t in times])

    store_readings("continuous", cseries.pk, [Reading("ts", t, 2.0, [], "Provisional", LM) for t in times])

    assert [sorted(s.times) for s in RevisionSet.objects.order_by("id")] == [times[:1], times[1:]]
    assert [r.when for r in RevisionSet.objects.revisions()] == times[::-1]
