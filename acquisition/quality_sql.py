"""The SQL of the quality computation (acquisition.tallies, read by monitoring.quality), per vendor: the same
statements on PostgreSQL and SQLite with their own spellings of time, local days and JSON; and the screening
thresholds they apply.

Time is a number: days since 1970-01-01 for a daily series, seconds since the epoch for a continuous one (UTC).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import connection, transaction

from acquisition.models import ContinuousValue, DailyValue

INTERVAL_WINDOW = 3  # steps before a row (its own included) whose smallest is its interval


@dataclass(frozen=True)
class Thresholds:
    gap_daily_days: int
    gap_continuous_intervals: int
    flat_daily_days: int
    flat_continuous_hours: int
    zero_daily_days: int
    zero_continuous_hours: int
    spike_factor: float
    spike_min_jump: float
    negative_is_error: bool = True  # False where a value below 0 is normal (water temperature in °C)

    @classmethod
    def for_parameter(cls, parameter_code: str | None) -> Thresholds:
        """The screening rules of a parameter: the settings' (discharge's), with that parameter's overrides from
        QUALITY_PARAMETER_RULES (settings.py documents the defaults)."""
        rules = settings.QUALITY_PARAMETER_RULES.get(parameter_code or "00060", {})
        return replace(cls.from_settings(), **rules)

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            settings.QUALITY_GAP_DAILY_DAYS,
            settings.QUALITY_GAP_CONTINUOUS_INTERVALS,
            settings.QUALITY_FLAT_DAILY_DAYS,
            settings.QUALITY_FLAT_CONTINUOUS_HOURS,
            settings.QUALITY_ZERO_DAILY_DAYS,
            settings.QUALITY_ZERO_CONTINUOUS_HOURS,
            settings.QUALITY_SPIKE_FACTOR,
            settings.QUALITY_SPIKE_MIN_JUMP,
        )

    def gap(self, daily: bool) -> float:
        """Missing span (in intervals) beyond which a run of missing slots is a gap."""
        return self.gap_daily_days if daily else self.gap_continuous_intervals

    def flat(self, daily: bool) -> float:  # in the series' time unit (days / seconds)
        return self.flat_daily_days if daily else self.flat_continuous_hours * 3600

    def zero(self, daily: bool) -> float:
        return self.zero_daily_days if daily else self.zero_continuous_hours * 3600


def sql_parts(daily: bool) -> dict[str, str]:
    key = "date" if daily else "time"
    if connection.vendor == "postgresql":
        # date_part, not EXTRACT: EXTRACT computes a numeric, about twice the cost over 100,000 rows.
        t = f"({key} - DATE '1970-01-01')" if daily else f"date_part('epoch', {key})"
    else:
        t = f"CAST(julianday({key}) - 2440587.5 AS INTEGER)" if daily else f"CAST(strftime('%%s', {key}) AS INTEGER)"
    table = (DailyValue if daily else ContinuousValue)._meta.db_table
    # PostgreSQL: OFFSET 0 keeps a subquery from being merged into its parent, so `t` is computed once a row
    # rather than once for each window function that reads it.
    fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
    return {"fence": fence, "key": key, "t": t, "table": table}


def day_counts_sql(daily: bool, zone: dt.tzinfo, lo: float, hi: float) -> tuple[str, list]:
    """Per local day (a day number) and qualifier list, the first and last present time and the stored, present,
    approved and provisional values of one series in [%s, %s): (day, qualifiers, first, last, stored, present,
    approved, provisional). Parameters: the returned list, then the series id and the bounds as keys.

    A daily value's date is already the station's day. A continuous value's day is its instant's date in the
    station's zone: PostgreSQL says so with AT TIME ZONE; SQLite has no zones, so its UTC offset is spelled as a
    CASE over the zone's changes (daylight saving) within [lo, hi)."""
    p = sql_parts(daily)
    params: list = []
    if daily:
        day = p["t"]
    elif connection.vendor == "postgresql":
        day = "((time AT TIME ZONE %s)::date - DATE '1970-01-01')"
        params.append(getattr(zone, "key", "UTC"))
    else:
        day = f"(CAST(strftime('%%s', time) AS INTEGER) + {_offset_case(zone, lo, hi)}) / 86400"
    return (
        f"""
    SELECT {day} AS d, qualifiers, MIN(CASE WHEN value IS NOT NULL THEN {p["t"]} END),
           MAX(CASE WHEN value IS NOT NULL THEN {p["t"]} END), COUNT(*), COUNT(value),
           SUM(CASE WHEN value IS NOT NULL AND approval_status = 'Approved' THEN 1 ELSE 0 END),
           SUM(CASE WHEN value IS NOT NULL AND approval_status = 'Provisional' THEN 1 ELSE 0 END)
      FROM {p["table"]} WHERE series_id = %s AND {p["key"]} >= %s AND {p["key"]} < %s
     GROUP BY 1, 2
    """,
        params,
    )


def _offset_case(zone: dt.tzinfo, lo: float, hi: float) -> str:
    """The zone's UTC offset (seconds) at the instant `strftime('%s', time)`, as an SQL CASE over [lo, hi)."""
    changes: list[tuple[float, int]] = []
    step = 86400.0  # zones change their offset at most a few times a year, never twice a day
    t = lo - step
    offset = _offset(zone, t)
    while t < hi + step:
        nxt = t + step
        new = _offset(zone, nxt)
        if new != offset:
            a, b = t, nxt  # bisect to the second of the change
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if _offset(zone, mid) == offset else (a, mid)
            changes.append((b, new))
            offset = new
        t = nxt
    if not changes:
        return str(_offset(zone, lo))
    whens = " ".join(
        f"WHEN CAST(strftime('%%s', time) AS INTEGER) < {int(at)} THEN {before}"
        for at, before in zip(
            [c[0] for c in changes], [_offset(zone, lo - 86400)] + [c[1] for c in changes[:-1]], strict=True
        )
    )
    return f"(CASE {whens} ELSE {changes[-1][1]} END)"


def _offset(zone: dt.tzinfo, t: float) -> int:
    return int(dt.datetime.fromtimestamp(t, zone).utcoffset().total_seconds())


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
      FROM runs WHERE v < 0 AND {1 if th.negative_is_error else 0} = 1 GROUP BY series_id, ngrp
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
