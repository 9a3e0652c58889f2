"""A batch attempt's readings as its pages arrive, staged in the database until each member commits (DESIGN.md §4.5).

A batch of 200 first loads, or one station's ten years of 5-minute values, is far more than a worker should hold:
pages are written to the stage as they arrive (COPY on PostgreSQL, executemany on SQLite), outside any transaction,
so memory is bounded by a page. Each member's commit then merges its own rows from there in its own transaction
(`BatchStage.store`: the latest staged row per time wins, then the same upsert as `storage.store_readings`).

The stage is a real table (acquisition.StagedDailyValue / StagedContinuousValue, UNLOGGED on PostgreSQL), not a
temporary one: nothing here lives in a database session, so a connection closed between two members (Django's
CONN_MAX_AGE=0, SQLite always) loses nothing, and the engine runs behind a pooler in transaction mode. Rows are
keyed by (batch, attempt), so an attempt reads only what it fetched itself; the index on (batch, attempt, series,
time, arrival) makes a member's read cost its own rows, however large the stage. The batch empties its rows when
it ends (`discard`); the janitor sweeps what a lost attempt left (`sweep`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.db.models import Q

from acquisition import partitions
from acquisition.models import PullRunBatch, StagedContinuousValue, StagedDailyValue
from acquisition.storage import (
    COLUMNS,
    StoreCounts,
    any_stored,
    commit_stage_sqlite,
    copy_chunks,
    lock_series,
    merge_pg,
    merge_sqlite,
    sqlite_rows,
    table_for,
)

STAGE_MODELS = {"daily": StagedDailyValue, "continuous": StagedContinuousValue}


class BatchStage:
    """The staged rows of one attempt of one batch, for one observation table (daily or continuous)."""

    def __init__(self, kind: str, *, batch_id: int, attempt: int) -> None:
        self.table, self.key = table_for(kind)
        self.model = STAGE_MODELS[kind]
        self.name = self.model._meta.db_table
        self.batch_id, self.attempt = int(batch_id), int(attempt)
        self.columns = ", ".join(c.format(key=self.key) for c in COLUMNS)
        self.postgresql = connection.vendor == "postgresql"
        self.rows = 0

    def _mine(self, series_pk: int) -> str:
        # Integers only, formatted in: the member's rows of this attempt, as the index is ordered.
        return f"batch_id = {self.batch_id} AND attempt = {self.attempt} AND series_id = {int(series_pk)}"

    def add(self, series_pk: int, readings: Iterable) -> None:
        """Stage readings of one series (a page's share of it)."""
        self.add_many({series_pk: list(readings)})

    def add_many(self, readings: dict[int, list]) -> None:
        """Stage a page's readings of many series (series pk -> its readings) in one COPY (one executemany on
        SQLite): a page of 2,000 caught-up series is one statement, not 2,000."""
        readings = {pk: rows for pk, rows in readings.items() if rows}
        if not readings:
            return
        self.rows += sum(len(rows) for rows in readings.values())
        with connection.cursor() as cursor:
            if self.postgresql:
                prefix = f"{self.batch_id}\t{self.attempt}\t"
                columns = f"batch_id, attempt, {self.columns}"
                with cursor.cursor.copy(f"COPY {self.name} ({columns}) FROM STDIN") as copy:
                    for pk, rows in readings.items():
                        for chunk in copy_chunks(pk, rows, prefix=prefix):
                            copy.write(chunk)
            else:
                cursor.executemany(
                    f"INSERT INTO {self.name} (batch_id, attempt, {self.columns}) VALUES ({', '.join(['%s'] * 8)})",
                    [
                        (self.batch_id, self.attempt, *row)
                        for pk, rows in readings.items()
                        for row in sqlite_rows(pk, rows)
                    ],
                )

    def store(
        self,
        series_pk: int,
        *,
        replace: tuple | None = None,
        run_id: int | None = None,
        answered_at: dt.datetime | None = None,
    ) -> StoreCounts:
        """Inside the member's transaction: upsert its staged rows (the latest per time). They stay on the stage
        (no other member reads them: a station is one series) until the batch is done with it (`discard`).

        Counts as `store_readings` reports them, plus `newest`, the newest time stored. What it changes is recorded
        as revisions of run `run_id` (acquisition.RevisionSet). With `replace`, stored rows of that range the
        answer lacks are deleted, except those modified upstream at or after `answered_at` (storage.merge_pg).
        """
        with connection.cursor() as cursor:
            if self.postgresql:
                return self._store_pg(cursor, series_pk, replace, run_id, answered_at)
            return self._store_sqlite(cursor, series_pk, replace, run_id, answered_at)

    def discard(self) -> None:
        """Empty the batch's rows of this attempt (and of any earlier one) once every member has committed or
        failed."""
        _delete(self.name, self.batch_id, self.attempt + 1)

    def _store_pg(self, cursor, series_pk: int, replace, run_id, answered_at) -> StoreCounts:
        key, table = self.key, self.table
        lock_series(cursor, key, series_pk)
        mine = self._mine(series_pk)
        latest = (
            f"(SELECT DISTINCT ON ({key}) series_id, {key}, value, qualifiers, approval_status, last_modified "
            f"FROM {self.name} WHERE {mine} ORDER BY {key}, id DESC)"
        )
        cursor.execute(f"SELECT count(*), min({key}), max({key}) FROM {latest} s")
        received, low, high = cursor.fetchone()
        if received and key == "time":
            partitions.ensure_for(cursor, low, high)  # the months written must have their partitions
        if received and replace is None and not any_stored(cursor, table, key, series_pk, low, high):
            # Nothing stored in this range yet: no row can conflict.
            cursor.execute(f"INSERT INTO {table} ({self.columns}) SELECT {self.columns} FROM {latest} s")
            counts = StoreCounts(received=received, inserted=received)
        else:
            present = f"(SELECT {key} FROM {self.name} WHERE {mine})"
            counts = merge_pg(
                cursor,
                table,
                key,
                series_pk,
                latest,
                received,
                replace,
                run_id,
                present=present,
                answered_at=answered_at,
                span=(low, high) if received else None,
            )
        counts.oldest, counts.newest = low, high
        return counts

    def _store_sqlite(self, cursor, series_pk: int, replace, run_id, answered_at) -> StoreCounts:
        key = self.key
        stage = commit_stage_sqlite(cursor, key)
        # SQLite takes the bare columns of a max() aggregate from the row that has the max: the latest arrival.
        cursor.execute(
            f"""
            INSERT INTO {stage} ({self.columns})
            SELECT series_id, {key}, value, qualifiers, approval_status, last_modified FROM (
                SELECT series_id, {key}, value, qualifiers, approval_status, last_modified, max(id)
                  FROM {self.name} WHERE {self._mine(series_pk)} GROUP BY {key}
            )
            """
        )
        cursor.execute(f"SELECT count(*), min({key}), max({key}) FROM {stage}")
        received, low, high = cursor.fetchone()
        counts = merge_sqlite(
            cursor, self.table, key, series_pk, stage, received, replace, run_id, answered_at=answered_at
        )
        counts.oldest, counts.newest = low, high
        return counts


def sweep(since: dt.datetime) -> int:
    """Delete staged rows no attempt will read again: every attempt of a batch finished since `since`, and the
    attempts older than the current one of a batch still going. The janitor calls it every minute with a window
    of a few minutes (a batch's own `discard` empties its rows in the normal case); returns how many rows went.
    Each delete is an index range of one batch: nothing scans the stage."""
    removed = 0
    candidates = PullRunBatch.objects.filter(
        Q(status=PullRunBatch.Status.FINISHED, finished_at__gte=since)
        | Q(attempts__gt=1, status__in=(PullRunBatch.Status.PENDING, PullRunBatch.Status.RUNNING))
    ).values_list("pk", "attempts", "status")
    for batch_id, attempts, status in candidates:
        below = attempts + 1 if status == PullRunBatch.Status.FINISHED else attempts
        for model in STAGE_MODELS.values():
            removed += _delete(model._meta.db_table, batch_id, below)
    return removed


def _delete(table: str, batch_id: int, below: int) -> int:
    # One DELETE over the index range (the ORM's delete() may first select the rows when any delete signal
    # receiver is connected).
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE batch_id = %s AND attempt < %s", [batch_id, below])
        return cursor.rowcount
