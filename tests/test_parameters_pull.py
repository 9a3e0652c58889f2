"""Pulling parameters beyond discharge (issue 24): every selected series of every station is mirrored exactly, in
requests that stay parameter-blind (2 × ceil(series / batch) on an incremental run), each series with its own
progress, and a parameter a station lacks is reported once and skipped."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from acquisition.models import ContinuousValue, DailyValue, PullLogEntry, PullRun, PullRunStation
from acquisition.smart_append import run_inline
from pulls.models import StationProgress
from stations.models import TimeSeries
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation

pytestmark = pytest.mark.django_db

START = dt.date(2026, 10, 1)
STAGE_AND_TEMPERATURE = ["00060", "00065", "00010"]


def stations(n: int, parameters: tuple[str, ...] = ("00060", "00065", "00010")) -> list[FakeStation]:
    # Wisconsin: the water drops below 0 °C in winter (tests.fakeusgs.data).
    return [
        FakeStation(
            f"USGS-{41000000 + i:08d}", f"TEST CREEK {i} NR SOMEWHERE WI", state_code="55", state_name="Wisconsin",
            daily_begin=dt.date(2026, 9, 1), continuous_begin=dt.date(2026, 11, 1), parameters=parameters,
        )
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def fake(settings):
    fake = FakeUSGS(stations=stations(20))
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    yield fake
    fake.stop()


def stored(series_id: str, model=DailyValue) -> list[tuple]:
    order = "date" if model is DailyValue else "time"
    rows = model.objects.filter(series__time_series_id=series_id).order_by(order)
    return [(getattr(r, order), r.value, r.qualifiers, r.approval_status, r.last_modified) for r in rows]


def truth(fake: FakeUSGS, series_id: str, start) -> list[tuple]:
    return [
        (e["time"], e["value"], e["qualifiers"], e["approval_status"], e["last_modified"])
        for e in fake.expected_series(series_id, start)
    ]


def daily_series(fake: FakeUSGS) -> list:
    return [s for s in fake.series if s.kind == "daily"]


def test_discharge_stage_and_temperature_of_20_stations_are_mirrored_exactly_in_few_requests(fake):
    sites = [s.monitoring_location_id for s in fake.stations]
    config = make_configuration(fake, sites, start_date=START, parameters=STAGE_AND_TEMPERATURE)
    series = daily_series(fake)
    assert len(series) == 20 * 5  # discharge mean, stage mean, temperature mean, max and min

    first = run_inline(config)

    assert first.status == PullRun.Status.SUCCEEDED, first.message
    assert first.stations.count() == first.stations_succeeded == 100
    # One series lookup for every parameter at once, then one window for all 100 series (parameter-blind).
    paths = [r.path.rsplit("/", 2)[-2] for r in fake.requests]
    assert paths == ["time-series-metadata", "daily"]
    assert first.requests_made == 2
    for s in series:
        assert stored(s.id) == truth(fake, s.id, START), (s.station.monitoring_location_id, s.parameter_code)
    # Each series landed in the catalog with its own parameter, statistic and unit string.
    temperature = TimeSeries.objects.filter(parameter_code="00010")
    assert sorted(set(temperature.values_list("statistic_id", flat=True))) == ["00001", "00002", "00003"]
    assert set(temperature.values_list("unit", flat=True)) == {"degC"}
    assert set(TimeSeries.objects.filter(parameter_code="00065").values_list("unit", flat=True)) == {"ft"}

    fake.today += dt.timedelta(days=1)
    fake.clear_requests()
    again = run_inline(config)

    assert again.status == PullRun.Status.SUCCEEDED, again.message
    # The window and the revision pass: 2 × ceil(100 series / 2,000 a batch).
    assert len(fake.requests) == again.requests_made == 2 * math.ceil(len(series) / 2000)
    assert again.values_inserted == len(series)  # one new day per series
    for s in series:
        assert stored(s.id) == truth(fake, s.id, START)
    assert DailyValue.objects.count() == sum(len(truth(fake, s.id, START)) for s in series)


def test_batches_mix_parameters_and_cost_two_requests_per_batch_of_series(fake, settings):
    settings.ACQUISITION_BATCH_SERIES = 40
    sites = [s.monitoring_location_id for s in fake.stations]
    config = make_configuration(fake, sites, start_date=START, parameters=STAGE_AND_TEMPERATURE)
    run_inline(config)
    fake.today += dt.timedelta(days=1)
    fake.clear_requests()

    again = run_inline(config)

    assert again.status == PullRun.Status.SUCCEEDED, again.message
    assert again.batches.count() == math.ceil(100 / 40)
    assert len(fake.requests) == again.requests_made == 2 * math.ceil(100 / 40)
    # A batch asks by series id alone, so one request carries several parameters.
    asked = [r.params.get("time_series_id", "").split(",") for r in fake.requests]
    by_id = {s.id: s.parameter_code for s in fake.series}
    assert all(set(map(by_id.get, ids)) == {"00060", "00065", "00010"} for ids in asked)
    assert not any("parameter_code" in r.params for r in fake.requests)
    for s in daily_series(fake):
        assert stored(s.id) == truth(fake, s.id, START)


def test_a_parameter_added_later_loads_from_the_start_date_while_the_others_append(fake):
    sites = [s.monitoring_location_id for s in fake.stations[:3]]
    config = make_configuration(fake, sites, start_date=START, parameters=["00060"])
    run_inline(config)
    fake.today += dt.timedelta(days=1)
    config.parameters = ["00060", "00065"]
    config.save()

    again = run_inline(config)

    assert again.status == PullRun.Status.SUCCEEDED, again.message
    stage = [fake.series_of(site, "daily", parameter_code="00065") for site in sites]
    for s in stage:
        values = stored(s.id)
        assert values == truth(fake, s.id, START) and values[0][0] == START
    discharge = again.stations.filter(parameter_code="00060")
    assert all(row.window_start.date() == fake.today - dt.timedelta(days=1) for row in discharge)
    progress = StationProgress.objects.filter(configuration=config, parameter_code="00065")
    assert progress.count() == 3 and all(p.newest_date == fake.today for p in progress)


def test_a_parameter_a_station_lacks_is_reported_once_and_skipped(settings):
    with_temperature = stations(1)
    without = FakeStation("USGS-41999999", "DISCHARGE ONLY CREEK WI", state_code="55", daily_begin=dt.date(2026, 9, 1))
    fake = FakeUSGS(stations=[*with_temperature, without])
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    try:
        config = make_configuration(
            fake, [with_temperature[0].monitoring_location_id, without.monitoring_location_id], start_date=START,
            parameters=["00060", "00010"],
        )  # fmt: skip

        first = run_inline(config)

        assert first.status == PullRun.Status.SUCCEEDED, first.message
        skipped = first.stations.filter(status=PullRunStation.Status.SKIPPED)
        assert sorted(skipped.values_list("location__monitoring_location_id", "parameter_code", "statistic_id")) == [
            (without.monitoring_location_id, "00010", ""),
            (without.monitoring_location_id, "00010", "00001"),
            (without.monitoring_location_id, "00010", "00002"),
        ]
        assert skipped.get(statistic_id="").error.startswith(
            f"No such series: USGS lists no daily water temperature series for {without.monitoring_location_id}."
        )
        # Its discharge is pulled as usual.
        assert stored(fake.primary_series_id(without.monitoring_location_id)) == truth(
            fake, fake.primary_series_id(without.monitoring_location_id), START
        )
        warnings = PullLogEntry.objects.filter(run=first, message__startswith="No such series")
        assert warnings.count() == 3

        fake.today += dt.timedelta(days=1)
        fake.clear_requests()
        again = run_inline(config)

        assert again.status == PullRun.Status.SUCCEEDED
        assert not any(r.path.endswith("time-series-metadata/items") for r in fake.requests)  # not asked again
        later = again.stations.filter(status=PullRunStation.Status.SKIPPED)
        assert later.count() == 3 and all("skipped without asking again" in row.error for row in later)
    finally:
        fake.stop()


def test_continuous_precipitation_joins_on_the_series_id_although_its_metadata_has_no_statistic(settings):
    rain = FakeStation(
        "USGS-05427718", "YAHARA RIVER AT WINDSOR, WI", state_code="55", daily_begin=dt.date(2026, 9, 1),
        continuous_begin=dt.date(2026, 11, 15), parameters=("00060", "00045"), time_zone_abbreviation="CST",
    )  # fmt: skip
    fake = FakeUSGS(stations=[rain])
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    try:
        config = make_configuration(
            fake, [rain.monitoring_location_id], start_date=dt.date(2026, 11, 15), data_type="continuous",
            parameters=["00045"],
        )  # fmt: skip

        run = run_inline(config)

        assert run.status == PullRun.Status.SUCCEEDED, run.message
        series = fake.series_of(rain.monitoring_location_id, "continuous", parameter_code="00045")
        assert fake._series_properties(series)["statistic_id"] is None
        stored_rows = stored(series.id, ContinuousValue)
        assert stored_rows and stored_rows == [
            (e["time"], e["value"], e["qualifiers"], e["approval_status"], e["last_modified"])
            for e in fake.expected_series(series.id, dt.datetime(2026, 11, 15, 6, tzinfo=dt.UTC))
        ]
        assert TimeSeries.objects.get(time_series_id=series.id).unit == "in"
    finally:
        fake.stop()
