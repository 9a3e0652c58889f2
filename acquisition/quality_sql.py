"""The SQL of the quality computation (monitoring.quality), per vendor: the same statements on PostgreSQL and SQLite
with their own spellings of time, months and JSON.

Time is a number: days since 1970-01-01 for a daily series, seconds since the epoch for a continuous one (UTC).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import connection, transaction

from acquisition.models import ContinuousValue, DailyValue

if TYPE_CHECKING:
    from .quality import Thresholds

INTERVAL_WINDOW = 3  # steps before a row (its own included) whose smallest is its interval


def sql_parts(daily: bool) -> dict[str, str]:
    key = "date" if daily else "time"
    if connection.vendor == "postgresql":
        # date_part, not EXTRACT: EXTRACT computes a numeric, about twice the cost over 100,000 rows.
        t = f"({key} - DATE '1970-01-01')" if daily else f"date_part('epoch', {key})"
        local = f"{key}::timestamp" if daily else f"({key} AT TIME ZONE 'UTC')"
        month_key = f"date_trunc('month', {local})"
        year, month = "date_part('year', m)::int", "date_part('month', m)::int"
        quals = "jsonb_array_elements_text(v.qualifiers) AS q(q)"
        qcol, has_quals = "q.q", "v.qualifiers <> '[]'::jsonb"
    else:
        t = f"CAST(julianday({key}) - 2440587.5 AS INTEGER)" if daily else f"CAST(strftime('%%s', {key}) AS INTEGER)"
        month_key = f"strftime('%%Y-%%m', {key})"
        year, month = "CAST(substr(m, 1, 4) AS INTEGER)", "CAST(substr(m, 6, 2) AS INTEGER)"
        quals = "json_each(v.qualifiers) AS q"
        qcol, has_quals = "q.value", "v.qualifiers <> '[]'"
    table = (DailyValue if daily else ContinuousValue)._meta.db_table
    # PostgreSQL: OFFSET 0 keeps a subquery from being merged into its parent, so `t` is computed once a row
    # rather than once for each window function that reads it.
    fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
    return {
        "fence": fence,
        "key": key,
        "t": t,
        "month_key": month_key,
        "year": year,
        "month": month,
        "quals": quals,
        "qcol": qcol,
        "has_quals": has_quals,
        "table": table,
    }


def sql_bounds(daily: bool, start: dt.date, end: dt.date) -> list:
    ops = connection.ops
    if daily:
        return [ops.adapt_datefield_value(start), ops.adapt_datefield_value(end)]
    lo = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
    return [ops.adapt_datetimefield_value(lo), ops.adapt_datetimefield_value(hi)]


def events_sql(daily: bool, series_ids: list[int], th: Thresholds) -> str:
    """One row per event of the series `series_ids` in [%s, %s]: (kind, series_id, start t, end t, count, value,
    interval). `gap` rows are every step between present values with at least one missing slot (count: slots).

    A window pass gives every present value its neighbours among the present values (see `_present_sql`); only
    the few that can be part of an event (a missing slot before them, a neighbour of the same value, zero or
    negative, a spike) go on to a small last pass that numbers the runs of equal and of negative values."""
    ids = ", ".join(str(int(i)) for i in series_ids)
    part = "PARTITION BY series_id" if len(series_ids) > 1 else ""  # one series: the index order is the order
    tol = float(th.gap(daily)) + 1.0  # a step longer than (tolerance + 1) intervals holds a listed gap
    flat, zero = float(th.flat(daily)), float(th.zero(daily))
    spike = spike_sql(th, tol)
    # The candidates' filter: a spike is above both neighbours or below both (the factor is at least 1), a test
    # without arithmetic that most values fail before the spike rule's guarded arithmetic (a fifth of the window
    # pass's filter over a year of 5-minute values).
    maybe_spike = f"((v > pv AND v > nv) OR (v < pv AND v < nv)) AND {spike}" if th.spike_factor >= 1 else spike
    return f"""
    WITH {_present_sql(daily, ids, part, maybe_spike)}
    ), cand AS (
        SELECT series_id, k, t, v, i, pt, pv,
               CASE WHEN pt IS NOT NULL AND t - pt >= 1.5 * i THEN 1 ELSE 0 END AS gap,
               CASE WHEN {spike} THEN 1 ELSE 0 END AS spike,
               CASE WHEN pt IS NOT NULL AND t - pt <= {tol} * i THEN 1 ELSE 0 END AS near
          FROM pres
         WHERE v = pv OR v = nv OR v <= 0 OR (pt IS NOT NULL AND t - pt >= 1.5 * i) OR ({maybe_spike})
    ), runs AS (
        SELECT series_id, t, v, i, pt, gap, spike,
               SUM(CASE WHEN near = 1 AND v = pv THEN 0 ELSE 1 END)
                   OVER (PARTITION BY series_id ORDER BY k ROWS UNBOUNDED PRECEDING) AS vgrp,
               SUM(CASE WHEN near = 1 AND v < 0 AND pv < 0 THEN 0 ELSE 1 END)
                   OVER (PARTITION BY series_id ORDER BY k ROWS UNBOUNDED PRECEDING) AS ngrp
          FROM cand
    )
    SELECT 'gap', series_id, pt, t, CAST(ROUND(1.0 * (t - pt) / i) AS INTEGER) - 1, NULL, i FROM runs WHERE gap = 1
    UNION ALL
    SELECT CASE WHEN MIN(v) = 0 THEN 'zero' ELSE 'flat' END, series_id, MIN(t), MAX(t), COUNT(*), MIN(v), MIN(i)
      FROM runs GROUP BY series_id, vgrp
    HAVING (MIN(v) = 0 AND MAX(t) - MIN(t) + MIN(i) >= {zero})
        OR (MIN(v) <> 0 AND COUNT(*) >= 2 AND MAX(t) - MIN(t) + MIN(i) >= {flat})
    UNION ALL
    SELECT 'negative', series_id, MIN(t), MAX(t), COUNT(*), MIN(v), MIN(i)
      FROM runs WHERE v < 0 GROUP BY series_id, ngrp
    UNION ALL
    SELECT 'spike', series_id, t, t, 1, v, i FROM runs WHERE spike = 1
    """


def _present_sql(daily: bool, ids: str, part: str, spike: str) -> str:
    """The CTE `pres`: each present value's series_id, k, t, v, interval i and its present neighbours' times and
    values (pt, nt, pv, nv), in time order (PostgreSQL sorts the range it read with a bitmap or sequential scan;
    an ordered index scan, forced, was no faster on the benchmark's tables).

    Daily values: one window pass over the present values. Continuous values: one window pass over the stored
    rows, which gives the interval (a null is a missing slot, so its time is a step) and the stored neighbours; a
    present value's present neighbours are its stored ones unless a stored neighbour is null or absent. Only the
    values that can be part of an event (the rule of `cand`, on the stored neighbours) and those beside a null go
    on to a small pass that looks across the nulls: the present value on the far side of a run of nulls is beside
    a null too, so it is the row before (or after) in that pass. (A second window pass over the present values
    alone cost a fifth of the statement over a year of 5-minute values; over daily values, with few nulls, the
    pass over the present values alone is the cheaper.)"""
    p = sql_parts(daily)
    # One series: its id is a constant after the window pass, not a column of every row it sorts and holds
    # (~10 ms less over a year of 5-minute values).
    sid, carried = ("series_id", "series_id, ") if part else (f"CAST({ids} AS BIGINT)", "")

    def stored(where: str = "") -> str:
        return f"""(SELECT {carried}{p["key"]} AS k, {p["t"]} AS t, value AS v
                  FROM {p["table"]}
                 WHERE series_id IN ({ids}) AND {p["key"]} BETWEEN %s AND %s {where} {p["fence"]}) AS stored"""

    if daily:
        # A float: with an integer `i` (and integer days) PostgreSQL computes `1.5 * i` and the like as numerics,
        # a third of the statement's time over 75 years.
        return f"""pres AS (
        SELECT {sid} AS series_id, k, t, v, CAST(1 AS DOUBLE PRECISION) AS i, LAG(t) OVER w AS pt,
               LEAD(t) OVER w AS nt, LAG(v) OVER w AS pv, LEAD(v) OVER w AS nv
          FROM {stored("AND value IS NOT NULL")}
        WINDOW w AS ({part} ORDER BY k)"""
    # The smallest of the row's last INTERVAL_WINDOW steps between stored times (PostgreSQL evaluates the repeated
    # LAG(t) once).
    s1, s2, s3 = "LAG(t) OVER w", "LAG(t, 2) OVER w", "LAG(t, 3) OVER w"
    return f"""lagged AS (
        SELECT {sid} AS series_id, k, t, v, {least([f"t - {s1}", f"{s1} - {s2}", f"{s2} - {s3}"])} AS i,
               {s1} AS pt, LEAD(t) OVER w AS nt, LAG(v) OVER w AS pv, LEAD(v) OVER w AS nv
          FROM {stored()}
        WINDOW w AS ({part} ORDER BY k)
    ), maybe AS (
        SELECT series_id, k, t, v, i, pt, nt, pv, nv FROM lagged
         WHERE v IS NOT NULL
           AND (pv IS NULL OR nv IS NULL OR v = pv OR v = nv OR v <= 0 OR t - pt >= 1.5 * i OR ({spike}))
    ), pres AS (
        SELECT series_id, k, t, v, i,
               CASE WHEN pv IS NULL THEN LAG(t) OVER m ELSE pt END AS pt,
               CASE WHEN nv IS NULL THEN LEAD(t) OVER m ELSE nt END AS nt,
               CASE WHEN pv IS NULL THEN LAG(v) OVER m ELSE pv END AS pv,
               CASE WHEN nv IS NULL THEN LEAD(v) OVER m ELSE nv END AS nv
          FROM maybe
        WINDOW m AS (PARTITION BY series_id ORDER BY k)"""


def spike_sql(th: Thresholds, tol: float) -> str:
    """The spike rule as an SQL condition over a row's v, t, its interval i and its neighbours pv, nv, pt, nt.

    The arithmetic on values is guarded: PostgreSQL raises on a float overflow (1.79e308 × 3, or 1.79e308 minus
    -1.79e308), and a stored value can be anything a hostile upstream sent; a value beyond ±1e300 (or infinite, or
    NaN) is no spike's value or neighbour. The factor is at least 1 (settings), so no product of a non-zero value
    underflows to zero either."""
    factor, jump = float(th.spike_factor), float(th.spike_min_jump)
    hi = "CASE WHEN pv > nv THEN pv ELSE nv END"
    lo = "CASE WHEN pv < nv THEN pv ELSE nv END"
    return f"""(CASE WHEN pv > 0 AND nv > 0 AND t - pt <= {tol} * i AND nt - t <= {tol} * i
                     AND ABS(v) <= 1e300 AND pv <= 1e300 AND nv <= 1e300
                THEN ((v > {factor} * {hi} AND v - {hi} >= {jump}) OR (v * {factor} < {lo} AND {lo} - v >= {jump}))
                ELSE {"FALSE" if connection.vendor == "postgresql" else "0"} END)"""


def run_events(cursor, sql: str, params: list) -> list[tuple]:
    """Run an events query (in a transaction of its own on PostgreSQL, with `tuned`'s settings)."""
    with tuned(cursor):
        cursor.execute(sql, params)
        return cursor.fetchall()


@contextmanager
def tuned(cursor):
    """On PostgreSQL, a transaction with room to sort in memory (a year of 5-minute values spills to disk at the
    default 4 MB) and no JIT: the planner overestimates the qualifier unnesting by a hundredfold and then spends
    more compiling the query than running it. SET LOCAL: only for this transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        yield


def least(terms: list[str]) -> str:
    """The smallest non-null of `terms` (PostgreSQL's LEAST and SQLite's MIN(a, b, …) treat nulls differently)."""
    if connection.vendor == "postgresql":
        return f"LEAST({', '.join(terms)})"
    return f"NULLIF(MIN({', '.join(f'COALESCE({term}, 1e18)' for term in terms)}), 1e18)"


def tallies_sql(daily: bool) -> str:
    """The month counts and the qualifier counts of one series in [%s, %s], from one scan: rows (year, month,
    stored, present, approved, provisional, NULL) for the months and (NULL, NULL, NULL, present values, NULL, NULL,
    qualifier) for the qualifiers, those last in the qualifiers' order.

    The scan groups by month and qualifier list (a series has few distinct lists); the lists are unnested from
    those groups, not from every value: one scan instead of two, ~8 ms less over 75 years of daily values."""
    p = sql_parts(daily)
    total = "CAST(SUM({}) AS BIGINT)"  # PostgreSQL sums bigints as numerics
    return f"""
    WITH v AS (
        SELECT {p["month_key"]} AS m, qualifiers, COUNT(*) AS stored, COUNT(value) AS present,
               SUM(CASE WHEN value IS NOT NULL AND approval_status = 'Approved' THEN 1 ELSE 0 END) AS approved,
               SUM(CASE WHEN value IS NOT NULL AND approval_status = 'Provisional' THEN 1 ELSE 0 END) AS provisional
          FROM {p["table"]} WHERE series_id = %s AND {p["key"]} BETWEEN %s AND %s
         GROUP BY 1, 2
    )
    SELECT {p["year"]}, {p["month"]}, {total.format("stored")}, {total.format("present")},
           {total.format("approved")}, {total.format("provisional")}, NULL
      FROM v GROUP BY m
    UNION ALL
    SELECT NULL, NULL, NULL, {total.format("present")}, NULL, NULL, {p["qcol"]}
      FROM v, {p["quals"]} WHERE v.present > 0 AND {p["has_quals"]} GROUP BY {p["qcol"]}
    ORDER BY 7
    """


def edges_sql(daily: bool) -> str:
    """The first and the last present value's time: two index probes, not a scan."""
    p = sql_parts(daily)
    one = (
        f"SELECT {p['t']} FROM {p['table']} WHERE series_id = %s AND {p['key']} BETWEEN %s AND %s AND value IS NOT NULL"
    )
    return f"SELECT ({one} ORDER BY {p['key']} LIMIT 1), ({one} ORDER BY {p['key']} DESC LIMIT 1)"
