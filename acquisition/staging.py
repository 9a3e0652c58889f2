"""A batch's readings as its pages arrive, staged in the database until each member commits (DESIGN.md §4.5).

A batch of 200 first loads, or one station's ten years of 5-minute values, is far more than a worker should hold:
pages are written to a temporary table of this connection as they arrive (COPY on PostgreSQL, executemany on
SQLite), outside any transaction, so memory is bounded by a page. Each member's commit then merges its own rows from
there in its own transaction (`BatchStage.store`: the latest staged row per time wins, then the same upsert as
`storage.store_readings`) and deletes them. The table lives as long as the connection and is emptied whenever a
batch opens it, so rows of a failed attempt never reach a later one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from acquisition.storage import (
    _COLUMNS,
    StoreCounts,
    _any_stored,
    _copy_into,
    _ensure_stage_pg,
    _ensure_stage_sqlite,
    _lock_series,
    _merge_stage_pg,
    _merge_stage_sqlite,
    _sqlite_rows,
    _table,
)


class BatchStage:
    """The staged rows of one batch, for one observation table (daily or continuous)."""

    def __init__(self, kind: str) -> None:
        self.table, self.key = _table(kind)
        self.name = f"acq_batch_{self.key}"
        self.columns = ", ".join(c.format(key=self.key) for c in _COLUMNS)
        self.postgresql = connection.vendor == "postgresql"
        self.rows = 0
        key_type = ("date" if self.key == "date" else "timestamptz") if self.postgresql else "text"
        with connection.cursor() as cursor:
            if self.postgresql:
                # `seq` orders arrivals: of two rows with one key (a boundary instant of two windows, a value in
                # both the window and the revision pass), the later one wins, as in one merge of every page.
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {self.name} (seq bigserial, series_id bigint, "
                    f"{self.key} {key_type}, value double precision, qualifiers jsonb, "
                    "approval_status varchar(12), last_modified timestamptz)"
                )
                cursor.execute(f"TRUNCATE {self.name}")
            else:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {self.name} (seq integer PRIMARY KEY, series_id integer, "
                    f"{self.key} text, value real, qualifiers text, approval_status text, last_modified text)"
                )
                cursor.execute(f"DELETE FROM temp.{self.name}")

    def add(self, series_pk: int, readings: Iterable) -> None:
        """Stage readings of one series (a page's share of it)."""
        readings = list(readings)
        if not readings:
            return
        self.rows += len(readings)
        with connection.cursor() as cursor:
            if self.postgresql:
                _copy_into(cursor, self.name, self.columns, series_pk, readings)
            else:
                cursor.executemany(
                    f"INSERT INTO temp.{self.name} ({self.columns}) VALUES (%s, %s, %s, %s, %s, %s)",
                    _sqlite_rows(series_pk, readings),
                )

    def store(self, series_pk: int, *, replace: tuple | None = None, run_id: int | None = None) -> StoreCounts:
        """Inside the member's transaction: upsert its staged rows (the latest per time). They stay on the stage (no
        other member reads them: a station is one series) until the batch is done with it (`discard`).

        Counts as `store_readings` reports them, plus `newest`, the newest time stored. What it changes is recorded
        as revisions of run `run_id` (acquisition.RevisionSet).
        """
        with connection.cursor() as cursor:
            if self.postgresql:
                counts = self._store_pg(cursor, series_pk, replace, run_id)
            else:
                counts = self._store_sqlite(cursor, series_pk, replace, run_id)
        return counts

    def discard(self) -> None:
        """Empty the stage once every member has committed (or failed): its space goes back at once."""
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {self.name}" if self.postgresql else f"DELETE FROM temp.{self.name}")

    def _store_pg(self, cursor, series_pk: int, replace, run_id) -> StoreCounts:
        key, table = self.key, self.table
        _lock_series(cursor, key, series_pk)
        stage = _ensure_stage_pg(cursor, key)
        cursor.execute(
            f"""
            INSERT INTO {stage} ({self.columns})
            SELECT DISTINCT ON ({key}) series_id, {key}, value, qualifiers, approval_status, last_modified
              FROM {self.name} WHERE series_id = %s ORDER BY {key}, seq DESC
            """,
            [series_pk],
        )
        received = cursor.rowcount
        cursor.execute(f"SELECT min({key}), max({key}) FROM {stage}")
        low, high = cursor.fetchone()
        if received and replace is None and not _any_stored(cursor, table, key, series_pk, low, high):
            # Nothing stored in this range yet: no row can conflict.
            cursor.execute(f"INSERT INTO {table} ({self.columns}) SELECT {self.columns} FROM {stage}")
            counts = StoreCounts(received=received, inserted=received)
        else:
            counts = _merge_stage_pg(cursor, table, key, series_pk, stage, received, replace, run_id)
        counts.newest = high
        return counts

    def _store_sqlite(self, cursor, series_pk: int, replace, run_id) -> StoreCounts:
        key = self.key
        stage = _ensure_stage_sqlite(cursor, key)
        # SQLite takes the bare columns of a max() aggregate from the row that has the max: the latest arrival.
        cursor.execute(
            f"""
            INSERT INTO {stage} ({self.columns})
            SELECT series_id, {key}, value, qualifiers, approval_status, last_modified FROM (
                SELECT series_id, {key}, value, qualifiers, approval_status, last_modified, max(seq)
                  FROM temp.{self.name} WHERE series_id = %s GROUP BY {key}
            )
            """,
            [series_pk],
        )
        cursor.execute(f"SELECT count(*), max({key}) FROM {stage}")
        received, high = cursor.fetchone()
        counts = _merge_stage_sqlite(cursor, self.table, key, series_pk, stage, received, replace, run_id)
        counts.newest = high
        return counts
