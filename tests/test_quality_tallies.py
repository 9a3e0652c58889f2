"""Quality tallies kept as values are committed (issue 23, item 2): `refresh_tallies` after each store, in any
order, leaves the same month rows and events as building them from all the values at once, and the quality page
reads them."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.management import call_command

from acquisition.models import ContinuousValue, DailyValue
from acquisition.storage import store_readings
from acquisition.tallies import refresh_tallies
from acquisition.tally_models import QualityEvent, QualityMonth
from acquisition.usgs.parsers import Reading
from monitoring.quality import series_quality
from stations.models import TimeSeries
from tests.factories import TimeSeriesFactory

pytestmark = pytest.mark.django_db
LM = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _snapshot(series: TimeSeries) -> tuple[list, list]:
    months = list(
        QualityMonth.objects.filter(series=series)
        .order_by("month")
        .values_list(
            "month",
            "stored",
            "present",
            "missing",
            "approved",
            "provisional",
            "first_t",
            "last_t",
            "last_value",
            "days",
            "qualifiers",
            "intervals",
        )
    )
    events = list(
        QualityEvent.objects.filter(series=series)
        .order_by("start_t", "kind")
        .values_list("kind", "start_t", "end_t", "count", "value", "interval")
    )
    return months, events


def _record(rng: random.Random, times: list, daily: bool) -> list[Reading]:
    """Noise with what the rules look for: nulls, holes, a flat run and zeros across month ends, spikes."""
    readings, held = [], None
    for n, t in enumerate(times):
        if rng.random() < 0.02 or len(times) // 3 <= n < len(times) // 3 + 5:
            continue  # no row; five in a row: a gap
        month_end = (t + (dt.timedelta(days=3) if daily else dt.timedelta(hours=12))).month != t.month
        if month_end:
            value = 0.0 if t.month % 2 else 42.0  # runs that cross a month's end
        elif held is not None and rng.random() < 0.8:
            value = held
        else:
            held = rng.choice([7.0, -2.0]) if rng.random() < 0.05 else None
            roll = rng.random()
            value = held if held is not None else None if roll < 0.03 else 900.0 if roll < 0.05 else 20 + rng.random()
        quals = ["ESTIMATED"] if rng.random() < 0.1 else []
        readings.append(Reading("ts", t, value, quals, "Approved" if n % 5 else "Provisional", LM))
    return readings


def _times(daily: bool, start: dt.datetime, count: int) -> list:
    if daily:
        return [start.date() + dt.timedelta(days=n) for n in range(count)]
    return [start + dt.timedelta(minutes=15 * n) for n in range(count)]


@pytest.mark.parametrize(("kind", "count"), [("daily", 500), ("continuous", 96 * 75)])
@pytest.mark.parametrize("seed", [1, 2])
def test_tallies_kept_store_by_store_in_any_order_equal_tallies_built_at_once(kind, count, seed):
    rng = random.Random(seed)
    daily = kind == "daily"
    series = TimeSeriesFactory(kind=kind, location__tz_abbreviation="PST")
    readings = _record(rng, _times(daily, dt.datetime(2025, 10, 20, 5, tzinfo=dt.UTC), count), daily)
    # Appends of a few values each, a first load in the middle, and back-fills before it.
    cuts = sorted(rng.sample(range(1, len(readings)), 12))
    pieces = [readings[a:b] for a, b in zip([0, *cuts], [*cuts, len(readings)], strict=True)]
    order = [6, 7, 8, 9, 10, 11, 12, 2, 5, 0, 4, 1, 3]
    for n in order:
        piece = pieces[n]
        store_readings(kind, series.pk, piece)
        refresh_tallies(kind, series.pk, piece[0].time, piece[-1].time)
    # A revision: values of one stretch replaced (overwrite), some by nulls, one of them removed.
    values = DailyValue.objects if daily else ContinuousValue.objects
    key = "date" if daily else "time"
    middle = readings[len(readings) // 2].time
    span = (middle, middle + (dt.timedelta(days=20) if daily else dt.timedelta(hours=30)))
    values.filter(series=series, **{f"{key}__range": span}).delete()
    revised = [r for r in readings if span[0] <= r.time <= span[1]][1:]
    revised = [Reading("ts", r.time, None if i % 4 == 0 else 5.0, [], "Provisional", LM) for i, r in enumerate(revised)]
    store_readings(kind, series.pk, revised)
    refresh_tallies(kind, series.pk, *span)
    kept = _snapshot(series)

    call_command("rebuild_quality_tallies", series=[series.pk])

    assert kept == _snapshot(series)
    months, events = kept
    assert len(months) >= 3 and {e[0] for e in events} >= {"gap", "zero", "flat", "spike"}


def test_the_quality_page_reads_the_tallies_and_agrees_with_the_values(viewer_client):
    series = TimeSeriesFactory(kind="continuous", location__tz_abbreviation="EST")
    readings = _record(random.Random(5), _times(False, dt.datetime(2025, 10, 20, 5, tzinfo=dt.UTC), 96 * 60), False)
    store_readings("continuous", series.pk, readings)
    zone = series.location.zone
    present = [r.time for r in readings if r.value is not None]
    computed = series_quality(series, present[0].astimezone(zone).date(), present[-1].astimezone(zone).date())
    refresh_tallies("continuous", series.pk, readings[0].time, readings[-1].time)
    ContinuousValue.objects.filter(series=series).delete()  # what the page shows now can only come from the tallies

    response = viewer_client.get(f"/monitoring/stations/{series.location.monitoring_location_id}/quality/")

    shown = response.context["quality"]
    assert response.status_code == 200
    assert shown.gaps == computed.gaps and shown.flags == computed.flags
    assert shown.stored == computed.stored and shown.qualifiers == computed.qualifiers
    assert (shown.present, shown.expected) == (computed.present, computed.expected)
    assert {k: (m.expected, m.present) for k, m in shown.months.items()} == {
        k: (m.expected, m.present) for k, m in computed.months.items()
    }


def test_the_rollup_says_no_record_shows_percent_signs_and_the_newest_value_s_local_time(viewer_client):
    from pulls.models import PullConfiguration, PullConfigurationStation

    series = TimeSeriesFactory(kind="continuous", location__tz_abbreviation="PST")
    config = PullConfiguration.objects.create(
        name="Late starter", data_type=PullConfiguration.DataType.CONTINUOUS, start_date=dt.date(2026, 10, 15)
    )
    PullConfigurationStation.objects.create(configuration=config, location=series.location)
    start = dt.datetime(2026, 10, 15, 7, tzinfo=dt.UTC)  # local midnight: the record begins after the last water year
    times = _times(False, start, 96 * 10)
    store_readings("continuous", series.pk, [Reading("ts", t, 12.5, [], "Provisional", LM) for t in times])
    refresh_tallies("continuous", series.pk, times[0], times[-1])

    page = viewer_client.get(f"/monitoring/configurations/{config.pk}/quality/").content.decode()
    box = viewer_client.get(f"/monitoring/configurations/{config.pk}/quality/worst/").content.decode()

    row = page[page.index(f'data-station="{series.location.monitoring_location_id}"') :]
    row = row[: row.index("</tr>")]
    assert (
        row.count("no record") == 2 and " 0.0" not in row
    )  # the last 30 days and the last water year (2025-10 … 2026-09) holds none of it
    assert "100.0 %" in row  # the whole record: complete, with its sign
    assert "2026-10-24 23:45 PDT: 12.5" in row  # the newest value with its time, in the station's zone
    assert box.count("no record") == 2  # not "0.0"
