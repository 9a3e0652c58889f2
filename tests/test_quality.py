"""Quality of a series, computed in the database, checked against the same figures computed here in Python from
what was stored: completeness by month, gaps with exact start/end, shares, each flag kind, and a continuous
record whose interval changes from 15 to 5 minutes."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter

import pytest
from django.core.management import call_command

from acquisition.models import ContinuousValue, DailyValue
from acquisition.smart_append import run_inline
from acquisition.storage import store_readings
from acquisition.usgs.parsers import Reading
from monitoring.quality import Thresholds, series_quality, water_year
from stations.models import TimeSeries
from tests.acquisition_factories import make_configuration
from tests.factories import TimeSeriesFactory

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

SITE = "USGS-01646500"
START = dt.date(2024, 10, 1)
TH = Thresholds(1, 2, 7, 24, 1, 1, 3.0, 1.0)


@pytest.fixture
def doctored(fake_usgs):
    """Two water years of the fake's daily values for one station, pulled for real, then given one of each fault."""
    run_inline(make_configuration(fake_usgs, [SITE], start_date=START))
    series = TimeSeries.objects.get(time_series_id=fake_usgs.primary_series_id(SITE))
    values = DailyValue.objects.filter(series=series)
    values.filter(date__range=(dt.date(2025, 1, 10), dt.date(2025, 1, 14))).delete()  # a 5-day gap
    values.filter(date=dt.date(2025, 2, 1)).delete()  # one day: missing, but within the tolerance
    values.filter(date__range=(dt.date(2025, 3, 1), dt.date(2025, 3, 3))).update(value=-2.0)  # negative
    values.filter(date__range=(dt.date(2025, 4, 1), dt.date(2025, 4, 2))).update(value=0.0)  # zeros
    values.filter(date__range=(dt.date(2025, 5, 1), dt.date(2025, 5, 8))).update(value=123.0)  # flat, 8 days
    values.filter(date__range=(dt.date(2025, 6, 9), dt.date(2025, 6, 11))).update(value=100.0)
    values.filter(date=dt.date(2025, 6, 10)).update(value=900.0)  # spike between two 100s
    values.filter(date__range=(dt.date(2025, 7, 10), dt.date(2025, 7, 12))).update(value=None)  # nulls: a gap
    call_command("rebuild_quality_tallies")  # the changes above bypassed the commit that keeps them
    return series, fake_usgs.today


def python_quality(series, start: dt.date, end: dt.date) -> dict:
    """The figures, computed here from the stored rows by plain loops."""
    rows = {r.date: r for r in DailyValue.objects.filter(series=series, date__range=(start, end))}
    present = {d for d, r in rows.items() if r.value is not None}
    months: dict = {}
    day = start
    while day <= end:
        key = (water_year(day.year, day.month), day.month)
        expected, got = months.get(key, (0, 0))
        months[key] = (expected + 1, got + (day in present))
        day += dt.timedelta(days=1)
    gaps, run = [], []
    day = start
    while day <= end + dt.timedelta(days=1):
        if day <= end and day not in present:
            run.append(day)
        else:
            if len(run) > 1:
                gaps.append((run[0], run[-1], len(run)))
            run = []
        day += dt.timedelta(days=1)
    approved = sum(1 for d in present if rows[d].approval_status == "Approved")
    quals = Counter(q for d in present for q in rows[d].qualifiers)
    ordered = sorted(present)
    flags = []
    i = 0
    while i < len(ordered):  # runs of one value, or of negatives, over consecutive days
        j = i
        v = rows[ordered[i]].value
        while j + 1 < len(ordered) and ordered[j + 1] - ordered[j] <= dt.timedelta(days=2):
            w = rows[ordered[j + 1]].value
            if not (w == v or (v < 0 and w < 0)):
                break
            j += 1
        length = (ordered[j] - ordered[i]).days + 1
        if v < 0:
            flags.append(("negative", ordered[i], ordered[j]))
        elif v == 0:
            flags.append(("zero", ordered[i], ordered[j]))
        elif length >= 7 and all(rows[ordered[k]].value == v for k in range(i, j + 1)):
            flags.append(("flat", ordered[i], ordered[j]))
        i = j + 1
    for k in range(1, len(ordered) - 1):
        a, b, c = (rows[ordered[n]].value for n in (k - 1, k, k + 1))
        if a > 0 and c > 0 and (b > 3 * max(a, c) and b - max(a, c) >= 1 or b * 3 < min(a, c) and min(a, c) - b >= 1):
            flags.append(("spike", ordered[k], ordered[k]))
    return {
        "months": months,
        "gaps": gaps,
        "present": len(present),
        "approved": approved,
        "qualifiers": dict(quals),
        "flags": sorted(flags, key=lambda f: (f[1], f[0])),
    }


def test_the_database_figures_equal_the_ones_computed_from_the_stored_rows(doctored):
    series, today = doctored
    expected = python_quality(series, START, today)

    q = series_quality(series, START, today, TH)

    assert {k: (m.expected, m.present) for k, m in q.months.items()} == expected["months"]
    assert [(g.start, g.end, g.missing) for g in q.gaps] == expected["gaps"]
    assert (dt.date(2025, 1, 10), dt.date(2025, 1, 14), 5) in expected["gaps"]  # the test itself sees the fault
    assert q.present == expected["present"] and q.approved == expected["approved"]
    assert q.provisional == q.present - q.approved
    assert q.qualifiers == expected["qualifiers"]
    assert [(f.kind, f.start, f.end) for f in q.flags] == expected["flags"]
    assert {f[0] for f in expected["flags"]} == {"negative", "zero", "flat", "spike"}


def test_a_chosen_range_is_judged_on_its_own_days(doctored):
    series, _ = doctored
    start, end = dt.date(2025, 1, 1), dt.date(2025, 2, 15)

    q = series_quality(series, start, end, TH)

    expected = python_quality(series, start, end)
    assert {k: (m.expected, m.present) for k, m in q.months.items()} == expected["months"]
    assert q.expected == 46 and q.present == 46 - 6
    assert [(g.start, g.end) for g in q.gaps] == [(dt.date(2025, 1, 10), dt.date(2025, 1, 14))]


def test_days_before_the_record_are_no_record_not_missing(doctored):
    series, _ = doctored
    q = series_quality(series, dt.date(2024, 9, 1), dt.date(2024, 10, 10), TH)

    assert (q.months[(2024, 9)].expected, q.months[(2024, 9)].present) == (0, 0)
    assert q.months[(2024, 9)].percent is None
    assert (q.months[(2025, 10)].expected, q.months[(2025, 10)].present) == (10, 10)
    assert q.gaps == [] and q.percent == 100.0


def test_a_series_that_changes_from_15_to_5_minutes_is_judged_against_each_interval(db):
    series = TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS, location__tz_abbreviation="")  # UTC days
    lm = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    oct1, nov1, dec1 = (dt.datetime(2025, m, 1, tzinfo=dt.UTC) for m in (10, 11, 12))

    def times(start, stop, minutes):
        t = start
        while t < stop:
            yield t
            t += dt.timedelta(minutes=minutes)

    readings = [Reading("ts", t, 10.0 + (t.minute % 7), [], "Provisional", lm) for t in times(oct1, nov1, 15)]
    readings += [Reading("ts", t, 10.0 + (t.minute % 7), [], "Provisional", lm) for t in times(nov1, dec1, 5)]
    store_readings("continuous", series.pk, readings)
    stored = ContinuousValue.objects.filter(series=series)
    oct_gap = (dt.datetime(2025, 10, 10, 6, tzinfo=dt.UTC), dt.datetime(2025, 10, 10, 8, 15, tzinfo=dt.UTC))
    nov_gap = (dt.datetime(2025, 11, 10, 6, tzinfo=dt.UTC), dt.datetime(2025, 11, 10, 6, 45, tzinfo=dt.UTC))
    stored.filter(time__range=oct_gap).delete()  # 10 slots of 15 minutes
    stored.filter(time__range=nov_gap).delete()  # 10 slots of 5 minutes
    stored.filter(time=dt.datetime(2025, 11, 20, 0, 5, tzinfo=dt.UTC)).update(value=None)  # 1 slot: no gap

    q = series_quality(series, dt.date(2025, 10, 1), dt.date(2025, 11, 30), TH)

    assert (q.months[(2026, 10)].expected, q.months[(2026, 10)].present) == (31 * 96, 31 * 96 - 10)
    assert (q.months[(2026, 11)].expected, q.months[(2026, 11)].present) == (30 * 288, 30 * 288 - 11)
    assert [(g.start, g.end, g.missing, g.length) for g in q.gaps] == [
        (*oct_gap, 10, dt.timedelta(minutes=150)),
        (*nov_gap, 10, dt.timedelta(minutes=50)),
    ]
    assert q.intervals == [5, 15]


def test_flat_lines_in_continuous_values_need_24_hours(db):
    series = TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS)
    lm = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    start = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
    readings = []
    for n in range(4 * 96):  # four days of 15-minute values
        t = start + dt.timedelta(minutes=15 * n)
        flat = 96 <= n < 96 + 96  # day 2: one value for exactly 24 h (96 values)
        short = 250 <= n < 250 + 95  # a shorter run: 23 h 45 min
        value = 50.0 if flat else 70.0 if short else 10.0 + n % 5
        readings.append(Reading("ts", t, value, [], "Approved", lm))
    store_readings("continuous", series.pk, readings)

    q = series_quality(series, dt.date(2025, 10, 1), dt.date(2025, 10, 4), TH)

    assert [(f.kind, f.start, f.values) for f in q.flags] == [("flat", start + dt.timedelta(days=1), 96)]
    assert q.percent == 100.0 and calendar.monthrange(2025, 10)[1] == 31


def _rule_flags(present: list[tuple[int, float]], th: Thresholds) -> list[tuple[str, int, int, int]]:
    """The screening rules of monitoring.quality's docstring, by plain loops over (day number, value) pairs of the
    present values in order: (kind, first day, last day, values)."""
    near = th.gap_daily_days + 1  # a step of at most this many days keeps a run going; a longer one is a gap
    flags = []
    passes = {"value": lambda a, b: a == b, "negative": lambda a, b: a < 0 and b < 0}
    for name, same in passes.items():
        i = 0
        while i < len(present):
            j = i
            while j + 1 < len(present) and present[j + 1][0] - present[j][0] <= near:
                if not same(present[j][1], present[j + 1][1]):
                    break
                j += 1
            (first, v), last, n = present[i], present[j][0], j - i + 1
            if name == "negative":
                if v < 0:
                    flags.append(("negative", first, last, n))
            elif v == 0 and last - first + 1 >= th.zero_daily_days:
                flags.append(("zero", first, last, n))
            elif v != 0 and last - first + 1 >= th.flat_daily_days:
                flags.append(("flat", first, last, n))
            i = j + 1
    for k in range(1, len(present) - 1):
        (ta, a), (tb, b), (tc, c) = present[k - 1], present[k], present[k + 1]
        if a > 0 and c > 0 and tb - ta <= near and tc - tb <= near:
            hi, lo = max(a, c), min(a, c)
            if (b > th.spike_factor * hi and b - hi >= th.spike_min_jump) or (
                b * th.spike_factor < lo and lo - b >= th.spike_min_jump
            ):
                flags.append(("spike", tb, tb, 1))
    return sorted(flags, key=lambda f: (f[1], f[0]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_records_get_the_flags_and_gaps_the_rules_give(db, seed):
    """Three years of daily values from a seeded generator that mixes noise, repeated values (zero and not),
    negatives, spikes, nulls and missing days: the database's flags and gaps equal the rules applied by loops."""
    import random

    rng = random.Random(seed)
    series = TimeSeriesFactory(kind=TimeSeries.Kind.DAILY)
    lm = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = dt.date(2020, 10, 1)
    days = 3 * 365
    readings, held = [], None
    for n in range(days):
        if rng.random() < 0.04:
            continue  # no row
        if held is not None and rng.random() < 0.85:
            value = held
        else:
            held = rng.choice([0.0, 7.0, -3.0]) if rng.random() < 0.15 else None
            roll = rng.random()
            value = (
                held
                if held is not None
                else None
                if roll < 0.03
                else round(rng.uniform(200, 400), 1)
                if roll < 0.06  # a spike, if its neighbours are noise
                else -round(rng.uniform(1, 5), 1)
                if roll < 0.09
                else round(rng.uniform(20, 40), 1)
            )
        readings.append(Reading("ts", first + dt.timedelta(days=n), value, [], "Approved", lm))
    store_readings("daily", series.pk, readings)
    last = first + dt.timedelta(days=days - 1)
    present = [((r.time - first).days, r.value) for r in readings if r.value is not None]
    # Nothing before the first present value or after the newest is missing: the record runs from one to the other.
    missing = sorted(set(range(present[0][0], present[-1][0] + 1)) - {d for d, _ in present})
    gaps, run = [], []
    for d in [*missing, None]:
        if run and (d is None or d != run[-1] + 1):
            if len(run) > TH.gap_daily_days:
                gaps.append((run[0], run[-1], len(run)))
            run = []
        if d is not None:
            run.append(d)
    expected = _rule_flags(present, TH)
    assert {f[0] for f in expected} >= {"negative", "zero", "flat", "spike"}  # the generator made every kind
    assert gaps  # and gaps

    q = series_quality(series, first, last, TH)

    day = lambda t: (t - first).days  # noqa: E731
    got = sorted(((f.kind, day(f.start), day(f.end), f.values) for f in q.flags), key=lambda f: (f[1], f[0]))
    assert got == expected
    assert [(day(g.start), day(g.end), g.missing) for g in q.gaps] == gaps
    assert q.present == len(present) and q.expected == present[-1][0] - present[0][0] + 1


def _continuous(minutes_from_start: list[int], values: list[float | None]) -> TimeSeries:
    series = TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS, location__tz_abbreviation="")  # UTC days
    lm = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    start = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
    readings = [
        Reading("ts", start + dt.timedelta(minutes=m), v, [], "Approved", lm)
        for m, v in zip(minutes_from_start, values, strict=True)
    ]
    store_readings("continuous", series.pk, readings)
    return series


def test_frequent_nulls_in_continuous_values_count_as_missing(db):
    # One day of 5-minute values; between values 100 and 200 every other one is null (50 nulls): the interval is
    # still 5 minutes (null times are steps), so each null is one missing slot.
    values = [None if 100 <= n < 200 and n % 2 else 10.0 + n % 7 for n in range(288)]
    series = _continuous([5 * n for n in range(288)], values)

    q = series_quality(series, dt.date(2025, 10, 1), dt.date(2025, 10, 1), TH)

    present = sum(v is not None for v in values)
    assert (q.expected, q.present) == (288, present) and present == 238
    assert q.gaps == []  # one slot each: within the tolerance of 2


def test_a_step_of_19_minutes_in_5_minute_values_is_three_missing_slots(db):
    minutes = [5 * n for n in range(60)]
    minutes = minutes[:30] + [m + 14 for m in minutes[30:]]  # 145 → 164: a 19-minute step, round(19 / 5) - 1 = 3
    series = _continuous(minutes, [10.0 + n % 7 for n in range(60)])

    q = series_quality(series, dt.date(2025, 10, 1), dt.date(2025, 10, 1), TH)

    start = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
    assert [(g.start, g.missing) for g in q.gaps if g.start < start + dt.timedelta(hours=4)] == [
        (start + dt.timedelta(minutes=150), 3)
    ]


def test_a_lone_value_is_not_a_flat_line_however_long_its_interval(db):
    # A value every two days: each step is longer than the 24-hour flat threshold, but no value repeats.
    series = _continuous([2 * 1440 * n for n in range(5)], [10.0, 20.0, 30.0, 20.0, 10.0])

    q = series_quality(series, dt.date(2025, 10, 1), dt.date(2025, 10, 9), TH)

    assert [f.kind for f in q.flags] == []
