"""How unusual is today (issue 24): a station whose newest value the fake puts at the 5th percentile shows "much
below normal" on its page, in its configuration's table, on the percentile maps and in the API; a short record is
not ranked and says why."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acquisition import normals
from acquisition.models import NormalsFetch, SeriesNormal
from acquisition.smart_append import run_inline
from monitoring.percentiles import class_of, percentile_of, rank
from stations.models import MonitoringLocation, TimeSeries
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.api_helpers import bearer
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
LOW, HIGH, SHORT = "USGS-52000001", "USGS-52000002", "USGS-52000003"


def catalog() -> list[FakeStation]:
    return [
        FakeStation(LOW, "LOW CREEK NR SOMEWHERE MD", daily_begin=dt.date(1996, 10, 1), continuous_interval=None,
                    latitude=39.1, longitude=-77.1),
        FakeStation(HIGH, "HIGH CREEK NR SOMEWHERE MD", daily_begin=dt.date(2000, 10, 1), continuous_interval=None,
                    latitude=39.2, longitude=-77.2),
        FakeStation(SHORT, "SHORT CREEK NR SOMEWHERE MD", daily_begin=dt.date(2019, 10, 1), continuous_interval=None,
                    latitude=39.3, longitude=-77.3),
    ]  # fmt: skip


@pytest.fixture
def fake(settings):
    fake = FakeUSGS(stations=catalog(), today=TODAY)
    settings.USGS_API_URL = fake.start()
    settings.USGS_STATISTICS_URL = fake.statistics_url
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    yield fake
    fake.stop()


def place(fake: FakeUSGS, site: str, pct: float, day: dt.date = TODAY) -> float:
    """The fake's value of `site` on `day` moved to the `pct` percentile of its day of the year."""
    value = fake.value_at_percentile(site, day, pct)
    fake.revise(site, day, value, last_modified=dt.datetime.combine(day, dt.time(9), dt.UTC))
    return value


@pytest.fixture
def ranked(fake):
    place(fake, LOW, 5)
    place(fake, HIGH, 95)
    config = make_configuration(fake, [LOW, HIGH, SHORT], start_date=dt.date(2026, 10, 1))
    for st in fake.stations:  # placed on the maps
        MonitoringLocation.objects.filter(monitoring_location_id=st.monitoring_location_id).update(
            latitude=st.latitude, longitude=st.longitude
        )
    assert run_inline(config).status == "succeeded"
    normals.refresh_normals(normals.mirrored_daily_series())
    return config


def test_the_5th_percentile_shows_much_below_normal_on_the_station_page(ranked, viewer_client):
    html = viewer_client.get(reverse("stations:detail", args=[LOW])).content.decode()
    section = html.split('id="station-percentile"')[1].split("</section>")[0]
    assert 'data-class="much_below"' in section and "Much below normal" in section
    assert "2026-11-20" in section  # the date it is for
    assert "percentile" in section
    high = viewer_client.get(reverse("stations:detail", args=[HIGH])).content.decode()
    assert 'data-class="much_above"' in high.split('id="station-percentile"')[1].split("</section>")[0]


def test_a_short_record_is_not_ranked_and_says_why(ranked, viewer_client):
    html = viewer_client.get(reverse("stations:detail", args=[SHORT])).content.decode()
    section = html.split('id="station-percentile"')[1].split("</section>")[0]
    assert 'data-class="not_ranked"' in section
    assert "fewer than 10" in section or "nan" in section


def test_the_percentile_maps_colour_the_station_by_its_class(ranked, viewer_client):
    for url in (reverse("monitoring:percentile_map"), reverse("monitoring:configuration_percentile_map",
                                                              args=[ranked.pk])):  # fmt: skip
        data = viewer_client.get(url).json()
        by_site = {p[0]: p for p in data["points"]}
        assert by_site[LOW][4] == "much_below" and by_site[HIGH][4] == "much_above"
        assert by_site[SHORT][4] == "not_ranked"
        counts = {s["key"]: s["count"] for s in data["states"]}
        assert counts["much_below"] == 1 and counts["much_above"] == 1 and counts["not_ranked"] == 1
        much_below = next(s for s in data["states"] if s["key"] == "much_below")
        assert much_below["color"] == "#b12121" and "<10" in much_below["label"]
        assert "2026-11-20" in data["note"]
        assert "percentile" in by_site[LOW][5]


def test_the_configuration_table_shows_each_class(ranked, viewer_client):
    html = viewer_client.get(ranked.get_absolute_url()).content.decode()
    table = html.split('id="config-stations"')[1].split("</table>")[0]
    low_row = next(row for row in table.split("<tr>") if LOW in row)
    assert 'data-class="much_below"' in low_row
    assert 'id="percentile-map"' in html


def test_the_api_gives_the_class_and_the_normals(ranked, viewer, client):
    headers = bearer(viewer)
    body = client.get(f"/api/v1/stations/{LOW}/percentile", headers=headers).json()
    assert body["class"] == "much_below" and body["label"] == "Much below normal"
    assert body["date"] == "2026-11-20" and 0 <= body["percentile"] < 10
    short = client.get(f"/api/v1/stations/{SHORT}/percentile", headers=headers).json()
    assert short["class"] == "not_ranked" and short["reason"]

    series_id = TimeSeries.objects.get(location__monitoring_location_id=LOW).time_series_id
    normals_body = client.get(f"/api/v1/series/{series_id}/normals", headers=headers).json()
    assert len(normals_body["days"]) == 366
    day = next(d for d in normals_body["days"] if d["day"] == "11-20")
    stored = SeriesNormal.objects.get(series__time_series_id=series_id, month=11, day=20)
    assert (day["p05"], day["p95"], day["sample_count"]) == (stored.p05, stored.p95, stored.sample_count)
    assert client.get("/api/v1/series/nope/normals", headers=headers).status_code == 404
    assert client.get("/api/v1/stations/USGS-00000000/percentile", headers=headers).status_code == 404


def test_an_operator_refreshes_normals_and_a_viewer_cannot(fake, operator, viewer):
    operator_client, viewer_client = Client(), Client()
    operator_client.force_login(operator)
    viewer_client.force_login(viewer)
    config = make_configuration(fake, [LOW], start_date=dt.date(2026, 10, 1))
    assert run_inline(config).status == "succeeded"
    page = operator_client.get(reverse("stations:detail", args=[LOW])).content.decode()
    assert "Normals not fetched yet" in page and 'id="refresh-normals"' in page
    assert 'id="refresh-normals"' not in viewer_client.get(reverse("stations:detail", args=[LOW])).content.decode()
    url = reverse("monitoring:refresh_station_normals", args=[LOW])
    assert viewer_client.post(url).status_code == 403
    assert not SeriesNormal.objects.exists()
    response = operator_client.post(url, follow=True)
    assert "Normals refreshed: 366 days" in response.content.decode()
    assert SeriesNormal.objects.count() == 366


def test_refresh_failure_says_so_and_changes_nothing(fake, operator_client):
    config = make_configuration(fake, [LOW], start_date=dt.date(2026, 10, 1))
    assert run_inline(config).status == "succeeded"
    fake.faults.error_next = 100  # every request fails
    response = operator_client.post(reverse("monitoring:refresh_station_normals", args=[LOW]), follow=True)
    assert "USGS did not answer" in response.content.decode()
    assert not SeriesNormal.objects.exists()


# --- the ranking itself --------------------------------------------------------------------------------------


def normal(**values) -> SeriesNormal:
    base = {"p05": 10.0, "p10": 20.0, "p25": 40.0, "p50": 60.0, "p75": 80.0, "p90": 100.0, "p95": 120.0,
            "minimum": 5.0, "maximum": 200.0, "sample_count": 30, "month": 11, "day": 20}  # fmt: skip
    return SeriesNormal(**{**base, **values})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5.0, 0.0), (10.0, 5.0), (15.0, 7.5), (30.0, 17.5), (60.0, 50.0), (90.0, 82.5), (160.0, 97.5), (200.0, 100.0)],
)
def test_the_percentile_is_linear_between_usgs_points(value, expected):
    assert percentile_of(value, normal()) == pytest.approx(expected)


def test_classes_follow_waterwatch_boundaries():
    assert [class_of(p) for p in (0, 9, 10, 24, 25, 75, 76, 90, 91, 100)] == [
        "much_below", "much_below", "below", "below", "normal", "normal", "above", "above", "much_above",
        "much_above",
    ]  # fmt: skip
    series = TimeSeries(kind="daily", unit="ft^3/s")
    fetched = NormalsFetch(days=366)
    assert rank(series, TODAY, 4.0, normal(), fetched).key == "record_low"
    assert rank(series, TODAY, 201.0, normal(), fetched).key == "record_high"
    assert rank(series, TODAY, 60.0, normal(sample_count=9), fetched).key == "not_ranked"
    assert rank(series, TODAY, 60.0, normal(p25=None), fetched).key == "not_ranked"


# --- the hydrograph's bands ----------------------------------------------------------------------------------


def test_the_daily_hydrograph_draws_the_bands_of_the_days_shown(ranked, viewer_client):
    url = reverse("monitoring:station_data", args=[LOW]) + "?kind=daily&start=2026-10-01&end=2026-11-20"
    response = viewer_client.get(url)
    svg = str(response.context["svg"])
    assert svg.count('class="band-p10_p90"') == 1 and svg.count('class="band-p25_p75"') == 1
    assert 'class="band-median"' in svg and 'class="legend-p10_p90"' in svg
    assert "chart-band-note" in response.content.decode()
    assert 'class="band-p10_p90"' in str(response.context["phone_svg"])
    # The median line passes through each day's stored median: 51 days, 51 points.
    median = svg.split('class="band-median"')[1].split('points="')[1].split('"')[0].split()
    assert len(median) == 51


def test_a_short_record_draws_no_band_and_says_why(ranked, viewer_client):
    url = reverse("monitoring:station_data", args=[SHORT]) + "?kind=daily&start=2026-10-01&end=2026-11-20"
    response = viewer_client.get(url)
    assert "band-p10_p90" not in str(response.context["svg"])
    note = response.content.decode().split('id="chart-band-note">')[1].split("</p>")[0]
    assert "No percentile band on 51 of 51 days" in note and "fewer than 10" in note


def test_bands_stretch_the_axis_and_sit_where_their_values_are():
    from monitoring import charts, normal_bands

    day0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
    rows = [(day0 + i * 86400, 50.0, False) for i in range(5)]
    days = [normal_bands.Day(day0 + i * 86400, 20.0, 40.0, 60.0, 80.0, 400.0) for i in range(5)]
    spec = charts.HydrographSpec(start=day0, end=day0 + 4 * 86400, daily=True, unit="ft^3/s", normals=days)
    svg = charts.hydrograph(rows, spec).svg
    plain = charts.hydrograph(rows, charts.HydrographSpec(start=day0, end=day0 + 4 * 86400, daily=True, unit="ft^3/s"))
    assert "band-p10_p90" not in plain.svg and "p10–p90" not in plain.svg
    # The y axis reaches the p90 of 400 (ticks up to 400), though every value is 50.
    assert ">400<" in svg and ">400<" not in plain.svg
    # The data line (50) lies inside the p10–p90 band (20 to 400): between its upper and lower edge.
    data_y = float(svg.split('class="series approved"')[1].split('points="')[1].split(",")[1].split()[0])
    outer = svg.split('class="band-p10_p90"')[1].split('points="')[1].split('"')[0].split()
    top_y, bottom_y = float(outer[0].split(",")[1]), float(outer[-1].split(",")[1])
    assert top_y < data_y < bottom_y


def test_the_map_ranks_a_large_network_in_a_few_queries(django_assert_max_num_queries):
    from acquisition.models import DailyValue
    from monitoring.percentile_views import percentile_points
    from pulls.models import PullConfiguration, PullConfigurationStation

    n = 1500
    config = PullConfiguration.objects.create(name="Big", data_type="daily_mean", start_date=TODAY)
    locations = MonitoringLocation.objects.bulk_create(
        MonitoringLocation(monitoring_location_id=f"USGS-9{i:07d}", site_number=f"9{i:07d}", name=f"G {i}",
                           latitude=30 + i / 1000, longitude=-90)
        for i in range(n)
    )  # fmt: skip
    PullConfigurationStation.objects.bulk_create(
        PullConfigurationStation(configuration=config, location=loc) for loc in locations
    )
    series = TimeSeries.objects.bulk_create(
        TimeSeries(location=loc, kind="daily", time_series_id=f"{i:032x}", primary=True)
        for i, loc in enumerate(locations)
    )
    DailyValue.objects.bulk_create(DailyValue(series=s, date=TODAY, value=float(i % 100)) for i, s in enumerate(series))
    SeriesNormal.objects.bulk_create(
        SeriesNormal(series=s, month=11, day=20, minimum=0.0, p05=5, p10=10, p25=25, p50=50, p75=75, p90=90, p95=95,
                     maximum=99.5, sample_count=20)
        for s in series
    )  # fmt: skip
    NormalsFetch.objects.bulk_create(NormalsFetch(series=s, fetched_at=timezone.now(), days=1) for s in series)
    with django_assert_max_num_queries(12):
        data = percentile_points()
    counts = {s["key"]: s["count"] for s in data["states"]}
    # Values 0..99 against percentiles equal to themselves: 0-9 much below, 10-24 below, 25-75 normal, ...
    assert counts == {"record_high": 0, "much_above": 9 * 15, "above": 15 * 15, "normal": 51 * 15, "below": 15 * 15,
                      "much_below": 10 * 15, "record_low": 0, "not_ranked": 0}  # fmt: skip
    assert len(data["points"]) == n
