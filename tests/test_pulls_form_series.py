"""The configuration form says which stations have no series of the chosen data type, and lets the user remove
them or keep them knowingly (issue 13, defect 1); statistics count station outcomes, not only whole runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from acquisition.models import PullRun
from pulls.models import PullConfiguration
from stations.models import TimeSeries
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, TimeSeriesFactory
from tests.test_pulls_form import _basket, _form

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def mixed():
    """Two gages with continuous data, one daily-only, one whose series the catalog does not know."""
    both = [MonitoringLocationFactory(has_daily=True, has_continuous=True) for _ in range(2)]
    for location in both:
        TimeSeriesFactory(location=location, kind=TimeSeries.Kind.CONTINUOUS)
    daily_only = MonitoringLocationFactory(has_daily=True, has_continuous=False)
    TimeSeriesFactory(location=daily_only, kind=TimeSeries.Kind.DAILY)
    unknown = MonitoringLocationFactory(has_daily=False, has_continuous=False)
    return {"both": both, "daily_only": daily_only, "unknown": unknown}


def test_saving_a_continuous_configuration_with_a_daily_only_station_is_refused_with_its_name(operator_client, mixed):
    _basket(operator_client, *mixed["both"], mixed["daily_only"], mixed["unknown"])

    response = operator_client.post(reverse("pulls:create"), _form(data_type="continuous"))

    body = response.content.decode()
    assert response.status_code == 200
    assert not PullConfiguration.objects.exists()
    assert "1 station has no continuous (15/5-minute) discharge series in the catalog" in body
    assert body.count("without-series-badge") == 1
    assert 'id="drop-without-series"' in body


def test_ticking_keep_them_anyway_saves_every_station(operator_client, mixed):
    _basket(operator_client, *mixed["both"], mixed["daily_only"])

    operator_client.post(reverse("pulls:create"), _form(data_type="continuous", keep_without_series="on"))

    assert PullConfiguration.objects.get().stations.count() == 3


def test_remove_them_drops_only_the_stations_without_such_a_series(operator_client, mixed):
    _basket(operator_client, *mixed["both"], mixed["daily_only"], mixed["unknown"])

    response = operator_client.post(
        reverse("pulls:create"), _form(data_type="continuous", action="drop_without_series"), headers=HTMX
    )

    assert "<html" not in response.content.decode()
    assert mixed["daily_only"].monitoring_location_id not in operator_client.session["basket"]
    assert len(operator_client.session["basket"]) == 3
    operator_client.post(reverse("pulls:create"), _form(data_type="continuous"))
    assert PullConfiguration.objects.get().stations.count() == 3


def test_a_daily_configuration_of_the_same_stations_needs_no_warning(operator_client, mixed):
    _basket(operator_client, mixed["both"][0], mixed["daily_only"])

    response = operator_client.post(reverse("pulls:create"), _form(data_type="daily_mean"))

    assert response.status_code == 302


def test_changing_the_data_type_marks_the_stations_live(operator_client, mixed):
    _basket(operator_client, mixed["both"][0], mixed["daily_only"])

    response = operator_client.post(
        reverse("pulls:create"), _form(data_type="continuous", action="refresh_stations"), headers=HTMX
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="form-stations"')
    assert "no continuous (15/5-minute) discharge series" in body


def test_editing_marks_the_stations_that_lack_the_configurations_data_type(operator_client, mixed):
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.CONTINUOUS)
    config.stations.add(mixed["both"][0], mixed["daily_only"])

    body = operator_client.get(reverse("pulls:edit", args=[config.pk])).content.decode()

    assert body.count("without-series-badge") == 1


def test_statistics_count_station_outcomes_so_a_mostly_good_partial_run_is_not_zero(viewer_client):
    config = PullConfigurationFactory()
    start = timezone.now() - dt.timedelta(hours=1)
    for _ in range(2):
        PullRunFactory(
            configuration=config, status=PullRun.Status.PARTIAL, stations_total=20, stations_succeeded=16,
            stations_failed=4, started_at=start, finished_at=start + dt.timedelta(seconds=5),
        )  # fmt: skip

    response = viewer_client.get(reverse("monitoring:configuration_statistics", args=[config.pk]), headers=HTMX)

    body = response.content.decode()
    assert response.context["station_success_rate"] == 80
    assert "80% (32 of 40 station pulls)" in body
    assert response.context["last_stored"] is not None and "(partial run)" in body
