"""Committing a batch as a set (PostgreSQL): every member whose pages arrived, in one transaction of a constant
number of statements (DESIGN.md §4.3, §4.5; issue 25).

Per-member commits cost a transaction and about a dozen statements a station: 10,000 caught-up stations spent
minutes in commits and milliseconds in requests. Here, whatever the batch's size:
1. the members this attempt still owns (fencing, as `committing.commit`), still in the configuration, with their
   progress rows, locked;
2. every member's series locked (advisory, in series order, so two batches sharing series cannot deadlock);
3. one upsert from the stage of every member's rows (the latest arrival per time), which also writes the revision
   sets; then, for overwrites, one delete of what each member's range no longer holds;
4. one update of the progress rows, one of the run's station rows.
Each member's values and progress still commit together and only together: they are in one transaction. If any
statement fails, the transaction rolls back and the caller commits the members one by one
(`committing.commit`), so one bad member never blocks the others.

SQLite (`make run`) always commits member by member.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from acquisition import partitions
from acquisition.fetching import Member
from acquisition.models import PullRun, PullRunStation
from acquisition.staging import BatchStage
from acquisition.storage import (
    CHANGED_AGGREGATES,
    COLUMNS,
    LOCK_SPACE,
    MERGE_WORK_MEM,
    RECORD_REVISIONS,
    REMOVED_AGGREGATES,
    StoreCounts,
    history_cte,
)
from acquisition.tallies import record_backlog
from pulls.models import PullConfiguration, PullConfigurationStation, StationProgress


class SetCommitUnavailable(Exception):
    """The batch cannot commit as a set (SQLite, or the configuration is gone): commit member by member."""


@dataclass
class SetOutcome:
    committed: dict[int, StoreCounts]  # run station pk -> counts
    skipped: list[Member]  # removed from the configuration during the run
    superseded: list[Member]  # another attempt (or the janitor) owns them now


def commit_set(run: PullRun, members: list[Member], stage: BatchStage, started: dt.datetime, cutoff) -> SetOutcome:
    """Commit `members` together; raises (nothing written) when any statement fails."""
    if connection.vendor != "postgresql":
        raise SetCommitUnavailable("SQLite commits member by member")
    key, table = stage.key, stage.table
    with connection.cursor() as cursor:
        # The stage is churned all day and autovacuum's statistics of it lag: taken for one row, it made the planner
        # loop over a whole stored range once per staged row (minutes for a quarter of 15-minute values). Fresh
        # statistics let it choose: one index probe per staged row at scale, a hash join on small tables. Outside
        # the commit's transaction, so its lock is not held while the set commits.
        cursor.execute(f"ANALYZE {stage.name}")
    with transaction.atomic(), connection.cursor() as cursor:
        owned = _owned(cursor, members)
        if not PullConfiguration.objects.filter(pk=run.configuration_id).exists():
            raise SetCommitUnavailable("the configuration was deleted")
        current = set(
            PullConfigurationStation.objects.filter(
                configuration_id=run.configuration_id, location_id__in=[m.run_station.location_id for m in owned]
            ).values_list("location_id", flat=True)
        )
        progress = set(
            StationProgress.objects.select_for_update()
            .filter(pk__in=[m.progress.pk for m in owned])
            .values_list("pk", flat=True)
        )
        ready = [m for m in owned if m.run_station.location_id in current and m.progress.pk in progress]
        ready_pks = {m.run_station.pk for m in ready}
        owned_pks = {m.run_station.pk for m in owned}
        outcome = SetOutcome(
            committed={},
            skipped=[m for m in owned if m.run_station.pk not in ready_pks],
            superseded=[m for m in members if m.run_station.pk not in owned_pks],
        )
        if not ready:
            return outcome
        series = sorted({m.series.pk for m in ready})
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, s::integer)), set_config('work_mem', %s, true) "
            "FROM (SELECT unnest(%s::bigint[]) AS s ORDER BY 1) locks",
            [LOCK_SPACE[key], MERGE_WORK_MEM, series],
        )
        mine = f"batch_id = {stage.batch_id} AND attempt = {stage.attempt}"
        cursor.execute(
            f"SELECT series_id, count(DISTINCT {key}), max({key}), min({key}) FROM {stage.name} "
            f"WHERE {mine} AND series_id = ANY(%s) GROUP BY series_id",
            [series],
        )
        rows = cursor.fetchall()
        received = {sid: (n, newest) for sid, n, newest, _ in rows}
        oldest = {sid: low for sid, _, _, low in rows}
        counts = {sid: StoreCounts(received=received.get(sid, (0, None))[0]) for sid in series}
        span = (min(oldest.values()), max(n for _, n in received.values())) if rows else None
        if span and key == "time":
            partitions.ensure_for(cursor, *span)  # the months written must have their partitions
        _upsert(cursor, key, table, stage, mine, series, run.pk, counts, span)
        replacing = [m for m in ready if m.plan.replace]
        if replacing:
            _replace(cursor, key, table, stage, replacing, run.pk, cutoff, counts)
        for c in counts.values():
            c.unchanged = c.received - c.inserted - c.updated
        _remember_changes(ready, counts, oldest, received)
        _progress(cursor, key, ready, received, started, cutoff)
        _finish(cursor, ready, counts)
        outcome.committed = {m.run_station.pk: counts[m.series.pk] for m in ready}
    return outcome


def _remember_changes(members: list[Member], counts: dict[int, StoreCounts], oldest: dict, received: dict) -> None:
    """The ranges whose quality tallies the set changed, for acquisition.tallies.refresh_backlog (one INSERT)."""
    changed = {}
    for m in members:
        c = counts[m.series.pk]
        if not (c.inserted or c.updated or c.deleted):
            continue
        low, high = oldest.get(m.series.pk), received.get(m.series.pk, (0, None))[1]
        if m.plan.replace:
            low = m.plan.replace[0] if low is None else min(low, m.plan.replace[0])
            high = m.plan.replace[1] if high is None else max(high, m.plan.replace[1])
        if low is not None:
            changed[m.series.pk] = (low, high)
    record_backlog(changed)


def _owned(cursor, members: list[Member]) -> list[Member]:
    table = PullRunStation._meta.db_table
    attempts = {m.attempt for m in members}
    owned: set[int] = set()
    for attempt in attempts:  # one attempt a batch: a single statement in practice
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) AND status = 'running' AND attempts = %s FOR UPDATE",
            [[m.run_station.pk for m in members if m.attempt == attempt], attempt],
        )
        owned.update(pk for (pk,) in cursor.fetchall())
    return [m for m in members if m.run_station.pk in owned]


def _upsert(
    cursor, key: str, table: str, stage: BatchStage, mine: str, series: list[int], run_id, counts, span
) -> None:
    """`span`: the stage's oldest and newest key, constants that prune the join to those months' partitions."""
    bounded = f" AND cur.{key} BETWEEN %s AND %s" if span else ""
    columns = ", ".join(c.format(key=key) for c in COLUMNS)
    history = history_cte(key, CHANGED_AGGREGATES, many=True) if RECORD_REVISIONS else ""
    cursor.execute(
        f"""
        WITH latest AS (
            SELECT DISTINCT ON (series_id, {key})
                   series_id, {key}, value, qualifiers, approval_status, last_modified
              FROM {stage.name} WHERE {mine} AND series_id = ANY(%s) ORDER BY series_id, {key}, id DESC
        ), changed AS (
            SELECT s.series_id, s.{key}, s.value, s.qualifiers, s.approval_status, s.last_modified,
                   cur.series_id AS cur_id, cur.value AS old_value, cur.qualifiers AS old_qualifiers,
                   cur.approval_status AS old_approval
              FROM latest s
              LEFT JOIN {table} cur ON cur.series_id = s.series_id AND cur.{key} = s.{key}{bounded}
             WHERE cur.series_id IS NULL
                OR ((cur.value, cur.qualifiers, cur.approval_status)
                    IS DISTINCT FROM (s.value, s.qualifiers, s.approval_status)
                    AND NOT coalesce(cur.last_modified > s.last_modified, false))
        ), ups AS (
            INSERT INTO {table} AS t ({columns})
            SELECT series_id, {key}, value, qualifiers, approval_status, last_modified
              FROM changed ORDER BY series_id, {key}
            ON CONFLICT (series_id, {key}) DO UPDATE
               SET value = EXCLUDED.value, qualifiers = EXCLUDED.qualifiers,
                   approval_status = EXCLUDED.approval_status, last_modified = EXCLUDED.last_modified
             WHERE (t.value, t.qualifiers, t.approval_status)
                   IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.qualifiers, EXCLUDED.approval_status)
               AND NOT coalesce(t.last_modified > EXCLUDED.last_modified, false)
            RETURNING t.series_id
        ){history}, written AS (
            SELECT series_id, count(*) AS n FROM ups GROUP BY series_id
        ), fresh AS (
            SELECT series_id, count(*) AS n FROM changed WHERE cur_id IS NULL GROUP BY series_id
        )
        SELECT w.series_id, coalesce(f.n, 0), w.n - coalesce(f.n, 0)
          FROM written w LEFT JOIN fresh f USING (series_id)
        """,
        [series, *(span or ()), *([run_id, timezone.now()] if history else [])],
    )
    # Inserted: changed rows with no stored row (the series' locks keep other writers out); the rest of what the
    # upsert wrote was updated (a partitioned table returns no `xmax` to tell them apart).
    for sid, inserted, updated in cursor.fetchall():
        counts[sid].inserted, counts[sid].updated = inserted, updated


def _replace(cursor, key, table, stage: BatchStage, members: list[Member], run_id, cutoff, counts) -> None:
    """Overwrites: each member's range loses what the answer no longer has (never a row modified upstream since the
    answer began: storage.merge_pg)."""
    history = history_cte(key, REMOVED_AGGREGATES, many=True) if RECORD_REVISIONS else ""
    kind = "date" if key == "date" else "timestamptz"
    cursor.execute(
        f"""
        WITH r AS (
            SELECT * FROM unnest(%s::bigint[], %s::{kind}[], %s::{kind}[]) AS r(series_id, lo, hi)
        ), gone AS (
            DELETE FROM {table} AS t USING r
             WHERE t.series_id = r.series_id AND t.{key} BETWEEN r.lo AND r.hi
               AND NOT EXISTS (SELECT 1 FROM {stage.name} s
                                WHERE s.batch_id = {stage.batch_id} AND s.attempt = {stage.attempt}
                                  AND s.series_id = t.series_id AND s.{key} = t.{key})
               AND (t.last_modified IS NULL OR t.last_modified < %s::timestamptz)
            RETURNING t.series_id, t.{key}, t.value, t.approval_status, t.qualifiers
        ){history}
        SELECT series_id, count(*) FROM gone GROUP BY series_id
        """,
        [
            [m.series.pk for m in members],
            [m.plan.replace[0] for m in members],
            [m.plan.replace[1] for m in members],
            cutoff,
            *([run_id, timezone.now()] if history else []),
        ],
    )
    for sid, deleted in cursor.fetchall():
        counts[sid].deleted = deleted


def _progress(cursor, key: str, members: list[Member], received: dict, started, cutoff) -> None:
    """Every member's progress row, as `committing.commit` moves it: forward only, and not at all for a re-pull
    (only its last attempt is recorded)."""
    table = StationProgress._meta.db_table
    now = timezone.now()
    field = "newest_date" if key == "date" else "newest_time"
    moving = [m for m in members if m.plan.moves_progress]
    still = [m.progress.pk for m in members if not m.plan.moves_progress]
    if still:
        cursor.execute(
            f"UPDATE {table} SET last_attempt_at = %s, updated_at = %s WHERE id = ANY(%s)", [now, now, still]
        )
    if not moving:
        return
    kind = "date" if key == "date" else "timestamptz"
    cursor.execute(
        f"""
        UPDATE {table} AS p
           SET {field} = CASE WHEN u.newest IS NOT NULL AND (p.{field} IS NULL OR u.newest > p.{field})
                              THEN u.newest ELSE p.{field} END,
               time_series_id = u.series_id, no_series_at = NULL, covered_from = u.covers,
               revisions_checked_at = %s,
               deep_revisions_checked_at = CASE WHEN u.deep THEN %s ELSE p.deep_revisions_checked_at END,
               last_success_at = %s, last_error = '', consecutive_failures = 0,
               last_attempt_at = %s, updated_at = %s
          FROM unnest(%s::bigint[], %s::bigint[], %s::{kind}[], %s::date[], %s::boolean[])
               AS u(id, series_id, newest, covers, deep)
         WHERE p.id = u.id
        """,
        [
            cutoff,
            cutoff,
            started,
            now,
            now,
            [m.progress.pk for m in moving],
            [m.series.pk for m in moving],
            [received.get(m.series.pk, (0, None))[1] for m in moving],
            [m.plan.covers_from for m in moving],
            [m.plan.deep for m in moving],
        ],
    )


def _finish(cursor, members: list[Member], counts: dict[int, StoreCounts]) -> None:
    """Every member's run row ends `succeeded` with its counts, if this attempt still holds it (it was locked at
    the start of the transaction, so all of them must)."""
    table = PullRunStation._meta.db_table
    rows = [(m.run_station.pk, m.attempt, counts[m.series.pk]) for m in members]
    cursor.execute(
        f"""
        UPDATE {table} AS r
           SET status = 'succeeded', finished_at = %s, error = '', progress = 100, values_received = u.received,
               values_inserted = u.inserted, values_updated = u.updated, values_unchanged = u.unchanged
          FROM unnest(%s::bigint[], %s::integer[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])
               AS u(id, attempt, received, inserted, updated, unchanged)
         WHERE r.id = u.id AND r.status = 'running' AND r.attempts = u.attempt
        """,
        [
            timezone.now(),
            [pk for pk, _, _ in rows],
            [attempt for _, attempt, _ in rows],
            [c.received for _, _, c in rows],
            [c.inserted for _, _, c in rows],
            [c.updated for _, _, c in rows],
            [c.received - c.inserted - c.updated for _, _, c in rows],
        ],
    )
    if cursor.rowcount != len(rows):
        raise RuntimeError(f"{len(rows) - cursor.rowcount} members changed hands during the set commit")


def record_series(members: list[Member]) -> None:
    """Each member's series on its run row, in one statement (the run's API lists them while it runs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PullRunStation._meta.db_table} AS r SET time_series_id = u.series_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS u(id, series_id) WHERE r.id = u.id",
            [[m.run_station.pk for m in members], [m.series.pk for m in members]],
        )
