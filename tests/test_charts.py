"""The station data page: a server-side SVG hydrograph, downsampled, provisional values marked, gaps as gaps."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from monitoring import charts
from stations.models import MonitoringLocation
from tests.factories import MonitoringLocationFactory
from tests.monitoring_factories import continuous_series_with_values, daily_series_with_values

HTMX = {"HTTP_HX_REQUEST": "true"}


def _utc_station(series) -> None:
    # A station without a known zone: the range is whole UTC days, as the stored times are generated.
    MonitoringLocation.objects.filter(pk=series.location_id).update(tz_abbreviation="", uses_dst=None)


def _points(svg: str) -> int:
    polylines = sum(len(p.split()) for p in re.findall(r' points="([^"]*)"', svg))
    return polylines + svg.count("<circle")


def _url(series, **params):
    base = reverse("monitoring:station_data", args=[series.location.monitoring_location_id])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


@pytest.mark.django_db
def test_the_page_draws_the_daily_hydrograph_with_axes_and_units(viewer_client):
    series = daily_series_with_values(400)
    response = viewer_client.get(_url(series))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and "<svg" in body
    assert "Discharge (ft³/s)" in body and ">Date<" in body
    # Default range: the last year of the record.
    assert response.context["chart"].values == 366


@pytest.mark.django_db
def test_provisional_values_are_drawn_apart_with_a_legend(viewer_client):
    series = daily_series_with_values(200, provisional_from=150)
    body = viewer_client.get(_url(series, start="2020-01-01", end="2020-12-31"), **HTMX).content.decode()
    assert "<html" not in body and body.lstrip().startswith('<section id="hydrograph"')
    assert 'class="series provisional"' in body and 'stroke-dasharray="5 3"' in body
    assert 'class="series approved"' in body
    assert "Provisional</text>" in body and "Approved</text>" in body
    assert "50 provisional" in body


@pytest.mark.django_db
def test_105000_continuous_values_become_at_most_a_few_thousand_points(viewer_client):
    series = continuous_series_with_values(105_000, provisional_from=100_000)
    _utc_station(series)
    response = viewer_client.get(_url(series, kind="continuous", start="2025-01-01", end="2025-12-31"), **HTMX)
    chart = response.context["chart"]
    assert chart.values == 105_000
    assert chart.provisional == 5_000
    assert _points(chart.svg) == chart.points + 1  # the provisional line starts at the approved line's last point
    assert chart.points <= 4_000
    assert 'class="series provisional"' in chart.svg


def test_gaps_and_null_values_break_the_line():
    day = 86400.0
    rows = [(i * day, 10.0 + i, False) for i in range(10)]
    rows += [(i * day, 10.0 + i, False) for i in range(20, 30)]  # ten missing days
    rows[3] = (3 * day, None, False)  # a null value
    chart = charts.hydrograph(rows, charts.HydrographSpec(start=0, end=29 * day, daily=True, unit="ft^3/s"))
    # Three pieces: days 0-2, days 4-9, days 20-29.
    assert chart.svg.count("<polyline") == 3
    assert chart.values == 20


def test_a_status_change_starts_a_new_line_joined_to_the_previous_point():
    rows = [(i * 86400.0, float(i), i >= 5) for i in range(10)]
    svg = charts.hydrograph(rows, charts.HydrographSpec(start=0, end=9 * 86400.0, daily=True, unit="ft^3/s")).svg
    approved, provisional = re.findall(r' points="([^"]*)"', svg)
    assert approved.split()[-1] == provisional.split()[0]


def test_min_and_max_of_each_pixel_column_survive_downsampling():
    rows = [(float(i), 100.0, False) for i in range(10_000)]
    rows[5_000] = (5_000.0, 900.0, False)  # a one-sample peak
    rows[7_000] = (7_000.0, 1.0, False)
    chart = charts.hydrograph(rows, charts.HydrographSpec(start=0, end=9_999, daily=False, unit="ft^3/s", width=300))
    ys = [float(p.split(",")[1]) for p in re.findall(r' points="([^"]*)"', chart.svg)[0].split()]
    assert chart.points <= 2 * 300
    # The peak is the highest point drawn (smallest y) and the trough the lowest.
    assert min(ys) < 40 and max(ys) > 300


def test_an_empty_range_says_so():
    svg = charts.hydrograph([], charts.HydrographSpec(start=0, end=86400, daily=True, unit="ft^3/s")).svg
    assert "No values stored in this range." in svg


@pytest.mark.django_db
def test_a_station_without_series_explains_what_to_do(viewer_client):
    location = MonitoringLocationFactory()
    body = viewer_client.get(reverse("monitoring:station_data", args=[location.monitoring_location_id])).content
    assert b"No time series is known for this station yet" in body


@pytest.mark.django_db
def test_an_unknown_station_is_404(viewer_client):
    assert viewer_client.get(reverse("monitoring:station_data", args=["USGS-00000000"])).status_code == 404


@pytest.mark.django_db
def test_the_range_form_re_renders_the_chart_and_keeps_the_url(viewer_client):
    series = daily_series_with_values(100)
    body = viewer_client.get(_url(series)).content.decode()
    assert 'hx-target="#hydrograph"' in body and 'hx-push-url="true"' in body
    response = viewer_client.get(_url(series, start="2020-02-01", end="2020-02-10"), **HTMX)
    assert response.context["chart"].values == 10
    assert "start=2020-02-01&amp;end=2020-02-10" in response.content.decode()


@pytest.mark.django_db
def test_a_reversed_range_is_swapped_and_says_so(viewer_client):
    series = daily_series_with_values(10)
    response = viewer_client.get(_url(series, start="2020-01-08", end="2020-01-03"), **HTMX)
    body = response.content.decode()
    assert "so the two were swapped: showing 2020-01-03 to 2020-01-08" in body
    assert response.context["chart"].values == 6
    assert 'value="2020-01-03"' in body and 'value="2020-01-08"' in body


def test_date_ticks_are_readable_for_long_and_short_ranges():
    year = charts._x_ticks(0, 10 * 365 * 86400.0)
    assert [label for _, label in year][:2] == ["1970", "1972"]
    hours = charts._x_ticks(0, 86400.0)
    assert hours and all(":" in label for _, label in hours)
    assert dt.datetime.fromtimestamp(year[1][0], dt.UTC).month == 1


@pytest.mark.django_db
def test_a_long_range_is_reduced_in_the_database_and_still_shows_gaps(viewer_client):
    from acquisition.models import ContinuousValue

    series = continuous_series_with_values(20_000)  # ~69 days of 5-minute values
    _utc_station(series)
    ContinuousValue.objects.filter(
        series=series, time__gte=dt.datetime(2025, 2, 1, tzinfo=dt.UTC), time__lt=dt.datetime(2025, 2, 3, tzinfo=dt.UTC)
    ).delete()
    response = viewer_client.get(_url(series, kind="continuous", start="2025-01-01", end="2025-03-31"), **HTMX)
    chart = response.context["chart"]
    assert chart.values == 20_000 - 2 * 288
    assert chart.points <= 2_100
    assert chart.svg.count('<polyline class="series approved"') == 2


@pytest.mark.django_db
def test_far_off_dates_are_refused_not_a_server_error(viewer_client):
    series = continuous_series_with_values(10)
    response = viewer_client.get(_url(series, kind="continuous", start="2025-01-01", end="9999-12-31"), **HTMX)
    assert response.status_code == 200
    assert "between the years 1800 and 2200" in response.content.decode()
    csv_url = reverse("monitoring:station_data_csv", args=[series.location.monitoring_location_id])
    assert viewer_client.get(csv_url, {"kind": "continuous", "end": "9999-12-31"}).status_code == 400
    assert viewer_client.get(reverse("monitoring:runs"), {"date_to": "9999-12-31"}).status_code == 200


def test_bar_chart_labels_are_readable_at_half_width():
    svg = charts.bar_chart([3.0, 5.0], ["#1", "#2"], title="Run duration", unit="s")
    size = int(svg.split('font-size="')[1].split('"')[0])
    width = svg.split('viewBox="0 0 ')[1].split()[0]
    assert size >= 11
    assert f'width="{width}"' in svg  # drawn one unit per pixel, not stretched or squeezed by its column


def test_a_phone_hydrograph_puts_its_legend_under_the_plot_not_over_the_newest_values():
    """Stop 28 saw the phone legend cover the top of the plot; the drawing now grows by the legend's rows."""
    import re

    day = 86400.0
    rows = [(i * day, 100.0 + i, i > 20) for i in range(30)]  # approved, then provisional: two legend entries
    spec = charts.HydrographSpec(
        start=0, end=29 * day, daily=True, unit="ft^3/s", width=charts.PHONE_WIDTH, height=charts.PHONE_HEIGHT
    )

    svg = charts.hydrograph(rows, spec).svg

    plot = re.search(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="#fff" stroke', svg)
    plot_bottom = int(plot.group(2)) + int(plot.group(4))
    legend_y = float(re.search(r'<g class="legend" transform="translate\([\d.]+,([\d.]+)\)">', svg).group(1))
    height = float(re.search(r'viewBox="0 0 \d+ ([\d.]+)"', svg).group(1))
    assert legend_y >= charts.PHONE_HEIGHT > plot_bottom  # under the plot and its axis labels
    assert height > legend_y  # and inside the drawing
    wide = charts.hydrograph(rows, charts.HydrographSpec(start=0, end=29 * day, daily=True, unit="ft^3/s")).svg
    assert 'viewBox="0 0 1000 360"' in wide  # the desktop drawing keeps its legend inside the plot
