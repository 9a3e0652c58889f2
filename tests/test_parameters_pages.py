"""Parameters on the pages (issue 24): picking them on the configuration form, searching by them, every series on
the station page, units in words, and a chart and screening of each parameter by its own rules."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from acquisition.models import DailyValue
from acquisition.quality_sql import Thresholds
from monitoring.hydrograph_screening import screen
from pulls.models import PullConfiguration, StationProgress
from stations.parameters import selections, unit_in_words
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, TimeSeriesFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _form(**overrides) -> dict:
    data = {
        "action": "save", "name": "Stage and temperature", "description": "", "data_type": "daily_mean",
        "strategy": "append", "start_date": "2020-01-01", "schedule_type": "daily", "cron_expression": "",
        "timezone": "UTC", "enabled": "on", "parameters_shown": "1",
    }  # fmt: skip
    data.update(overrides)
    return data


def _basket(client, *locations) -> None:
    session = client.session
    session["basket"] = [loc.monitoring_location_id for loc in locations]
    session.save()


# --- units and selections ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "words"),
    [("ft^3/s", "ft³/s"), ("ft", "ft"), ("degC", "°C"), ("uS/cm", "µS/cm at 25 °C"), ("_FNU", "FNU"), ("in", "in"),
     ("furlongs/fortnight", "furlongs/fortnight"), ("", "")],
)  # fmt: skip
def test_units_are_shown_in_words_and_unknown_ones_as_given(unit, words):
    assert unit_in_words(unit) == words


def test_temperature_pulls_its_daily_mean_max_and_min_and_precipitation_its_sum():
    assert selections(["00060", "00010", "00045"], daily=True) == [
        ("00060", ""), ("00010", ""), ("00010", "00001"), ("00010", "00002"), ("00045", ""),
    ]  # fmt: skip
    assert selections(["00060", "00010"], daily=False) == [("00060", ""), ("00010", "")]


# --- the configuration form -------------------------------------------------------------------------------------


def test_the_form_offers_parameters_with_discharge_ticked_by_default(operator_client):
    _basket(operator_client, MonitoringLocationFactory())
    body = operator_client.get(reverse("pulls:create")).content.decode()

    assert 'name="parameters" id="id_parameters_0" value="00060" checked' in body
    assert 'value="00010">' in body and "Water temperature (°C; daily mean, maximum, minimum)" in body
    assert "Precipitation (in; daily sum)" in body


def test_it_saves_the_parameters_picked_with_a_progress_row_per_series(operator_client):
    station = MonitoringLocationFactory()
    _basket(operator_client, station)

    response = operator_client.post(reverse("pulls:create"), _form(parameters=["00010", "00060", "00065"]))

    assert response.status_code == 302
    config = PullConfiguration.objects.get()
    assert config.parameters == ["00060", "00065", "00010"]  # in the catalog's order
    rows = StationProgress.objects.filter(configuration=config, location=station)
    assert sorted(rows.values_list("parameter_code", "statistic_id")) == [
        ("00010", ""), ("00010", "00001"), ("00010", "00002"), ("00060", ""), ("00065", ""),
    ]  # fmt: skip
    page = operator_client.get(config.get_absolute_url()).content.decode()
    assert "Discharge, Gage height, Water temperature" in page


def test_no_parameter_ticked_is_refused_and_changes_nothing(operator_client):
    config = PullConfigurationFactory(parameters=["00060", "00065"])
    config.add_stations([MonitoringLocationFactory().pk])
    url = reverse("pulls:edit", args=[config.pk])

    response = operator_client.post(url, _form(name=config.name))

    assert response.status_code == 200
    assert "Pick at least one parameter to pull" in response.content.decode()
    config.refresh_from_db()
    assert config.parameters == ["00060", "00065"]


def test_an_unknown_parameter_is_refused_with_a_sentence(operator_client):
    _basket(operator_client, MonitoringLocationFactory())

    response = operator_client.post(reverse("pulls:create"), _form(parameters=["00060", "99999"]))

    assert response.status_code == 200
    assert "99999 is not a parameter this product pulls" in response.content.decode()
    assert not PullConfiguration.objects.exists()


def test_a_form_that_does_not_send_parameters_keeps_them(operator_client):
    config = PullConfigurationFactory(parameters=["00060", "00010"])
    config.add_stations([MonitoringLocationFactory().pk])
    data = _form(name=config.name)
    del data["parameters_shown"]  # as the API's create/edit, which does not know them yet

    response = operator_client.post(reverse("pulls:edit", args=[config.pk]), data)

    assert response.status_code == 302
    config.refresh_from_db()
    assert config.parameters == ["00060", "00010"]


# --- search and the station page --------------------------------------------------------------------------------


def test_search_filters_stations_that_have_a_parameter(viewer_client):
    with_temperature = MonitoringLocationFactory()
    TimeSeriesFactory(location=with_temperature, parameter_code="00010", unit="degC")
    discharge_only = MonitoringLocationFactory()
    TimeSeriesFactory(location=discharge_only)

    body = viewer_client.get(reverse("stations:search"), {"parameter": "00010"}, headers=HTMX).content.decode()
    everyone = viewer_client.get(reverse("stations:search"), headers=HTMX).content.decode()

    assert with_temperature.monitoring_location_id in body
    assert discharge_only.monitoring_location_id not in body
    assert discharge_only.monitoring_location_id in everyone


def test_the_station_page_lists_every_series_with_its_unit_in_words(viewer_client):
    station = MonitoringLocationFactory()
    TimeSeriesFactory(location=station, parameter_code="00010", statistic_id="00001", unit="degC")
    TimeSeriesFactory(location=station, unit="ft^3/s")
    TimeSeriesFactory(location=station, parameter_code="00095", unit="uS/cm", kind="continuous")
    TimeSeriesFactory(location=station, parameter_code="99133", unit="mg/l as N")

    body = viewer_client.get(station.get_absolute_url()).content.decode()

    table = body[body.index('id="station-series"') : body.index('id="station-configurations"')]
    labels = ["Discharge, daily mean", "Water temperature, daily maximum", "Specific conductance, continuous",
              "parameter 99133, daily mean"]  # fmt: skip
    assert [table.index(label) for label in labels] == sorted(table.index(label) for label in labels)
    assert "<td>°C</td>" in table and "<td>µS/cm at 25 °C</td>" in table and "<td>ft³/s</td>" in table
    assert "<td>mg/l as N</td>" in table  # unknown: as given


# --- charts and screening by parameter ---------------------------------------------------------------------------


def _winter(series, values: list[float]) -> None:
    day = dt.date(2026, 1, 1)
    DailyValue.objects.bulk_create(
        DailyValue(series=series, date=day + dt.timedelta(days=i), value=v, approval_status="Approved")
        for i, v in enumerate(values)
    )


def test_negative_water_temperature_is_not_flagged_but_negative_discharge_is():
    temperature = TimeSeriesFactory(parameter_code="00010", unit="degC")
    discharge = TimeSeriesFactory(location=temperature.location)
    values = [1.5, 0.4, -0.3, -0.8, -0.2, 0.6, 1.1, 0.9, 1.4, 2.0]
    _winter(temperature, values)
    _winter(discharge, values)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    end = start + 10 * 86400

    assert [m.kind for m in screen(temperature, start, end).flags] == []
    assert [m.kind for m in screen(discharge, start, end).flags] == ["negative"]
    assert not Thresholds.for_parameter("00010").negative_is_error
    assert Thresholds.for_parameter("00060") == Thresholds.from_settings()


def test_parameter_rules_come_from_settings(settings):
    settings.QUALITY_PARAMETER_RULES = {**settings.QUALITY_PARAMETER_RULES, "00065": {"flat_daily_days": 3}}

    assert Thresholds.for_parameter("00065").flat_daily_days == 3
    assert Thresholds.for_parameter("00065").spike_factor == settings.QUALITY_SPIKE_FACTOR


def test_a_temperature_chart_names_its_axis_and_unit_and_offers_no_log_axis(viewer_client):
    temperature = TimeSeriesFactory(parameter_code="00010", unit="degC")
    TimeSeriesFactory(location=temperature.location)
    _winter(temperature, [1.5, 0.4, -0.3, -0.8, -0.2, 0.6, 1.1, 0.9, 1.4, 2.0])
    url = reverse("monitoring:station_data", args=[temperature.location.monitoring_location_id])

    response = viewer_client.get(url, {"kind": "daily", "parameter": "00010"})
    body = response.content.decode()

    assert response.status_code == 200
    assert ">Water temperature (°C)</text>" in body
    assert 'id="scale-toggle"' not in body
    assert "Negative" not in body[body.index("<svg") : body.index("</svg>")]
    assert 'name="parameter" value="00010"' in body  # the range form keeps the parameter
    refused = viewer_client.get(url, {"kind": "daily", "parameter": "00010", "scale": "log"})
    assert refused.status_code == 400
    assert "A log axis is offered for discharge only" in refused.content.decode()


def test_the_discharge_chart_is_still_the_default_with_its_log_axis(viewer_client):
    discharge = TimeSeriesFactory(unit="ft^3/s")
    TimeSeriesFactory(location=discharge.location, parameter_code="00010", unit="degC")
    _winter(discharge, [10.0, 12.0, 11.0])
    url = reverse("monitoring:station_data", args=[discharge.location.monitoring_location_id])

    body = viewer_client.get(url).content.decode()

    assert ">Discharge (ft³/s)</text>" in body
    assert 'id="scale-toggle"' in body
    assert "Water temperature, daily mean" in body  # its tab


def test_the_run_page_shows_one_row_per_series_with_distinct_ids(viewer_client):
    from tests.factories import PullRunFactory, PullRunStationFactory

    station = MonitoringLocationFactory()
    run = PullRunFactory()
    for code, stat in [("00060", ""), ("00010", ""), ("00010", "00001")]:
        PullRunStationFactory(run=run, location=station, parameter_code=code, statistic_id=stat)

    body = viewer_client.get(reverse("monitoring:run_detail", args=[run.pk])).content.decode()

    site = station.monitoring_location_id
    assert body.count(f'<tr id="station-{site}"') == 1
    assert f'<tr id="station-{site}-00010"' in body and f'<tr id="station-{site}-0001000001"' in body
    assert ">Water temperature, daily maximum</span>" in body and ">Water temperature</span>" in body


def test_stage_is_drawn_under_discharge_on_the_same_time_axis(viewer_client):
    discharge = TimeSeriesFactory(unit="ft^3/s")
    stage = TimeSeriesFactory(location=discharge.location, parameter_code="00065", unit="ft")
    _winter(discharge, [10.0, 12.0, 30.0, 11.0, 9.0, 9.5, 10.0, 10.5, 11.0, 12.0])
    _winter(stage, [2.1, 2.2, 3.4, 2.2, 2.0, 2.0, 2.1, 2.1, 2.2, 2.2])
    url = reverse("monitoring:station_data", args=[discharge.location.monitoring_location_id])

    alone = viewer_client.get(url, {"start": "2026-01-01", "end": "2026-01-10"}).content.decode()
    both = viewer_client.get(url, {"start": "2026-01-01", "end": "2026-01-10", "with": "00065"}).content.decode()

    assert "Show gage height below, on the same time axis" in alone and 'id="companion-chart"' not in alone
    figure = both[both.index('id="companion-chart"') :]
    companion = figure[figure.index("<svg") : figure.index("</svg>")]
    main = both[both.index("<svg") : both.index("</svg>")]
    assert ">Gage height (ft)</text>" in companion and ">Discharge (ft³/s)</text>" in main

    def x_ticks(svg: str) -> list[str]:  # the time labels under the plot, with their x positions
        return re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle"[^>]*>(\d{4}-\d\d-\d\d)</text>', svg)

    assert x_ticks(main) and x_ticks(main) == x_ticks(companion)
    assert 'name="with" value="00065"' in both  # the range form keeps the companion
    assert "Hide gage height" in both


def test_the_admin_form_saves_parameters_in_the_catalog_order(admin_client):
    from tests.test_pulls_admin import _admin_form

    station = MonitoringLocationFactory()
    data = {**_admin_form(station), "parameters": ["00010", "00065"]}

    response = admin_client.post(reverse("admin:pulls_pullconfiguration_add"), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    config = PullConfiguration.objects.get(name="Admin made")
    assert config.parameters == ["00065", "00010"]


def test_the_station_table_shows_the_first_parameters_usual_series():
    from pulls.progress import station_rows

    station = MonitoringLocationFactory()
    TimeSeriesFactory(location=station, parameter_code="00010", statistic_id="00001", unit="degC")
    mean = TimeSeriesFactory(location=station, parameter_code="00010", statistic_id="00003", unit="degC")
    TimeSeriesFactory(location=station, unit="ft^3/s")
    config = PullConfigurationFactory(parameters=["00010", "00060"])
    config.add_stations([station.pk])

    (row,) = station_rows(config)

    assert row.series == mean
    assert row.progress.parameter_code == "00010" and row.progress.statistic_id == ""
