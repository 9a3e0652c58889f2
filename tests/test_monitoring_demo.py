"""`make demo`'s setup: a catalog from the fake USGS server and three short-schedule configurations, idempotently."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from pulls.models import PullConfiguration
from stations.models import TimeSeries
from streamflow.composition.management.commands.demo_setup import CONTINUOUS_NAME, DAILY_NAME, PARAMETERS_NAME

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_api(settings):
    from tests.fakeusgs import FakeUSGS

    fake = FakeUSGS(today=dt.date(2026, 11, 20))
    url = fake.start(port=0)
    settings.USGS_API_URL = url.rstrip("/")
    yield url
    fake.stop()


def test_it_imports_stations_and_creates_three_short_schedule_configurations(fake_api):
    out = io.StringIO()
    call_command("demo_setup", "--no-first-run", stdout=out)
    call_command("demo_setup", "--no-first-run", stdout=io.StringIO())  # again: nothing duplicated

    daily = PullConfiguration.objects.get(name=DAILY_NAME)
    continuous = PullConfiguration.objects.get(name=CONTINUOUS_NAME)
    assert PullConfiguration.objects.count() == 3
    assert daily.data_type == "daily_mean" and continuous.data_type == "continuous"
    assert daily.enabled and continuous.enabled
    assert daily.cron_expression == "1-59/2 * * * *" and continuous.cron_expression == "*/2 * * * *"
    assert daily.stations.count() == 5 and continuous.stations.count() == 5
    assert daily.stations.filter(monitoring_location_id="USGS-01646500").exists()
    assert "5 stations" in out.getvalue()
    # The third pulls stage and water temperature beside discharge, at the stations the catalog says have stage.
    stage = PullConfiguration.objects.get(name=PARAMETERS_NAME)
    assert stage.parameters == ["00060", "00065", "00010"] and stage.data_type == "daily_mean"
    sites = set(stage.stations.values_list("monitoring_location_id", flat=True))
    assert sites and sites == set(
        TimeSeries.objects.filter(parameter_code="00065", location__state_code="MD").values_list(
            "location__monitoring_location_id", flat=True
        )
    )
    assert TimeSeries.objects.filter(parameter_code="00010", statistic_id="00002", unit="degC").exists()


def test_it_refuses_to_run_against_the_real_api(settings):
    settings.USGS_API_URL = "https://api.waterdata.usgs.gov/ogcapi/v1"
    with pytest.raises(CommandError, match="real USGS API"):
        call_command("demo_setup", "--no-first-run", stdout=io.StringIO())
    assert not PullConfiguration.objects.exists()
