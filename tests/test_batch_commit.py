"""A batch commits as a set on PostgreSQL (issue 25): one transaction, a constant number of statements whatever the
batch's size, each member still exact; a set that fails falls back to member-by-member commits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acquisition import smart_append
from acquisition.models import DailyValue, PullLogEntry, PullRun, PullRunStation, RevisionSet
from acquisition.smart_append import run_inline
from pulls.models import StationProgress
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
START = dt.date(2026, 11, 1)


@pytest.fixture
def fake(settings):
    fake = FakeUSGS(
        stations=[
            FakeStation(f"USGS-{60000000 + i:08d}", f"SET CREEK {i} NR SOMEWHERE PA", daily_begin=dt.date(2026, 9, 1))
            for i in range(40)
        ]
    )
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    yield fake
    fake.stop()


def sites(fake, n):
    return [s.monitoring_location_id for s in fake.stations[:n]]


def stored(site):
    rows = DailyValue.objects.filter(series__location__monitoring_location_id=site).order_by("date")
    return [(r.date, r.value, r.qualifiers, r.approval_status) for r in rows]


def truth(fake, site):
    return [(e["time"], e["value"], e["qualifiers"], e["approval_status"]) for e in
            fake.expected_daily(site, START, fake.today)]  # fmt: skip


def commit_statements(monkeypatch, config) -> int:
    """Statements of the commit phase of one incremental run of `config` (a day later, with a revision pass)."""
    counted = []
    real = smart_append._commit_members

    def counting(*args, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            real(*args, **kwargs)
        counted.append(len(queries))

    monkeypatch.setattr(smart_append, "_commit_members", counting)
    run = run_inline(config)
    assert run.status == PullRun.Status.SUCCEEDED
    return counted[0]


def test_a_batch_commits_in_as_many_statements_for_30_members_as_for_3(fake, monkeypatch):
    small = make_configuration(fake, sites(fake, 3), start_date=START)
    large = make_configuration(fake, sites(fake, 30)[3:], start_date=START)
    run_inline(small), run_inline(large)
    fake.today += dt.timedelta(days=1)

    assert commit_statements(monkeypatch, small) == commit_statements(monkeypatch, large)
    for site in sites(fake, 30):
        assert stored(site) == truth(fake, site)
    assert not PullLogEntry.objects.filter(message__contains="one by one").exists()


def test_each_member_of_a_set_keeps_its_own_counts_progress_and_revisions(fake):
    config = make_configuration(fake, sites(fake, 5), start_date=START)
    run_inline(config)
    fake.today += dt.timedelta(days=1)
    for site in sites(fake, 2):
        fake.revise(site, dt.date(2026, 11, 3), 777.0, last_modified=fake.clock)

    run = run_inline(config)

    by_site = {s.location.monitoring_location_id: s for s in run.stations.select_related("location")}
    for site in sites(fake, 5):
        row = by_site[site]
        assert (row.status, row.values_inserted) == (PullRunStation.Status.SUCCEEDED, 1)
        assert row.values_received == row.values_inserted + row.values_updated + row.values_unchanged
        assert StationProgress.objects.get(configuration=config, location=row.location).newest_date == fake.today
        assert stored(site) == truth(fake, site)
    revised = {r.series.location.monitoring_location_id for r in RevisionSet.objects.filter(run=run, revised__gt=0)}
    assert revised == set(sites(fake, 2))
    assert run.values_inserted == 5 and run.values_updated == sum(s.values_updated for s in by_site.values())


def test_a_member_that_breaks_the_set_fails_alone_and_every_other_member_commits(fake):
    config = make_configuration(fake, sites(fake, 6), start_date=START)
    run_inline(config)
    bad = sites(fake, 6)[2]
    before = stored(bad)
    fake.today += dt.timedelta(days=1)
    series_pk = DailyValue.objects.filter(series__location__monitoring_location_id=bad).first().series_id
    with connection.cursor() as cursor:  # a row of that one series cannot be written: the set fails as a whole
        cursor.execute(f"""
            CREATE FUNCTION refuse_one() RETURNS trigger AS $$
            BEGIN IF NEW.series_id = {series_pk} THEN RAISE EXCEPTION 'disk full for series %', NEW.series_id;
            END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_one BEFORE INSERT OR UPDATE ON {DailyValue._meta.db_table}
              FOR EACH ROW EXECUTE FUNCTION refuse_one();
        """)  # fmt: skip

    run = run_inline(config)

    statuses = dict(run.stations.values_list("location__monitoring_location_id", "status"))
    assert statuses.pop(bad) == PullRunStation.Status.FAILED
    assert set(statuses.values()) == {PullRunStation.Status.SUCCEEDED}
    assert run.status == PullRun.Status.PARTIAL
    assert stored(bad) == before  # its data untouched
    assert StationProgress.objects.get(configuration=config, location__monitoring_location_id=bad).newest_date < (
        fake.today
    )
    for site in statuses:
        assert stored(site) == truth(fake, site)
    assert PullLogEntry.objects.filter(run=run, message__contains="committing them one by one").exists()


def tallies(series_pk) -> list[tuple]:
    from acquisition.tally_models import QualityEvent, QualityMonth

    months = QualityMonth.objects.filter(series_id=series_pk).order_by("month")
    events = QualityEvent.objects.filter(series_id=series_pk).order_by("start_t", "kind")
    return [(m.month, m.stored, m.present, m.missing, m.approved) for m in months] + [
        (e.kind, e.start_t, e.end_t, e.count) for e in events
    ]


def test_a_set_commit_leaves_its_changes_to_the_quality_backlog_whose_refresh_equals_a_rebuild(fake):
    from django.core.management import call_command

    from acquisition.tallies import refresh_backlog
    from acquisition.tally_models import QualityBacklog

    config = make_configuration(fake, sites(fake, 4), start_date=START)
    run_inline(config, refresh_quality=False)
    series = sorted(StationProgress.objects.filter(configuration=config).values_list("time_series_id", flat=True))
    assert sorted(QualityBacklog.objects.values_list("series_id", flat=True)) == series
    fake.today += dt.timedelta(days=3)
    fake.revise(sites(fake, 1)[0], dt.date(2026, 11, 2), None, last_modified=fake.clock)  # a value goes missing
    run_inline(config, refresh_quality=False)

    assert refresh_backlog() == len(series)

    assert not QualityBacklog.objects.exists()
    kept = {pk: tallies(pk) for pk in series}
    call_command("rebuild_quality_tallies")
    assert {pk: tallies(pk) for pk in series} == kept and all(kept.values())


def test_every_merge_plans_with_what_the_stage_really_holds(fake):
    """A stage's statistics lag behind its churn; taken for one row, it made the planner loop over a quarter of
    stored values once per staged row (minutes in the simulation). A set commit analyzes the stage first (then the
    planner picks index probes at scale, a hash join when small); a member's merge, bounded to one series' span,
    runs with nested loops off and gives the setting back right after."""
    config = make_configuration(fake, sites(fake, 3), start_date=START)

    with CaptureQueriesContext(connection) as captured:
        run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    sql = [q["sql"] for q in captured]
    merges = [i for i, s in enumerate(sql) if " cur ON cur.series_id = " in s]
    assert merges
    for i in merges:
        if " cur ON cur.series_id = s.series_id" in sql[i]:  # the set commit
            assert any(q.startswith("ANALYZE acquisition_staged_") for q in sql[:i])
        else:  # one member's merge
            assert "set_config('enable_nestloop', 'off', true)" in sql[i - 1], sql[i - 1]
            assert "set_config('enable_nestloop'," in sql[i + 1] and "'off'" not in sql[i + 1], sql[i + 1]
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_nestloop")
        assert cursor.fetchone()[0] == "on"
