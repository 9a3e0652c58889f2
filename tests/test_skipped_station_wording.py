"""A station without the configuration's data type: the form says what a run then does (skips it), and the run
page shows it skipped with no bar, not a full bar beside "0 / 0" (issue 23, item 9)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from acquisition.models import PullRunStation
from acquisition.smart_append import run_inline
from stations.models import MonitoringLocation, TimeSeries
from tests.acquisition_factories import make_configuration
from tests.factories import TimeSeriesFactory

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db
WELL = "USGS-391727076481301"  # no discharge series at the fake (nor at USGS)
GAGE = "USGS-01646500"


@pytest.fixture
def config(fake_usgs):
    config = make_configuration(fake_usgs, [WELL, GAGE])
    # The catalog knows the well's series, none of them daily: the form flags it for a daily configuration.
    well = MonitoringLocation.objects.get(monitoring_location_id=WELL)
    MonitoringLocation.objects.filter(pk=well.pk).update(has_daily=False, has_continuous=True)
    TimeSeriesFactory(location=well, kind=TimeSeries.Kind.CONTINUOUS)
    return config


def row(body: str, location_id: str) -> str:
    match = re.search(rf'<tr id="station-{location_id}".*?</tr>', body, re.S)
    assert match, f"no row for {location_id}"
    return match.group(0)


def test_the_form_says_the_run_skips_it_and_the_run_does(operator_client, config):
    form = operator_client.get(reverse("pulls:edit", args=[config.pk])).content.decode()
    warning = re.search(r'<div class="alert alert-warning small" id="without-series".*?</div>\s*</div>', form, re.S)

    run = run_inline(config)

    station = run.stations.get(location__monitoring_location_id=WELL)
    assert station.status == PullRunStation.Status.SKIPPED
    assert warning and "failed" not in warning.group(0) and "fails" not in warning.group(0)
    # The form names the outcome with the run page's own word for it.
    assert station.get_status_display() in warning.group(0)
    assert "every run would skip it" in warning.group(0)


def test_a_skipped_station_shows_no_progress_bar_and_no_windows(viewer_client, config):
    run = run_inline(config)

    body = viewer_client.get(reverse("monitoring:run_detail", args=[run.pk])).content.decode()

    skipped, pulled = row(body, WELL), row(body, GAGE)
    assert "station-progress" not in skipped and "nothing pulled" in skipped
    assert "0 / 0" not in skipped and "—" in skipped
    assert 'station-progress bg-success" style="width: 100%"' in pulled
