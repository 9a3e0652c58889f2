"""A qualifier band that stands for values scattered over a long span says it was merged and how much of the span
its values cover, and is drawn faint (issue 23 item 5: "ICE, ESTIMATED: 2026-01-01 → 2026-08-23 (5,034 values)"
read as ice in August)."""

from __future__ import annotations

import re

import pytest

from acquisition.models import ContinuousValue
from monitoring import charts
from monitoring.hydrograph_mark_drawing import Mark
from tests.monitoring_factories import continuous_series_with_values
from tests.test_hydrograph_marks import _get, _titles, _utc_station

QUERY = {"kind": "continuous", "start": "2025-01-01", "end": "2025-12-31"}


@pytest.mark.django_db
def test_scattered_ice_over_eight_months_is_a_faint_band_that_says_it_was_merged_and_covers_little(viewer_client):
    series = continuous_series_with_values(105_120)  # a year of 5-minute values
    _utc_station(series)
    # One value in 20 from January to August carries ICE: 5 % of those months' values.
    january_to_august = ContinuousValue.objects.filter(series=series, time__month__lte=8).order_by("time")
    marked = list(january_to_august.values_list("time", flat=True))[::20]
    ContinuousValue.objects.filter(series=series, time__in=marked).update(qualifiers=["ICE"])
    total = ContinuousValue.objects.filter(series=series, qualifiers=["ICE"]).count()

    svg = _get(viewer_client, series, {"HTTP_HX_REQUEST": "true"}, **QUERY).context["chart"].svg

    titles = _titles(svg, "mark qualified")
    assert titles
    assert all("marks merged to fit the chart" in t and "of about" in t for t in titles), titles
    counted = sum(int(re.search(r"([\d,]+) of about", t).group(1).replace(",", "")) for t in titles)
    assert counted == total
    shares = [int(re.search(r"values, (\d+) % of the span", t).group(1)) for t in titles]
    assert all(3 <= share <= 8 for share in shares), titles
    coverages = [float(c) for c in re.findall(r'class="mark qualified"[^>]*data-coverage="([\d.]+)"', svg)]
    assert coverages and all(c < 0.1 for c in coverages)
    opacities = [float(o) for o in re.findall(r'class="mark qualified"[^>]*fill-opacity="([\d.]+)"', svg)]
    assert opacities and max(opacities) < 0.3


def test_a_run_of_consecutive_qualified_days_keeps_its_plain_title_and_solid_band():
    day = 86400.0
    rows = [(i * day, 100.0, False) for i in range(60)]
    spec = charts.HydrographSpec(
        start=0, end=59 * day, daily=True, unit="ft^3/s", marks=[Mark("qualified", 10 * day, 14 * day, 5, note="ICE")]
    )
    svg = charts.hydrograph(rows, spec).svg
    assert _titles(svg, "mark qualified") == ["Qualifiers ICE: 1970-01-11 → 1970-01-15 (5 values)"]
    assert 'fill-opacity="0.75"' in svg and "data-coverage" not in svg


def test_merged_single_days_say_how_much_of_their_span_they_cover():
    day = 86400.0
    rows = [(i * day, 100.0 + i % 5, False) for i in range(3000)]
    marks = [Mark("qualified", i * day, i * day, 1, note="ICE") for i in range(0, 3000, 2)]  # every other day
    spec = charts.HydrographSpec(start=0, end=2999 * day, daily=True, unit="ft^3/s", marks=marks)
    titles = _titles(charts.hydrograph(rows, spec).svg, "mark qualified")
    assert titles
    assert all("marks merged to fit the chart" in t for t in titles)
    assert all(re.search(r"values, (4\d|5\d) % of the span", t) for t in titles), titles[:3]
