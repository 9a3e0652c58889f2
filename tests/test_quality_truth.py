"""The quality figures against the fake's truth (issue 23, item 1): a complete series, one with real gaps and one
whose record starts mid-water-year, daily and continuous, at an Eastern and a Pacific station; computed from the
values and read from the tallies kept by acquisition.tallies. The station's own days and months; nothing before
the first value or after the newest is missing, so a complete series reads 100 %."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from acquisition.models import ContinuousValue, DailyValue
from acquisition.smart_append import run_inline
from acquisition.tally_models import QualityEvent, QualityMonth
from monitoring.hydrograph_screening import screen
from monitoring.quality import Thresholds, series_quality, water_year
from monitoring.quality_rollup import configuration_rollup, last_water_year
from pulls.models import PullConfiguration
from stations.models import TimeSeries
from tests.acquisition_factories import make_configuration
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation

pytestmark = pytest.mark.django_db

ZONES = {"EST": ZoneInfo("America/New_York"), "PST": ZoneInfo("America/Los_Angeles")}
LONG_AGO = dt.date(2000, 1, 1)
STATIONS = [  # (site, zone, case); a mid-water-year record begins 2026-02-10 (daily), 2026-10-15 (continuous)
    (f"USGS-{n}", zone, case)
    for n, (zone, case) in enumerate([(z, c) for z in ZONES for c in ("complete", "gaps", "midyear")], start=1000001)
]
DAILY_START, CONTINUOUS_START = dt.date(2025, 6, 1), dt.date(2026, 9, 1)


def _station(site: str, zone: str, case: str) -> FakeStation:
    mid = case == "midyear"
    return FakeStation(
        site,
        f"{case.upper()} CREEK ({zone})",
        time_zone_abbreviation=zone,
        daily_begin=dt.date(2026, 2, 10) if mid else LONG_AGO,
        continuous_begin=dt.date(2026, 10, 15) if mid else LONG_AGO,
        continuous_interval=15,
    )


@pytest.fixture(scope="module")
def fake():
    fake = FakeUSGS([_station(*s) for s in STATIONS])
    yield fake


@pytest.fixture
def mirrored(fake, settings):
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_BACKOFF_BASE = 0.01
    sites = [s for s, _, _ in STATIONS]
    daily = make_configuration(fake, sites, start_date=DAILY_START)
    continuous = make_configuration(
        fake, sites, start_date=CONTINUOUS_START, data_type=PullConfiguration.DataType.CONTINUOUS
    )
    try:
        run_inline(daily)
        run_inline(continuous)
    finally:
        fake.stop()
    truths = {}
    for site, _, case in STATIONS:
        for kind in ("daily", "continuous"):
            series = TimeSeries.objects.get(time_series_id=fake.primary_series_id(site, kind))
            truths[series.pk] = _doctored_truth(fake, series, site, kind, case)
    return {"daily": daily, "continuous": continuous}, truths, fake.clock


def _doctored_truth(fake: FakeUSGS, series: TimeSeries, site: str, kind: str, case: str) -> list[tuple]:
    """The fake's rows over what was stored (the mirror equals them), after the case's change to both."""
    daily = kind == "daily"
    values = DailyValue.objects.filter(series=series) if daily else ContinuousValue.objects.filter(series=series)
    key = "date" if daily else "time"
    stored = list(values.order_by(key).values_list(key, "value"))
    if daily:
        truth = fake.expected_daily(site, stored[0][0], stored[-1][0])
    else:
        truth = fake.expected_continuous(site, stored[0][0], stored[-1][0])
    rows = [(r["time"], r["value"]) for r in truth]
    assert rows == stored  # the mirror holds the fake's truth
    if case == "complete":
        values.filter(value__isnull=True).update(value=50.0)  # every slot present from the first value on
        rows = [(t, 50.0 if v is None else v) for t, v in rows]
    elif case == "gaps":  # a real gap in the middle of the record, beside the fake's own nulls
        middle = rows[len(rows) // 2][0]
        span = (middle, middle + (dt.timedelta(days=3) if daily else dt.timedelta(hours=6)))
        values.filter(**{f"{key}__range": span}).delete()
        rows = [r for r in rows if not span[0] <= r[0] <= span[1]]
    return rows


def _truth_figures(rows: list[tuple], zone: ZoneInfo, daily: bool) -> dict:
    """Per station month (water year, month): [expected, present]; the gaps (first, last missing, count)."""
    step = dt.timedelta(days=1) if daily else dt.timedelta(minutes=15)
    tol = Thresholds.from_settings().gap(daily)

    def local_day(t):
        return t if daily else t.astimezone(zone).date()

    months: dict = defaultdict(lambda: [0, 0])
    days: dict = defaultdict(lambda: [0, 0])
    present = [t for t, v in rows if v is not None]
    gaps = []
    for t in present:
        d = local_day(t)
        months[(water_year(d.year, d.month), d.month)][0] += 1
        months[(water_year(d.year, d.month), d.month)][1] += 1
        days[d][0] += 1
        days[d][1] += 1
    for a, b in zip(present, present[1:], strict=False):
        slots = round((b - a) / step) - 1
        for k in range(1, slots + 1):
            d = local_day(a + k * step)
            months[(water_year(d.year, d.month), d.month)][0] += 1
            days[d][0] += 1
        if slots > tol:
            gaps.append((a + step, a + slots * step, slots))
    return {
        "months": dict(months),
        "days": dict(days),
        "gaps": gaps,
        "first": local_day(present[0]),
        "last": local_day(present[-1]),
    }


def _percent(present: int, expected: int) -> float | None:
    return None if not expected else 100.0 * present / expected


@pytest.mark.parametrize("source", ["values", "tallies"])
def test_the_quality_figures_are_the_fake_s_truth_in_the_station_s_days(mirrored, source):
    configs, truths, now = mirrored
    if source == "tallies":
        call_command("rebuild_quality_tallies")  # after the changes the fixture made behind the commits' back
        assert QualityMonth.objects.count() > 0
    else:
        QualityMonth.objects.all().delete()  # computed from the values
        QualityEvent.objects.all().delete()
    for site, zone_code, case in STATIONS:
        zone = ZONES[zone_code]
        for kind in ("daily", "continuous"):
            daily = kind == "daily"
            series = TimeSeries.objects.select_related("location").get(location__monitoring_location_id=site, kind=kind)
            truth = _truth_figures(truths[series.pk], zone, daily)
            label = f"{site} {zone_code} {case} {kind}"

            q = series_quality(series, truth["first"], truth["last"])

            got = {k: [m.expected, m.present] for k, m in q.months.items() if m.expected}
            assert got == truth["months"], label
            assert [(g.start, g.end, g.missing) for g in q.gaps] == truth["gaps"], label
            if case == "complete":
                assert q.percent == 100.0 and q.gaps == [], label
            if case == "gaps":
                assert q.gaps and q.percent < 100.0, label
            if not daily:  # shown in the station's zone
                assert all(g.start.utcoffset() == g.start.astimezone(zone).utcoffset() for g in q.gaps), label

    for kind, config in configs.items():
        rows = {r.location.monitoring_location_id: r for r in configuration_rollup(config, now)}
        for site, zone_code, case in STATIONS:
            row = rows[site]
            truth = _truth_figures(truths[row.series.pk], ZONES[zone_code], kind == "daily")
            today = now.astimezone(ZONES[zone_code]).date()
            recent = [v for d, v in truth["days"].items() if today - dt.timedelta(days=29) <= d <= today]
            wy_start, wy_end = last_water_year(today)
            in_wy = [v for d, v in truth["days"].items() if wy_start <= d <= wy_end]
            whole = list(truth["days"].values())
            label = f"roll-up {site} {zone_code} {case} {kind}"
            assert row.last_30 == pytest.approx(_percent(sum(v[1] for v in recent), sum(v[0] for v in recent))), label
            assert row.last_water_year == pytest.approx(_percent(sum(v[1] for v in in_wy), sum(v[0] for v in in_wy))), (
                label
            )
            assert row.record == pytest.approx(_percent(sum(v[1] for v in whole), sum(v[0] for v in whole))), label
            if case == "complete":
                assert row.last_30 == row.record == 100.0, label
            if case == "midyear" and kind == "continuous":  # the record begins after the last water year
                assert row.last_water_year is None, label


def test_the_hydrograph_draws_no_gap_after_the_newest_value(mirrored):
    _, truths, now = mirrored
    series = TimeSeries.objects.get(location__monitoring_location_id=STATIONS[0][0], kind="continuous")
    newest = ContinuousValue.objects.filter(series=series).order_by("-time").first().time
    end = (now + dt.timedelta(days=1)).timestamp()  # the chart's range runs past the newest value, to tomorrow

    marks = screen(series, (newest - dt.timedelta(days=2)).timestamp(), end)

    assert marks.gaps == []
