"""Continuous values partitioned by month on PostgreSQL (acquisition/partitions.py, migration 0015): the migration
keeps every row both ways, the beat task creates months ahead and /health/ fails without the coming one, writes
create the months they need, and every page that reads a bounded range reads only that range's partitions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acquisition import partitions
from acquisition.models import ContinuousValue
from acquisition.storage import store_readings
from acquisition.tallies import refresh_tallies
from acquisition.tasks import ensure_partitions
from acquisition.usgs.parsers import Reading
from monitoring.export import values_in_range
from stations.models import TimeSeries
from tests.conftest import ensure_test_partitions
from tests.factories import TimeSeriesFactory, UserFactory
from tests.monitoring_factories import continuous_series_with_values

BEFORE = [("acquisition", "0015_series_normals_pct")]
AFTER = [("acquisition", "0016_continuous_partitioned_by_month")]
TABLE = ContinuousValue._meta.db_table
PARTITION = re.compile(rf"{TABLE}_p(\d{{4}})_(\d{{2}})")
COLUMNS = ("series_id", "time", "value", "qualifiers", "approval_status", "last_modified")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0014():
    apps = migrate(BEFORE)
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ensure_test_partitions()


def _old_rows(series_pks: list[int]) -> list[tuple]:
    rows = []
    # Month edges, odd instants and years apart: each must land in (and come back from) its own month.
    instants = [
        dt.datetime(2019, 3, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2019, 4, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 2, 29, 12, 7, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 23, 45, tzinfo=dt.UTC),
    ]
    for n, pk in enumerate(series_pks):
        for i, when in enumerate(instants):
            value = None if i == 2 else 10.0 * n + i + 0.125
            qualifiers = ["ICE", "e"] if i == 1 else []
            modified = when + dt.timedelta(days=1) if i % 2 else None
            rows.append((pk, when, value, qualifiers, "Approved" if i < 2 else "Provisional", modified))
    return rows


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_row_both_ways(at_0014):
    series = [TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS).pk for _ in range(3)]
    Old = at_0014.get_model("acquisition", "ContinuousValue")
    expected = _old_rows(series)
    Old.objects.bulk_create([Old(**dict(zip(COLUMNS, r, strict=True))) for r in expected])
    assert Old.objects.count() == len(expected) and "id" in {f.name for f in Old._meta.fields}

    New = migrate(AFTER).get_model("acquisition", "ContinuousValue")

    assert sorted(New.objects.values_list(*COLUMNS), key=repr) == sorted(expected, key=repr)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT relkind FROM pg_class WHERE relname = '{TABLE}'")
            assert cursor.fetchone()[0] == "p"
            cursor.execute(f"SELECT tableoid::regclass::text, time FROM {TABLE}")
            for partition, when in cursor.fetchall():
                assert partition == partitions.partition_name(partitions.month_start(when))
        assert dt.date(2019, 3, 1) in partitions.existing() and dt.date(2026, 11, 1) in partitions.existing()

    back = migrate(BEFORE).get_model("acquisition", "ContinuousValue")

    assert sorted(back.objects.values_list(*COLUMNS), key=repr) == sorted(expected, key=repr)
    assert not partitions.is_partitioned()
    back.objects.create(series_id=series[0], time=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))  # ids are generated again


@pytest.mark.postgres
@pytest.mark.django_db
def test_beat_creates_the_months_ahead_and_health_fails_without_the_coming_one(client):
    client.force_login(UserFactory(username="pat-staff", is_staff=True))
    now = dt.datetime.now(dt.UTC)
    coming = partitions.next_month(partitions.month_start(now))
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{partitions.partition_name(coming)}"')

    body = client.get("/health/").json()

    assert body["checks"]["partitions"]["ok"] is False and "partitions" in body["failing"]
    assert f"{coming:%Y-%m}" in body["checks"]["partitions"]["error"]

    created = ensure_partitions()

    assert created == [partitions.partition_name(coming)]
    assert client.get("/health/").json()["checks"]["partitions"] == {"ok": True}
    assert ensure_partitions() == []  # nothing left to create


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_write_creates_the_months_it_needs():
    series = TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS)
    old = dt.datetime(2009, 6, 30, 23, 45, tzinfo=dt.UTC)  # before any partition the test database has
    assert partitions.month_start(old) not in partitions.existing()
    readings = [Reading("ts", old + dt.timedelta(minutes=15 * i), 1.0 + i, [], "Approved", None) for i in range(3)]

    counts = store_readings("continuous", series.pk, readings)

    assert (counts.inserted, counts.updated) == (3, 0)
    assert {dt.date(2009, 6, 1), dt.date(2009, 7, 1)} <= set(partitions.existing())
    assert ContinuousValue.objects.filter(series=series).count() == 3
    changed = store_readings("continuous", series.pk, [readings[0]._replace(value=9.0), *readings[1:]])
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)


def _partitions_read(sql: str) -> set[dt.date]:
    """The months whose partitions the plan of `sql` reads."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {dt.date(int(y), int(m), 1) for y, m in PARTITION.findall(plan)}


def _reads(queries) -> list[str]:
    return [q["sql"] for q in queries if TABLE in q["sql"] and not q["sql"].lstrip().upper().startswith("EXPLAIN")]


def _classify(queries, allowed: set[dt.date], name: str) -> tuple[int, int]:
    """(statements that read only the `allowed` months, LIMIT-ed lookups of one value); fails on any other."""
    bounded = lookups = 0
    for sql in _reads(queries):
        read = _partitions_read(sql)
        if read <= allowed:
            bounded += 1
        else:
            # A lookup of one value on one side (the extent's first and last, "is there a value before the
            # range", the nearest value past a bound): LIMIT-ed, it reads one index entry a partition until one
            # holds it. The one kind of read that still touches other months: README, Scale.
            assert re.search(r"LIMIT \d+$", sql), (name, sorted(read), sql)
            lookups += 1
    return bounded, lookups


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_bounded_read_of_values_reads_only_its_months(viewer_client):
    """Five months of hourly values (2025-01 .. 2025-05); pages asked for 2025-02-10 .. 2025-03-20 read February
    and March (the station's local days may reach a few hours into the next month: April at most)."""
    series = continuous_series_with_values(24 * 150, start=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), step_minutes=60)
    start, end = dt.date(2025, 2, 10), dt.date(2025, 3, 20)
    allowed = {dt.date(2025, 2, 1), dt.date(2025, 3, 1)}
    site = series.location.monitoring_location_id
    pages = {
        "hydrograph": (reverse("monitoring:station_data", args=[site]), {"kind": "continuous"}),
        "quality": (reverse("monitoring:station_quality", args=[site]), {"kind": "continuous"}),
    }
    for name, (url, params) in pages.items():
        with CaptureQueriesContext(connection) as captured:
            response = viewer_client.get(url, {**params, "start": start.isoformat(), "end": end.isoformat()})
        assert response.status_code == 200, name
        bounded, lookups = _classify(captured.captured_queries, allowed, name)
        assert bounded >= 1 and lookups <= 6, (name, bounded, lookups)

    export = values_in_range(series, start, end).values_list("time", "value", "approval_status", "qualifiers")
    sql, params = export.query.sql_with_params()
    with connection.cursor() as cursor:
        assert _partitions_read(cursor.mogrify(sql, params)) == allowed

    with CaptureQueriesContext(connection) as captured:
        refresh_tallies(
            "continuous", series.pk, dt.datetime(2025, 3, 5, tzinfo=dt.UTC), dt.datetime(2025, 3, 6, tzinfo=dt.UTC)
        )
    bounded, lookups = _classify(captured.captured_queries, {dt.date(2025, m, 1) for m in (2, 3, 4)}, "tallies")
    assert bounded >= 1 and lookups <= 6, (bounded, lookups)

    with CaptureQueriesContext(connection) as captured:
        readings = [Reading("ts", dt.datetime(2025, 3, 9, h, tzinfo=dt.UTC), 5.0, [], "Approved", None) for h in (1, 2)]
        assert store_readings("continuous", series.pk, readings).updated == 2
    merges = [sql for sql in _reads(captured.captured_queries) if "ON CONFLICT" in sql]
    assert merges and all(_partitions_read(sql) == {dt.date(2025, 3, 1)} for sql in merges)


@pytest.mark.django_db
def test_retention_drops_whole_months_of_continuous_values_never_daily_ones(settings):
    from acquisition.models import DailyValue
    from acquisition.tally_models import QualityMonth

    now = dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    series = TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS)
    daily = TimeSeriesFactory(location=series.location)
    instants = [dt.datetime(2025, 11, 30, 23, 45, tzinfo=dt.UTC), dt.datetime(2025, 12, 1, tzinfo=dt.UTC), now]
    store_readings("continuous", series.pk, [Reading("ts", t, 1.5, [], "Approved", None) for t in instants])
    store_readings("daily", daily.pk, [Reading("ts", dt.date(2000, 1, 1), 2.5, [], "Approved", None)])
    for month in (dt.date(2025, 11, 1), dt.date(2025, 12, 1)):
        QualityMonth.objects.create(series=series, month=month, stored=1, present=1)
    QualityMonth.objects.create(series=daily, month=dt.date(2000, 1, 1), stored=1, present=1)

    settings.CONTINUOUS_RETENTION_YEARS = 0
    assert partitions.drop_expired(now) == [] and ContinuousValue.objects.count() == 3  # 0: every value kept

    settings.CONTINUOUS_RETENTION_YEARS = 1
    gone = partitions.drop_expired(now)

    assert gone
    assert sorted(ContinuousValue.objects.values_list("time", flat=True)) == instants[1:]
    assert DailyValue.objects.filter(series=daily).count() == 1  # the daily record is never dropped
    assert sorted(QualityMonth.objects.values_list("series_id", "month")) == sorted(
        [(series.pk, dt.date(2025, 12, 1)), (daily.pk, dt.date(2000, 1, 1))]
    )
    if partitions.is_partitioned():  # by partition, not row by row
        assert partitions.partition_name(dt.date(2025, 11, 1)) in gone
        assert dt.date(2025, 11, 1) not in partitions.existing()
        assert dt.date(2025, 12, 1) in partitions.existing()
    assert partitions.drop_expired(now) == []  # nothing left to drop


@pytest.mark.django_db
def test_the_configuration_page_says_how_long_continuous_values_are_kept(viewer_client, settings):
    from tests.factories import PullConfigurationFactory

    continuous = PullConfigurationFactory(data_type="continuous")
    daily = PullConfigurationFactory()

    settings.CONTINUOUS_RETENTION_YEARS = 2
    kept = viewer_client.get(reverse("pulls:detail", args=[continuous.pk])).content.decode()
    settings.CONTINUOUS_RETENTION_YEARS = 0
    forever = viewer_client.get(reverse("pulls:detail", args=[continuous.pk])).content.decode()
    daily_page = viewer_client.get(reverse("pulls:detail", args=[daily.pk])).content.decode()

    assert "The last 2 years of continuous values" in kept and "daily values are always kept" in kept
    assert "Every value, however old" in forever and "The last" not in forever
    assert 'id="retention"' not in daily_page
