"""The monthly partitions of the continuous values table on PostgreSQL (DESIGN note in README "Scale").

`acquisition_continuousvalue` is partitioned by RANGE of `time`, one partition a UTC calendar month, named
`acquisition_continuousvalue_pYYYY_MM` (migration 0015 converts an existing table). There is no DEFAULT partition: a
value whose month has no partition would land there, and from then on creating that month's partition fails (its
rows would have to be moved out of the default first, under a lock of the whole table). Instead:

- the beat task `acquisition.tasks.ensure_partitions` keeps the current month and the next
  `CONTINUOUS_PARTITIONS_AHEAD` months created, and `/health/` fails when the coming month has none;
- every write of continuous values first ensures the months it writes (`ensure_for`): a backfill of 2008 creates
  2008's months on the way. Creating one is `CREATE TABLE … (LIKE …)` plus `ATTACH PARTITION`, which takes only a
  SHARE UPDATE EXCLUSIVE lock on the parent, so pages reading other months are never blocked by it.

Retention (`CONTINUOUS_RETENTION_YEARS`): `drop_expired` drops the partitions of whole months older than the last N
years (rows on SQLite), never a daily value.

SQLite (`make run`) keeps one plain table; every function here but `drop_expired` does nothing there.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction

from acquisition.models import ContinuousValue

LOCK_SPACE = 7303  # pg_advisory_xact_lock(LOCK_SPACE, 0): one creator of partitions at a time


def table() -> str:
    return ContinuousValue._meta.db_table


def month_start(when: dt.date | dt.datetime) -> dt.date:
    if isinstance(when, dt.datetime):
        when = when.astimezone(dt.UTC) if when.tzinfo else when
    return dt.date(when.year, when.month, 1)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(low: dt.date | dt.datetime, high: dt.date | dt.datetime) -> list[dt.date]:
    """The first days of every month from low's to high's, both included."""
    month, last, out = month_start(low), month_start(high), []
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def partition_name(month: dt.date) -> str:
    return f"{table()}_p{month:%Y_%m}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table()])
        row = cursor.fetchone()
    return bool(row and row[0])


def existing(cursor=None) -> dict[dt.date, str]:
    """month -> partition name, from the catalog."""
    if connection.vendor != "postgresql":
        return {}

    def read(c):
        c.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table()],
        )
        found = {}
        prefix = f"{table()}_p"
        for (name,) in c.fetchall():
            if name.startswith(prefix):
                year, month = name.removeprefix(prefix).split("_")
                found[dt.date(int(year), int(month), 1)] = name
        return found

    if cursor is not None:
        return read(cursor)
    with connection.cursor() as c:
        return read(c)


def ensure(wanted: list[dt.date], cursor=None) -> list[str]:
    """Create the partitions of the months `wanted` that do not exist yet; return the names created. In the
    caller's transaction when there is one (a write creates its months with its rows, and a rollback removes both)."""
    if connection.vendor != "postgresql" or not wanted:
        return []
    if cursor is None:
        with connection.cursor() as c:
            return ensure(wanted, c)
    names = {m: partition_name(m) for m in wanted}
    # The common case, every month there already: one look at the catalog, no lock.
    cursor.execute(
        "SELECT count(*) FROM pg_class WHERE relname = ANY(%s) AND relnamespace = current_schema()::regnamespace",
        [list(names.values())],
    )
    if cursor.fetchone()[0] == len(names):
        return []
    cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_SPACE])
    have = existing(cursor)
    created = []
    parent = table()
    for month, name in sorted(names.items()):
        if month in have:
            continue
        lo, hi = month, next_month(month)
        # LIKE, then ATTACH: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent where CREATE … PARTITION OF takes
        # ACCESS EXCLUSIVE (readers of every other month would wait for this transaction). The CHECK lets ATTACH
        # skip its scan; it is dropped once attached (the partition bound says the same).
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{parent}" INCLUDING DEFAULTS)')
        cursor.execute(
            f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_bound" '
            f"CHECK (time >= '{lo.isoformat()} 00:00:00+00' AND time < '{hi.isoformat()} 00:00:00+00')"
        )
        cursor.execute(
            f'ALTER TABLE "{parent}" ATTACH PARTITION "{name}" '
            f"FOR VALUES FROM ('{lo.isoformat()} 00:00:00+00') TO ('{hi.isoformat()} 00:00:00+00')"
        )
        cursor.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{name}_bound"')
        created.append(name)
    return created


def ensure_for(cursor, low, high) -> list[str]:
    """Before a write of continuous values with times in [low, high]: their months' partitions."""
    if connection.vendor != "postgresql" or low is None or high is None:
        return []
    return ensure(months(low, high), cursor)


def ensure_ahead(now: dt.datetime | None = None) -> list[str]:
    """The beat task's work: the current month and CONTINUOUS_PARTITIONS_AHEAD months after it."""
    if not is_partitioned():
        return []
    now = now or dt.datetime.now(dt.UTC)
    first = month_start(now)
    last = first
    for _ in range(settings.CONTINUOUS_PARTITIONS_AHEAD):
        last = next_month(last)
    return ensure(months(first, last))


def retention_horizon(now: dt.datetime | None = None) -> dt.date | None:
    """The first month kept under CONTINUOUS_RETENTION_YEARS (None: every value is kept): the month N years before
    the current one. Whole months before it are dropped, so a value is kept N years at least and a month longer at
    most."""
    years = settings.CONTINUOUS_RETENTION_YEARS
    if not years:
        return None
    this = month_start(now or dt.datetime.now(dt.UTC))
    return dt.date(this.year - years, this.month, 1)


def drop_expired(now: dt.datetime | None = None) -> list[str]:
    """Retention: drop the continuous values of the months before `retention_horizon` — whole partitions on
    PostgreSQL (no row-by-row delete, no vacuum after), rows on SQLite — with their quality tallies and events.
    Daily values are never touched. Returns what went (partition names, or "N rows" on SQLite)."""
    from acquisition.tally_models import QualityEvent, QualityMonth
    from stations.models import TimeSeries

    horizon = retention_horizon(now)
    if horizon is None:
        return []
    cutoff = dt.datetime.combine(horizon, dt.time(0), dt.UTC)
    continuous = TimeSeries.objects.filter(kind=TimeSeries.Kind.CONTINUOUS).values("pk")
    with transaction.atomic():
        if is_partitioned():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_SPACE])
                # A table with deferred foreign-key checks pending (rows written earlier in the same transaction)
                # cannot be dropped: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                gone = [name for month, name in sorted(existing(cursor).items()) if month < horizon]
                for name in gone:
                    cursor.execute(f'DROP TABLE "{name}"')
        else:
            deleted, _ = ContinuousValue.objects.filter(time__lt=cutoff).delete()
            gone = [f"{deleted} rows"] if deleted else []
        if gone:
            QualityMonth.objects.filter(series__in=continuous, month__lt=horizon).delete()
            QualityEvent.objects.filter(series__in=continuous, end_t__lt=cutoff.timestamp()).delete()
    return gone


def missing_ahead(now: dt.datetime | None = None) -> list[dt.date]:
    """Months of [this month, next month] with no partition (a write there would fail): /health/'s check."""
    if not is_partitioned():
        return []
    now = now or dt.datetime.now(dt.UTC)
    this = month_start(now)
    have = existing()
    return [m for m in (this, next_month(this)) if m not in have]
