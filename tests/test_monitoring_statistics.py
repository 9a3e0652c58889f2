"""Configuration statistics: runs, success rate, values stored per station, last success, mean duration, charts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from acquisition.models import PullRun
from pulls.models import PullConfiguration, PullConfigurationStation, StationProgress
from tests.factories import PullConfigurationFactory, PullRunFactory
from tests.monitoring_factories import daily_series_with_values

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _run(config, status, seconds, inserted=0):
    start = timezone.now() - dt.timedelta(hours=1)
    return PullRunFactory(
        configuration=config,
        status=status,
        started_at=start,
        finished_at=start + dt.timedelta(seconds=seconds),
        values_inserted=inserted,
    )


def test_it_shows_runs_success_rate_duration_and_values_per_station(viewer_client):
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.DAILY_MEAN)
    series = daily_series_with_values(120)
    PullConfigurationStation.objects.create(configuration=config, location=series.location)
    StationProgress.objects.update_or_create(
        configuration=config,
        location=series.location,
        defaults={"time_series": series, "newest_date": dt.date(2020, 4, 29)},
    )
    _run(config, PullRun.Status.SUCCEEDED, 10, inserted=120)
    last = _run(config, PullRun.Status.SUCCEEDED, 30)
    _run(config, PullRun.Status.FAILED, 20)
    _run(config, PullRun.Status.PARTIAL, 20)
    PullRunFactory(configuration=config, status=PullRun.Status.SKIPPED)

    response = viewer_client.get(reverse("monitoring:configuration_statistics", args=[config.pk]), **HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<section id="config-statistics"')
    assert response.context["counts"]["total"] == 5
    assert response.context["success_rate"] == 50
    assert response.context["mean_duration"] == dt.timedelta(seconds=20)
    assert response.context["last_success"] == last
    assert body.count("<svg") == 2 and body.count("<rect x=") >= 8
    assert series.location.monitoring_location_id not in body  # the station table lives on the configuration page


def test_the_full_page_shows_the_configuration_and_auto_disable_reason(viewer_client):
    config = PullConfigurationFactory(enabled=False, auto_disabled_reason="Paused automatically after 3 failed runs")
    response = viewer_client.get(reverse("monitoring:configuration_statistics", args=[config.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and config.name in body
    assert "Paused automatically after 3 failed runs" in body
    assert response.context["success_rate"] is None


def test_an_unknown_configuration_is_404(viewer_client):
    assert viewer_client.get(reverse("monitoring:configuration_statistics", args=[99999])).status_code == 404


def test_the_mean_duration_keeps_tenths_of_a_second_like_the_run_pages(viewer_client):
    config = PullConfigurationFactory()
    start = timezone.now() - dt.timedelta(minutes=5)
    PullRunFactory(configuration=config, started_at=start, finished_at=start + dt.timedelta(milliseconds=1300))
    body = viewer_client.get(reverse("monitoring:configuration_statistics", args=[config.pk])).content.decode()
    assert '<dd class="col-sm-3" id="stat-mean-duration">1.3 s</dd>' in body
