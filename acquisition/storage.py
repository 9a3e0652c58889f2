"""Observation writes: the only module with raw SQL.

Every write of daily or continuous values goes through `store_readings`. It upserts one series' readings and
reports how many rows were inserted, updated (value, qualifiers or approval status changed) and unchanged (came back
identical, not rewritten). On PostgreSQL the rows are COPYed into a temporary staging table and merged with one
`INSERT … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM …` (or, when nothing of the series is stored in the
range yet, COPYed straight into the table, since no row can conflict); on SQLite they go through a temporary table and
the same upsert, since SQLite has no COPY. `replace=(start, end)` turns the upsert into a replacement of that range
(the `overwrite` strategy): rows of the range that did not come back are deleted, in the caller's transaction.

Every store that changes or deletes stored values leaves one `acquisition.RevisionSet` row: each such value's old
and new value, approval and qualifiers, and the run. On PostgreSQL it is written in the upsert's own statement (a
CTE reads the current rows joined to the stage once, and feeds both the upsert and one aggregate into the set: no
second pass over the table); on SQLite the same join is read just before the upsert, in the same transaction.
`RECORD_REVISIONS = False` turns that off; only bench/ingest.py does, to measure what the history costs.

Callers own the transaction: `store_readings` runs inside `transaction.atomic()` so that a station's values and its
progress row commit together (DESIGN.md §4.3).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from django.db import connection, transaction
from django.utils import timezone

from acquisition import partitions
from acquisition.models import ContinuousValue, DailyValue, RevisionSet

Kind = Literal["daily", "continuous"]

COLUMNS = ("series_id", "{key}", "value", "qualifiers", "approval_status", "last_modified")
# pg_advisory_xact_lock(space, series pk): one lock space per observation table.
LOCK_SPACE = {"date": 7301, "time": 7302}
MERGE_WORK_MEM = "64MB"
RECORD_REVISIONS = True  # bench/ingest.py's off switch, to measure the history's cost; nothing else sets it
_SET_LISTS = ("old_values", "new_values", "old_approvals", "new_approvals", "old_qualifiers", "new_qualifiers")
# A daily series' store makes one set (a record is at most ~55,000 days); a continuous one's, one set a month (a
# month of 5-minute values is 8,928): what one reader of the history holds in memory stays bounded however much
# one store changes. Not daily sets a year: grouping the rows cost more than aggregating them (12 against 5 ms
# for 16,667 daily revisions). The month on a timestamp without a zone: date_trunc of a timestamptz goes through
# the session's zone rules row by row (~50 ms more for a year of 5-minute changes).
_SPAN_SQL = {"date": None, "time": "date_trunc('month', {a}.time AT TIME ZONE 'UTC')"}
# The RevisionSet rows of the changed rows `c` of one series (PostgreSQL), oldest month first so that ids follow
# time: every aggregate of one group reads its rows in the same order, so the lists are parallel. The letters are
# RevisionSet.LETTERS.
CHANGED_AGGREGATES = """
    SELECT {series_c}, %s::bigint, %s::timestamptz,
           string_agg(CASE WHEN c.old_value IS DISTINCT FROM c.value THEN 'v'
                           WHEN c.old_approval IS DISTINCT FROM c.approval_status THEN 'a' ELSE 'q' END, ''),
           count(*) FILTER (WHERE c.old_value IS DISTINCT FROM c.value),
           count(*) FILTER (WHERE c.approval_status = 'Approved' AND c.old_approval IS DISTINCT FROM 'Approved'),
           array_agg(c.{key}), array_agg(c.old_value), array_agg(c.value), array_agg(c.old_approval),
           array_agg(c.approval_status), array_agg(c.old_qualifiers), array_agg(c.qualifiers)
      FROM changed c WHERE c.cur_id IS NOT NULL
    {group_c}"""
REMOVED_AGGREGATES = """
    SELECT {series_g}, %s::bigint, %s::timestamptz, repeat('r', count(*)::int), 0, 0,
           array_agg(g.{key}), array_agg(g.value), array_agg(NULL::double precision), array_agg(g.approval_status),
           array_agg(NULL::varchar), array_agg(g.qualifiers), array_agg(NULL::jsonb)
      FROM gone g
    {group_g}"""


def history_cte(key: str, aggregates: str, *, many: bool = False) -> str:
    """The `hist` sub-statement: `aggregates` (of `changed` or `gone`) inserted as RevisionSet rows. One series
    (its pk the statement's first parameter), or with `many` every series of the rows, a set (or a set a month)
    each, series by series."""
    columns = f"series_id, run_id, changed_at, changes, revised, approved, {key}s, {', '.join(_SET_LISTS)}"
    span = _SPAN_SQL[key]
    if many:
        spans = {a: f"{a}.series_id" + ("" if span is None else f", {span.format(a=a)}") for a in "cg"}
        group = {a: f"GROUP BY {spans[a]} ORDER BY {spans[a]}" for a in "cg"}
    elif span is None:  # one set, or none (an aggregate without GROUP BY makes a row even of no rows)
        group = dict.fromkeys("cg", "HAVING count(*) > 0")
    else:
        group = {a: "GROUP BY {0} ORDER BY {0}".format(span.format(a=a)) for a in "cg"}
    series = {f"series_{a}": f"{a}.series_id" if many else "%s::bigint" for a in "cg"}
    select = aggregates.format(key=key, group_c=group["c"], group_g=group["g"], **series)
    return f", hist AS (INSERT INTO {RevisionSet._meta.db_table} ({columns}) {select})"


@dataclass
class StoreCounts:
    received: int = 0  # distinct (series, time) rows handed in
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0  # overwrite only: rows of the range that USGS no longer returns
    newest: date | datetime | None = None  # staged stores: the newest time among the rows handed in
    oldest: date | datetime | None = None  # … and the oldest

    def __iadd__(self, other: StoreCounts) -> StoreCounts:
        self.received += other.received
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        return self


def table_for(kind: Kind) -> tuple[str, str]:
    if kind == "daily":
        return DailyValue._meta.db_table, "date"
    if kind == "continuous":
        return ContinuousValue._meta.db_table, "time"
    raise ValueError(f"kind must be 'daily' or 'continuous', not {kind!r}")


def _distinct_by_time(readings: Iterable) -> dict:
    # A key twice in one statement would make PostgreSQL refuse the upsert ("cannot affect row a second time");
    # the later reading wins, as it would have in two separate writes.
    return {r[1]: r for r in readings}


def store_readings(
    kind: Kind,
    series_pk: int,
    readings: Iterable,
    *,
    replace: tuple[date | datetime, date | datetime] | None = None,
    run_id: int | None = None,
) -> StoreCounts:
    """Upsert `readings` (acquisition.usgs.parsers.Reading, all of one series) into the series `series_pk`.

    With `replace=(start, end)`, rows of the series inside [start, end] that are not among `readings` are deleted
    too, so the range ends up holding exactly what was read. Changes are recorded as revisions of run `run_id`.
    """
    by_time = _distinct_by_time(readings)
    table, key = table_for(kind)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            counts = _store_postgresql(table, key, series_pk, by_time, replace, run_id)
        else:
            counts = _store_sqlite(table, key, series_pk, by_time, replace, run_id)
    return counts


# ----------------------------------------------------------------------------------------------------
# PostgreSQL: COPY into a staging table, one INSERT … ON CONFLICT
# ----------------------------------------------------------------------------------------------------


def _stage_name(key: str) -> str:
    return f"acq_stage_{key}"


def _ensure_stage_pg(cursor, key: str) -> str:
    stage = _stage_name(key)
    key_type = "date" if key == "date" else "timestamptz"
    # One per connection, emptied at every commit; no indexes: it is read once, sequentially.
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (series_id bigint, {key} {key_type}, value double precision, "
        "qualifiers jsonb, approval_status varchar(12), last_modified timestamptz) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"TRUNCATE {stage}")
    return stage


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_chunks(series_pk: int, rows: Iterable, size: int = 4096, *, prefix: str = "") -> Iterator[str]:
    """The COPY (text format) body for `rows`, in pieces of `size` lines, in the staging table's column order.

    Rows are `acquisition.usgs.parsers.Reading`s. Time, value and last_modified are written from the response's own text
    where the parser kept it (it is canonical there, and `datetime.isoformat` alone cost more than the rest of the
    line), else formatted from the typed field. Each piece is one string built with one join (about twice as fast
    as psycopg's per-row `write_row`). Pieces rather than one body: the server ingests piece N while Python formats
    piece N+1.
    """
    sid = f"{prefix}{series_pk}\t"  # `prefix`: leading columns of the target, tab-ended (a batch stage's keys)
    qual_cache: dict[tuple, str] = {}
    status_cache: dict[str | None, str] = {None: "\\N"}
    lines: list[str] = []
    append = lines.append
    for r in rows:
        time_text = r[6] or r[1].isoformat()
        value = r[7]
        if value is None:
            value = "\\N" if r[2] is None else repr(r[2])
        last_modified = r[8]
        if last_modified is None:
            last_modified = "\\N" if r[5] is None else r[5].isoformat()
        quals = r[3]
        if quals:
            key = tuple(quals)
            qtext = qual_cache.get(key)
            if qtext is None:
                qtext = qual_cache[key] = _copy_escape(json.dumps(list(quals)))
        else:
            qtext = "[]"
        status = status_cache.get(r[4])
        if status is None:
            status = status_cache[r[4]] = _copy_escape(r[4])
        append(f"{sid}{time_text}\t{value}\t{qtext}\t{status}\t{last_modified}\n")
        if len(lines) >= size:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)


def copy_text(series_pk: int, rows: Iterable) -> str:
    """The whole COPY (text format) body for `rows` as one string (see `copy_chunks`)."""
    return "".join(copy_chunks(series_pk, rows))


def copy_into(cursor, target: str, columns: str, series_pk: int, rows: Iterable) -> None:
    with cursor.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
        for chunk in copy_chunks(series_pk, rows):
            copy.write(chunk)


def _store_postgresql(table: str, key: str, series_pk: int, by_time: dict, replace, run_id=None) -> StoreCounts:
    columns = ", ".join(c.format(key=key) for c in COLUMNS)
    with connection.cursor() as cursor:
        lock_series(cursor, key, series_pk)
        span = (min(by_time), max(by_time)) if by_time else None
        if span and key == "time":
            partitions.ensure_for(cursor, *span)  # the months written must have their partitions
        if by_time and replace is None and not any_stored(cursor, table, key, series_pk, min(by_time), max(by_time)):
            # Nothing stored in this range yet (first load, backfill of a gap): no row can conflict, so the rows
            # go straight into the table, at COPY's own rate.
            copy_into(cursor, table, columns, series_pk, by_time.values())
            return StoreCounts(received=len(by_time), inserted=len(by_time))
        stage = _ensure_stage_pg(cursor, key)
        if by_time:
            copy_into(cursor, stage, columns, series_pk, by_time.values())
        return merge_pg(cursor, table, key, series_pk, stage, len(by_time), replace, run_id, span=span)


def lock_series(cursor, key: str, series_pk: int) -> None:
    # Writers of one series queue up (two configurations may share a station): the emptiness check and the
    # write that relies on it must see the same table. And the merge gets room, for this transaction only: its
    # join, its sort and the changed rows the history reads stay in memory for a year of 5-minute values (the
    # default 4 MB sent them to temporary files).
    cursor.execute(
        "SELECT pg_advisory_xact_lock(%s, %s), set_config('work_mem', %s, true)",
        [LOCK_SPACE[key], series_pk, MERGE_WORK_MEM],
    )


@contextmanager
def hash_joins(cursor) -> Iterator[None]:
    """Nested loops off for the statements inside (this transaction only; restored after them).

    A merge joins a stage to the stored rows of its months. The stage is churned all day and its statistics lag, so
    the planner may take it for one row and loop over the stored range once per staged row: a quarter of 15-minute
    values merged that way took minutes where a hash join takes milliseconds. Either side is bounded (the stage's
    rows; the stored rows of the stage's own span), so a hash or merge join is never the wrong plan here."""
    cursor.execute("SELECT current_setting('enable_nestloop'), set_config('enable_nestloop', 'off', true)")
    before = cursor.fetchone()[0]
    yield
    cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [before])


def merge_pg(
    cursor,
    table: str,
    key: str,
    series_pk: int,
    stage: str,
    received: int,
    replace,
    run_id=None,
    *,
    present=None,
    answered_at=None,
    span=None,
) -> StoreCounts:
    """Upsert the commit stage (one series' distinct rows) into the table; delete what `replace` says.

    `stage` is a table or a parenthesised SELECT of those rows; `present` (default: `stage`) a relation in which
    a key's presence says the answer has it, for the replace's delete (a batch stage's raw rows: no DISTINCT).
    `answered_at`: when the answer began (USGS's clock); a stored row modified upstream since then is newer than
    the answer (another configuration stored it meanwhile), so the replace keeps it.

    A stored row is never replaced by an older version of itself (its `last_modified` newer than the answer's:
    another configuration sharing the series stored a later revision while this answer waited to commit); such a
    row counts as unchanged. A NULL stamp on either side compares as "not newer".

    The changed rows are selected once (`changed`: the stage joined to the current rows); the upsert and the
    history insert both read that CTE, and every sub-statement of one WITH sees the table as it was before the
    statement, so `old_*` is the row the upsert replaces (the series' advisory lock keeps other writers out).

    `span` (the stage's oldest and newest key) bounds the join with the table by constants, so that the planner
    reads only the partitions of those months (acquisition/partitions.py) rather than probing every one.
    """
    counts = StoreCounts(received=received)
    columns = ", ".join(c.format(key=key) for c in COLUMNS)
    history = RECORD_REVISIONS
    now = timezone.now()
    if received:
        # The join drops rows that came back identical before the upsert sees them: ON CONFLICT would lock
        # (and so write) every conflicting row even when its WHERE then skips the update.
        changed_cte = history_cte(key, CHANGED_AGGREGATES) if history else ""
        bounded = f" AND cur.{key} BETWEEN %s AND %s" if span else ""
        with hash_joins(cursor):
            cursor.execute(
                f"""
                WITH changed AS (
                    SELECT s.series_id, s.{key}, s.value, s.qualifiers, s.approval_status, s.last_modified,
                           cur.series_id AS cur_id, cur.value AS old_value, cur.qualifiers AS old_qualifiers,
                           cur.approval_status AS old_approval
                      FROM {stage} s
                      LEFT JOIN {table} cur ON cur.series_id = %s AND cur.{key} = s.{key}{bounded}
                     WHERE cur.series_id IS NULL
                        OR ((cur.value, cur.qualifiers, cur.approval_status)
                            IS DISTINCT FROM (s.value, s.qualifiers, s.approval_status)
                            AND NOT coalesce(cur.last_modified > s.last_modified, false))
                ), ups AS (
                    INSERT INTO {table} AS t ({columns})
                    SELECT series_id, {key}, value, qualifiers, approval_status, last_modified
                      FROM changed ORDER BY {key}
                    ON CONFLICT (series_id, {key}) DO UPDATE
                       SET value = EXCLUDED.value, qualifiers = EXCLUDED.qualifiers,
                           approval_status = EXCLUDED.approval_status, last_modified = EXCLUDED.last_modified
                     WHERE (t.value, t.qualifiers, t.approval_status)
                           IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.qualifiers, EXCLUDED.approval_status)
                       AND NOT coalesce(t.last_modified > EXCLUDED.last_modified, false)
                    RETURNING 1
                ){changed_cte}
                SELECT (SELECT count(*) FROM changed WHERE cur_id IS NULL), (SELECT count(*) FROM ups)
                """,
                [series_pk, *(span or ()), *([series_pk, run_id, now] if history else [])],
            )
            # Inserted: the changed rows that had no stored row (the series' lock keeps anyone else from adding one
            # meanwhile); the rest of what the upsert wrote was updated. Not `RETURNING xmax = 0`: a partitioned
            # table has no system columns to return.
            fresh, written = cursor.fetchone()
        counts.inserted, counts.updated = fresh, written - fresh
        counts.unchanged = counts.received - counts.inserted - counts.updated
    if replace is not None:
        removed_cte = history_cte(key, REMOVED_AGGREGATES) if history else ""
        with hash_joins(cursor):
            cursor.execute(
                f"""
                WITH gone AS (
                    DELETE FROM {table} AS t
                     WHERE t.series_id = %s AND t.{key} BETWEEN %s AND %s
                       AND NOT EXISTS (SELECT 1 FROM {present or stage} s WHERE s.{key} = t.{key})
                       AND (t.last_modified IS NULL OR %s::timestamptz IS NULL OR t.last_modified < %s::timestamptz)
                    RETURNING t.series_id, t.{key}, t.value, t.approval_status, t.qualifiers
                ){removed_cte}
                SELECT count(*) FROM gone
                """,
                [series_pk, *replace, answered_at, answered_at, *([series_pk, run_id, now] if history else [])],
            )
            counts.deleted = cursor.fetchone()[0]
    return counts


def any_stored(cursor, table: str, key: str, series_pk: int, low, high) -> bool:
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE series_id = %s AND {key} BETWEEN %s AND %s)",
        [series_pk, low, high],
    )
    return cursor.fetchone()[0]


# ----------------------------------------------------------------------------------------------------
# SQLite: a temporary table and the same upsert (no COPY; executemany is the fastest bulk path it offers)
# ----------------------------------------------------------------------------------------------------


def _sqlite_time(value: date | datetime) -> str:
    # Exactly the text Django's SQLite backend writes, so ORM lookups and the unique index agree with us.
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return str(value)
    return value.isoformat()


def sqlite_rows(series_pk: int, readings: Iterable) -> list[tuple]:
    qual_cache: dict[tuple, str] = {}

    def qualifiers(quals) -> str:
        k = tuple(quals or ())
        text = qual_cache.get(k)
        if text is None:
            text = qual_cache[k] = json.dumps(list(k))
        return text

    return [
        (
            series_pk,
            _sqlite_time(r[1]),
            r[2],
            qualifiers(r[3]),
            r[4],
            None if r[5] is None else _sqlite_time(r[5]),
        )
        for r in readings
    ]


def commit_stage_sqlite(cursor, key: str) -> str:
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_stage_name(key)} (series_id integer, {key} text, value real, "
        "qualifiers text, approval_status text, last_modified text)"
    )
    stage = f"temp.{_stage_name(key)}"
    cursor.execute(f"DELETE FROM {stage}")
    return stage


def _store_sqlite(table: str, key: str, series_pk: int, by_time: dict, replace, run_id=None) -> StoreCounts:
    columns = ", ".join(c.format(key=key) for c in COLUMNS)
    params = sqlite_rows(series_pk, by_time.values())
    with connection.cursor() as cursor:
        stage = commit_stage_sqlite(cursor, key)
        if params:
            cursor.executemany(f"INSERT INTO {stage} ({columns}) VALUES (%s, %s, %s, %s, %s, %s)", params)
        return merge_sqlite(cursor, table, key, series_pk, stage, len(params), replace, run_id)


def merge_sqlite(
    cursor, table: str, key: str, series_pk: int, stage: str, received: int, replace, run_id=None, *, answered_at=None
):
    """As merge_pg, for SQLite: upsert the commit stage, record what changes, delete what `replace` says."""
    counts = StoreCounts(received=received)
    columns = ", ".join(c.format(key=key) for c in COLUMNS)
    history = RECORD_REVISIONS
    now = timezone.now()
    if received and history:
        # Before the upsert, in its transaction: the rows it is about to change, as they are now. Read into Python
        # rather than aggregated in SQL: SQLite's JSON writes a REAL with 15 significant digits.
        cursor.execute(
            f"""
            SELECT t.{key}, t.value, s.value, t.approval_status, s.approval_status, t.qualifiers, s.qualifiers
              FROM {stage} s JOIN {table} t ON t.series_id = s.series_id AND t.{key} = s.{key}
             WHERE (t.value IS NOT s.value OR t.qualifiers IS NOT s.qualifiers
                    OR t.approval_status IS NOT s.approval_status)
               AND NOT coalesce(t.last_modified > s.last_modified, 0)
            """
        )
        _record_sqlite(key, series_pk, run_id, now, cursor.fetchall(), removed=False)
    if received:
        cursor.execute(
            f"SELECT count(*) FROM {stage} s JOIN {table} t ON t.series_id = s.series_id AND t.{key} = s.{key}"
        )
        existing = cursor.fetchone()[0]
        # `WHERE true` resolves SQLite's parsing ambiguity between a join's ON and the upsert's ON CONFLICT.
        cursor.execute(
            f"""
            INSERT INTO {table} AS t ({columns})
            SELECT {columns} FROM {stage} WHERE true ORDER BY {key}
            ON CONFLICT (series_id, {key}) DO UPDATE
               SET value = excluded.value, qualifiers = excluded.qualifiers,
                   approval_status = excluded.approval_status, last_modified = excluded.last_modified
             WHERE (t.value IS NOT excluded.value OR t.qualifiers IS NOT excluded.qualifiers
                    OR t.approval_status IS NOT excluded.approval_status)
               AND NOT coalesce(t.last_modified > excluded.last_modified, 0)
            """
        )
        changed = cursor.rowcount  # rows inserted plus rows updated
        counts.inserted = counts.received - existing
        counts.updated = changed - counts.inserted
        counts.unchanged = existing - counts.updated
    if replace is not None:
        answered = None if answered_at is None else _sqlite_time(answered_at)
        bounds = [series_pk, _sqlite_time(replace[0]), _sqlite_time(replace[1]), answered, answered]
        gone = f"""
              FROM {table}
             WHERE series_id = %s AND {key} BETWEEN %s AND %s
               AND {key} NOT IN (SELECT {key} FROM {stage})
               AND (last_modified IS NULL OR %s IS NULL OR last_modified < %s)
        """
        if history:
            cursor.execute(f"SELECT {key}, value, NULL, approval_status, NULL, qualifiers, NULL {gone}", bounds)
            _record_sqlite(key, series_pk, run_id, now, cursor.fetchall(), removed=True)
        cursor.execute(f"DELETE {gone}", bounds)
        counts.deleted = cursor.rowcount
    cursor.execute(f"DELETE FROM {stage}")
    return counts


def _record_sqlite(key: str, series_pk: int, run_id, now, rows: list[tuple], *, removed: bool) -> None:
    """The RevisionSets of `rows` (time text, old value, new value, old/new approval, old/new qualifiers text): one,
    or one a month for a continuous series (_SPAN_SQL), the letters as the PostgreSQL statement derives them
    (values compared as SQLite's `IS NOT` does)."""
    span = 0 if _SPAN_SQL[key] is None else 7  # one set, or one a "YYYY-MM" of the time's text
    groups: dict[str, list[tuple]] = {}
    for row in rows:
        groups.setdefault(str(row[0])[:span], []).append(row)
    parse = _parse_sqlite_time if key == "time" else _parse_sqlite_date
    sets = []
    for _, group in sorted(groups.items()):  # oldest span first, so that ids follow time
        if removed:
            changes = "r" * len(group)
        else:
            changes = "".join("v" if r[1] != r[2] else ("a" if r[3] != r[4] else "q") for r in group)
        whens, old_v, new_v, old_a, new_a, old_q, new_q = zip(*group, strict=True)
        sets.append(
            RevisionSet(
                series_id=series_pk,
                run_id=run_id,
                changed_at=now,
                changes=changes,
                revised=changes.count("v"),
                approved=sum(1 for r in group if r[4] == "Approved" and r[3] != "Approved"),
                **{f"{key}s": [parse(w) for w in whens]},
                old_values=list(old_v),
                new_values=list(new_v),
                old_approvals=list(old_a),
                new_approvals=list(new_a),
                old_qualifiers=[None if q is None else json.loads(q) for q in old_q],
                new_qualifiers=[None if q is None else json.loads(q) for q in new_q],
            )
        )
    RevisionSet.objects.bulk_create(sets)


def _parse_sqlite_date(value) -> date:
    # The column's declared type may make sqlite3 convert it already.
    return value if isinstance(value, date) else date.fromisoformat(value)


def _parse_sqlite_time(value) -> datetime:
    value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)
