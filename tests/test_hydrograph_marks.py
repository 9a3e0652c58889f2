"""The hydrograph marks values with qualifiers and screening flags, shades gaps, and reads on a log axis on request."""

from __future__ import annotations

import datetime as dt
import html
import math
import re

import pytest
from django.urls import reverse

from acquisition.models import ContinuousValue, DailyValue
from monitoring import charts
from monitoring.hydrograph_mark_drawing import MAX_MARKS, Mark
from monitoring.hydrograph_screening import screen, slices_to_read
from monitoring.quality import series_quality
from stations.models import MonitoringLocation
from tests.monitoring_factories import continuous_series_with_values, daily_series_with_values

HTMX = {"HX-Request": "true"}
DAY0 = dt.date(2020, 1, 1)  # daily_series_with_values starts here


def _get(client, series, headers=None, **params):
    url = reverse("monitoring:station_data", args=[series.location.monitoring_location_id])
    return client.get(url, params, headers=headers or {})


def _titles(svg: str, css: str) -> list[str]:
    """The <title> of every element of class `css` ("mark gap"), in document order."""
    return [html.unescape(t) for t in re.findall(rf'class="{css}"[^>]*><title>([^<]*)</title>', svg)]


def _elements(svg: str) -> int:
    return len(re.findall(r"<[a-z]", svg))


def _utc_station(series) -> None:
    MonitoringLocation.objects.filter(pk=series.location_id).update(tz_abbreviation="", uses_dst=None)


def _plain_daily(days: int):
    """Daily values without the factory's qualifiers and nulls: 100 + i % 7 (no flags of any kind)."""
    series = daily_series_with_values(days)
    for i, row in enumerate(DailyValue.objects.filter(series=series).order_by("date")):
        row.value, row.qualifiers = 100.0 + i % 7, []
        row.save()
    return series


def _set(series, day: int, **fields) -> None:
    DailyValue.objects.filter(series=series, date=DAY0 + dt.timedelta(days=day)).update(**fields)


# --- Qualifiers ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_run_of_qualified_values_is_marked_once_with_its_qualifiers_and_times(viewer_client):
    series = _plain_daily(60)
    stored = {day: ["ICE"] for day in range(10, 15)}
    stored |= {15: ["ICE", "ESTIMATED"], 16: ["ICE", "ESTIMATED"], 40: ["EQUIPMENT"]}
    for day, qualifiers in stored.items():
        _set(series, day, qualifiers=qualifiers)

    for headers in ({}, HTMX):
        response = _get(viewer_client, series, headers, start="2020-01-01", end="2020-02-29")
        body = response.content.decode()
        assert ("<html" in body) is not bool(headers)
        svg = response.context["chart"].svg
        # Runs of the same qualifiers, worked out from what was stored above.
        assert _titles(svg, "mark qualified") == [
            "Qualifiers ICE: 2020-01-11 → 2020-01-15 (5 values)",
            "Qualifiers ICE, ESTIMATED: 2020-01-16 → 2020-01-17 (2 values)",
            "Qualifiers EQUIPMENT: 2020-02-10 (1 value)",
        ]
        assert 'class="legend-qualified"' in svg
        assert 'class="legend-gap"' not in svg and 'class="mark gap"' not in svg


@pytest.mark.django_db
def test_a_chart_without_marks_has_no_mark_legend(viewer_client):
    series = _plain_daily(30)
    svg = _get(viewer_client, series, start="2020-01-01", end="2020-01-30").context["chart"].svg
    assert 'class="mark' not in svg and "legend-" not in svg


@pytest.mark.django_db
def test_a_year_of_five_minute_values_all_qualified_adds_one_band_not_one_element_a_value(viewer_client):
    series = continuous_series_with_values(105_120)  # 365 days
    _utc_station(series)
    query = {"kind": "continuous", "start": "2025-01-01", "end": "2025-12-31"}
    plain = _get(viewer_client, series, HTMX, **query).context["chart"].svg
    ContinuousValue.objects.filter(series=series).update(qualifiers=["ESTIMATED"])
    chart = _get(viewer_client, series, HTMX, **query).context["chart"]

    assert chart.values == 105_120
    assert _titles(chart.svg, "mark qualified") == [
        "Qualifiers ESTIMATED: 2025-01-01 00:00 UTC → 2025-12-31 23:55 UTC (105,120 values)"
    ]
    # One band (and its <title>) and one legend entry (a group, its swatch and its label) more than without.
    assert _elements(chart.svg) - _elements(plain) == 2 + 3
    assert _elements(chart.svg) < 200


def test_many_marks_of_a_kind_are_merged_into_at_most_max_marks_bands():
    day = 86400.0
    rows = [(i * day, 100.0 + i % 5, False) for i in range(3000)]
    # Every other value qualified: 1,500 runs of one value each.
    marks = [Mark("qualified", i * day, i * day, 1, note="ICE") for i in range(0, 3000, 2)]
    spec = charts.HydrographSpec(start=0, end=2999 * day, daily=True, unit="ft^3/s", marks=marks)
    chart = charts.hydrograph(rows, spec)
    bands = _titles(chart.svg, "mark qualified")
    assert len(bands) <= MAX_MARKS + 1
    assert chart.marks == {"qualified": 1500}
    # Every marked value is in one band, counted once.
    counts = [int(re.search(r"\(([\d,]+) (?:of about [\d,]+ )?values?", t).group(1).replace(",", "")) for t in bands]
    assert sum(counts) == 1500


# --- Gaps ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stored_gap_is_shaded_with_its_first_and_last_missing_time(viewer_client):
    series = continuous_series_with_values(2000)  # 5-minute values from 2025-01-01 00:00 UTC to 01-07 22:35
    _utc_station(series)
    first_missing = dt.datetime(2025, 1, 3, 10, tzinfo=dt.UTC)
    ContinuousValue.objects.filter(
        series=series, time__gte=first_missing, time__lt=first_missing + dt.timedelta(hours=2)
    ).delete()
    response = _get(viewer_client, series, HTMX, kind="continuous", start="2025-01-01", end="2025-01-06")
    svg = response.context["chart"].svg
    assert _titles(svg, "mark gap") == ["Gap: 2025-01-03 10:00 UTC → 2025-01-03 11:55 UTC (24 missing)"]
    x, width = (float(v) for v in re.search(r'class="mark gap" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg).groups())
    # The band spans the two hours on the time axis: 64 px left margin, 920 px for the 6 days.
    assert x == pytest.approx(64 + 920 * (2 * 86400 + 10 * 3600) / (6 * 86400), abs=0.1)
    assert width == pytest.approx(920 * (115 * 60) / (6 * 86400), abs=0.2)
    assert 'class="legend-gap"' in svg
    # The quality page lists the same gap.
    quality = series_quality(series, dt.date(2025, 1, 1), dt.date(2025, 1, 6))
    assert [(g.start, g.end, g.missing) for g in quality.gaps] == [
        (first_missing, first_missing + dt.timedelta(minutes=115), 24)
    ]


@pytest.mark.django_db
def test_a_gap_no_longer_than_the_tolerance_is_not_shaded(viewer_client, settings):
    series = continuous_series_with_values(600)
    _utc_station(series)
    ContinuousValue.objects.filter(series=series, time__in=[
        dt.datetime(2025, 1, 1, 5, 0, tzinfo=dt.UTC), dt.datetime(2025, 1, 1, 5, 5, tzinfo=dt.UTC)
    ]).delete()  # fmt: skip
    assert settings.QUALITY_GAP_CONTINUOUS_INTERVALS == 2
    svg = _get(viewer_client, series, kind="continuous", start="2025-01-01", end="2025-01-02").context["chart"].svg
    assert _titles(svg, "mark gap") == []


# --- Screening flags ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_spike_is_marked_at_its_value(viewer_client):
    series = _plain_daily(100)
    _set(series, 60, value=5000.0)
    svg = _get(viewer_client, series, start="2020-01-01", end="2020-04-09").context["chart"].svg
    assert _titles(svg, "mark spike") == ["Spike: 5,000 ft³/s at 2020-03-01"]
    assert 'class="legend-spike"' in svg
    ring = re.search(r'<circle class="mark spike" cx="([\d.]+)"', svg)
    assert float(ring.group(1)) == pytest.approx(64 + 920 * 60 / 99, abs=0.1)


@pytest.mark.django_db
def test_zero_flat_and_negative_runs_are_marked_along_the_top(viewer_client):
    series = _plain_daily(100)
    for day in range(20, 30):  # ten days of 55.5: a flat line (7 days or more)
        _set(series, day, value=55.5)
    _set(series, 50, value=0.0)  # one zero day (1 day or more)
    for day in (70, 71, 72):
        _set(series, day, value=-1.5 - day)
    svg = _get(viewer_client, series, start="2020-01-01", end="2020-04-09").context["chart"].svg
    assert _titles(svg, "mark flat") == ["Flat line at 55.5 ft³/s: 2020-01-21 → 2020-01-30 (10 values)"]
    assert _titles(svg, "mark zero") == ["Zero flow: 2020-02-20 (1 value)"]
    assert _titles(svg, "mark negative") == ["Negative values: 2020-03-11 → 2020-03-13 (3 values)"]


def _daily_record():
    """A daily record with one of every flag and two gaps, factory values (nulls every 97 days) otherwise."""
    series = daily_series_with_values(400)
    DailyValue.objects.filter(series=series).update(qualifiers=[])
    for day in range(30, 40):
        _set(series, day, value=77.0)
    for day in (120, 121):
        _set(series, day, value=0.0)
    _set(series, 200, value=-3.0)
    _set(series, 260, value=9000.0)
    DailyValue.objects.filter(
        series=series, date__range=(DAY0 + dt.timedelta(days=300), DAY0 + dt.timedelta(days=310))
    ).delete()
    return series


@pytest.mark.django_db
def test_the_chart_flags_and_gaps_are_the_quality_modules(viewer_client):
    series = _daily_record()
    start, end = dt.date(2020, 1, 5), dt.date(2021, 2, 28)  # past the record: no trailing gap
    quality = series_quality(series, start, end)
    epoch = dt.datetime.combine(start, dt.time.min, dt.UTC).timestamp()
    marks = screen(series, epoch, dt.datetime.combine(end, dt.time.min, dt.UTC).timestamp() + 86400)

    def day(t: float) -> dt.date:
        return dt.datetime.fromtimestamp(t, dt.UTC).date()

    assert {f.kind for f in quality.flags} == {"flat", "zero", "negative", "spike"}
    assert [(m.kind, day(m.start), day(m.end), m.values) for m in marks.flags] == [
        (f.kind, f.start, f.end, f.values) for f in quality.flags
    ]
    assert len(quality.gaps) == 1
    assert [(day(m.start), day(m.end), m.values) for m in marks.gaps] == [
        (g.start, g.end, g.missing) for g in quality.gaps
    ]


@pytest.mark.django_db
def test_continuous_gaps_and_flags_are_the_quality_modules_across_an_interval_change():
    fifteen = continuous_series_with_values(400, step_minutes=15)  # 2025-01-01 00:00 .. 01-05 03:45
    series_start = dt.datetime(2025, 1, 5, 4, tzinfo=dt.UTC)
    five = continuous_series_with_values(1500, start=series_start)  # then 5-minute values to 01-10 08:55
    ContinuousValue.objects.filter(series=five).update(series=fifteen)
    values = ContinuousValue.objects.filter(series=fifteen)
    values.filter(
        time__range=(dt.datetime(2025, 1, 2, 6, tzinfo=dt.UTC), dt.datetime(2025, 1, 2, 8, tzinfo=dt.UTC))
    ).delete()
    values.filter(
        time__range=(dt.datetime(2025, 1, 7, 6, tzinfo=dt.UTC), dt.datetime(2025, 1, 8, 8, tzinfo=dt.UTC))
    ).update(value=42.0)
    values.filter(time=dt.datetime(2025, 1, 9, 12, tzinfo=dt.UTC)).update(value=4000.0)
    start, end = dt.date(2025, 1, 1), dt.date(2025, 1, 10)
    quality = series_quality(fifteen, start, end)
    marks = screen(
        fifteen,
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp(),
        dt.datetime(2025, 1, 11, tzinfo=dt.UTC).timestamp(),
    )

    def when(t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, dt.UTC)

    assert {f.kind for f in quality.flags} == {"flat", "spike"}
    assert [(m.kind, when(m.start), when(m.end), m.values) for m in marks.flags] == [
        (f.kind, f.start, f.end, f.values) for f in quality.flags
    ]
    # The 15-minute gap (06:00 … 08:00: 9 missing) and the trailing end of the range after 2025-01-10 08:55.
    assert [(g.start, g.missing) for g in quality.gaps][0] == (dt.datetime(2025, 1, 2, 6, tzinfo=dt.UTC), 9)
    assert [(when(m.start), when(m.end), m.values) for m in marks.gaps] == [
        (g.start, g.end, g.missing) for g in quality.gaps
    ]


# --- Log axis ----------------------------------------------------------------------------------------------


def _tick_labels(svg: str) -> list[str]:
    return re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', svg)


@pytest.mark.django_db
def test_the_log_axis_is_labelled_in_decades_and_counts_the_values_it_cannot_draw(viewer_client):
    series = _plain_daily(100)  # values 100 … 106
    for day, value in ((10, 0.0), (11, -2.0), (12, 0.0), (80, 3.0)):
        _set(series, day, value=value)
    for headers in ({}, HTMX):
        response = _get(viewer_client, series, headers, start="2020-01-01", end="2020-04-09", scale="log")
        chart, body = response.context["chart"], response.content.decode()
        assert chart.log and 'data-scale="log"' in chart.svg and "log scale)" in chart.svg
        # 3 … 106 on decades 1 … 1,000, with minor ticks at 2 and 5 (304 px for 3 decades is room enough).
        assert _tick_labels(chart.svg) == ["1", "2", "5", "10", "20", "50", "100", "200", "500", "1,000"]
        assert chart.nonpositive == 3
        assert "3 values ≤ 0 not drawn on the log axis." in body
        # Left out of the line, which breaks there as at a missing value.
        assert chart.points == 100 - 3
    linear = _get(viewer_client, series, start="2020-01-01", end="2020-04-09").context["chart"]
    assert not linear.log and "not drawn" not in linear.svg and "1,000" not in _tick_labels(linear.svg)


@pytest.mark.django_db
def test_a_reduced_chart_on_a_log_axis_counts_every_value_at_or_below_zero(viewer_client):
    series = continuous_series_with_values(20_000)  # bucketed per pixel column in the database
    _utc_station(series)
    zeros = ContinuousValue.objects.filter(series=series).order_by("time").values_list("pk", flat=True)[5000:5037]
    ContinuousValue.objects.filter(pk__in=list(zeros)).update(value=0.0)
    response = _get(viewer_client, series, HTMX, kind="continuous", start="2025-01-01", end="2025-03-31", scale="log")
    chart = response.context["chart"]
    assert chart.log and chart.values == 20_000 and chart.nonpositive == 37
    assert "37 values ≤ 0 not drawn on the log axis." in response.content.decode()
    labels = _tick_labels(chart.svg)
    assert {"100", "1,000"} <= set(labels) and all(re.fullmatch(r"[125]0*|[125],000", label) for label in labels)


def test_log_ticks_are_decades_only_where_a_decade_is_short():
    rows = [(float(i), 10.0 ** (i % 9 - 3), False) for i in range(100)]  # 0.001 … 100,000: 8 decades
    chart = charts.hydrograph(rows, charts.HydrographSpec(start=0, end=99, daily=False, unit="ft^3/s", log=True))
    assert _tick_labels(chart.svg) == ["0.001", "0.01", "0.1", "1", "10", "100", "1,000", "10,000", "100,000"]
    assert all(math.isfinite(float(y)) for y in re.findall(r'y1="([^"]+)"', chart.svg))


@pytest.mark.django_db
def test_a_range_without_a_value_above_zero_is_drawn_linear_and_says_why(viewer_client):
    series = _plain_daily(20)
    DailyValue.objects.filter(series=series).update(value=0.0)
    response = _get(viewer_client, series, start="2020-01-01", end="2020-01-20", scale="log")
    chart = response.context["chart"]
    assert not chart.log and 'data-scale="linear"' in chart.svg
    assert "No value in this range is above 0, so the axis is linear." in response.content.decode()
    assert chart.points == 20


@pytest.mark.django_db
def test_the_scale_is_kept_by_the_range_form_the_presets_and_the_kind_tabs(viewer_client):
    series = _plain_daily(400)
    body = _get(viewer_client, series, scale="log").content.decode()
    assert '<input type="hidden" name="scale" value="log">' in body
    presets = re.findall(r'class="btn btn-sm btn-outline-secondary" href="\?([^"]+)"', body)
    assert presets and all("scale=log" in query for query in presets)
    assert "?kind=daily&amp;scale=log" in body
    toggle = body.split('id="scale-toggle"')[1].split("</div>")[0]
    assert 'id="scale-linear" href="?kind=daily&amp;start=2020-02-04&amp;end=2021-02-03&amp;scale=linear"' in toggle
    assert re.search(r'class="btn btn-outline-secondary active" id="scale-log"', toggle)


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, HTMX])
def test_an_unknown_scale_is_refused(viewer_client, headers):
    series = _plain_daily(10)
    response = _get(viewer_client, series, headers, scale="bogus")
    assert response.status_code == 400
    assert response.content.decode() == "Unknown scale “bogus”: use log or linear."


@pytest.mark.django_db
def test_a_reduced_chart_reads_only_the_columns_that_can_hold_a_mark_and_finds_the_same_marks():
    series = continuous_series_with_values(20_000)  # 2025-01-01 … 02-09 10:35, 5-minute values
    values = ContinuousValue.objects.filter(series=series)

    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(2025, 1, day, hour, minute, tzinfo=dt.UTC)

    values.filter(time__range=(at(5, 3), at(5, 4))).delete()  # a gap: 13 missing
    values.filter(time__range=(at(9, 1), at(10, 7))).update(value=42.0)  # a flat line of 30 h
    values.filter(time=at(14, 12, 5)).update(value=5000.0)  # a spike
    values.filter(time__range=(at(18, 0), at(18, 2))).update(value=0.0)  # 2 h of zeros
    values.filter(time__range=(at(21, 6), at(21, 6, 10))).update(value=-4.0)  # three negative values
    values.filter(time__in=[at(25, 9), at(27, 17, 35)]).update(value=None)  # lone nulls: no gap
    start = at(1, 0).timestamp()
    end = dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp()
    data = export_chart_data(series, start, end)
    assert data.bucketed

    slices = slices_to_read(data.columns, (end - start) / 1000, daily=False)
    assert slices is not None
    read = sum(hi - lo for lo, hi in slices)
    assert read < 0.5 * (end - start)
    everything, sliced = screen(series, start, end), screen(series, start, end, slices=slices)
    assert [m.kind for m in everything.flags] == ["flat", "spike", "zero", "negative"]
    assert [(m.start, m.values) for m in everything.gaps][0] == (at(5, 3).timestamp(), 13)
    assert sliced == everything


def export_chart_data(series, start: float, end: float):
    from monitoring.export import chart_data

    first = dt.datetime.fromtimestamp(start, dt.UTC).date()
    last = dt.datetime.fromtimestamp(end, dt.UTC).date() - dt.timedelta(days=1)
    return chart_data(series, first, last, start_epoch=start, span=end - start, width=1000)
