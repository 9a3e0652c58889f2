"""The dashboard: configuration counts, runs by status, failures today, stale stations apart from failing pulls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acquisition.models import PullRun
from monitoring.run_statistics import next_fire_time
from pulls import cron as pulls_cron
from pulls.models import PullConfiguration, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory
from tests.monitoring_factories import running_run

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _progress(config, **kwargs):
    return StationProgress.objects.create(configuration=config, location=MonitoringLocationFactory(), **kwargs)


def test_it_counts_configurations_runs_and_failures(viewer_client):
    PullConfigurationFactory(enabled=True)
    PullConfigurationFactory(enabled=False)
    PullRunFactory(status=PullRun.Status.SUCCEEDED)
    PullRunFactory(status=PullRun.Status.FAILED)
    PullRunFactory(status=PullRun.Status.FAILED)
    old = PullRunFactory(status=PullRun.Status.FAILED)
    PullRun.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))

    response = viewer_client.get("/")
    context = response.context

    assert response.status_code == 200
    # Runs' factories create their own configurations: 2 + 4.
    assert context["configurations_total"] == 6
    assert context["configurations_paused"] == 1
    assert context["runs_24h_total"] == 3
    assert ("Failed", "failed", 2) in context["runs_24h"]
    assert context["failed_today"] == 2
    assert "<html" in response.content.decode()


def test_the_cards_fragment_polls_itself_while_visible(viewer_client):
    response = viewer_client.get("/", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="dashboard-cards"')
    assert 'hx-trigger="every 10s"' in body and "data-poll-visible" in body


def test_running_runs_show_their_progress(viewer_client):
    run = running_run(stations=2)
    body = viewer_client.get("/", **HTMX).content.decode()
    assert f"#{run.pk} {run.configuration_name}" in body
    assert 'style="width: 25%"' in body


def test_silent_gages_are_shown_apart_from_failing_pulls(viewer_client):
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.DAILY_MEAN)
    now = timezone.now()
    silent = _progress(config, newest_date=(now - dt.timedelta(days=10)).date(), last_success_at=now)
    failing = _progress(
        config, newest_date=(now - dt.timedelta(days=10)).date(), consecutive_failures=2, last_error="HTTP 500"
    )
    _progress(config, newest_date=now.date(), last_success_at=now)  # fresh
    _progress(config)  # never tried: new, not stale
    paused = PullConfigurationFactory(enabled=False)
    _progress(paused, newest_date=dt.date(2020, 1, 1), last_success_at=now)

    response = viewer_client.get("/")
    context = response.context

    assert [s.location for s in context["silent_stations"]] == [silent.location]
    assert [s.location for s in context["failing_stations"]] == [failing.location]
    body = response.content.decode()
    assert "silent gage" in body and "pull failing" in body and "HTTP 500" in body


def test_continuous_staleness_uses_its_own_threshold(viewer_client, settings):
    settings.STALE_CONTINUOUS_HOURS = 6
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.CONTINUOUS)
    now = timezone.now()
    stale = _progress(config, newest_time=now - dt.timedelta(hours=7), last_success_at=now)
    _progress(config, newest_time=now - dt.timedelta(hours=5), last_success_at=now)
    context = viewer_client.get("/").context
    assert [s.location for s in context["silent_stations"]] == [stale.location]


def test_next_scheduled_runs_come_from_each_configurations_cron(viewer_client):
    soon = PullConfigurationFactory(schedule_type="custom", cron_expression="*/5 * * * *")
    PullConfigurationFactory(schedule_type="weekly")
    PullConfigurationFactory(schedule_type="custom", cron_expression="*/5 * * * *", enabled=False)
    context = viewer_client.get("/").context
    names = [item.configuration.name for item in context["next_runs"]]
    assert names[0] == soon.name
    assert len(names) == 2


def test_next_fire_time_is_what_beat_will_do_across_a_dst_gap():
    after = dt.datetime(2026, 3, 8, 6, 30, tzinfo=dt.UTC)  # 01:30 EST, the night clocks jump to 03:00
    new_york = __import__("zoneinfo").ZoneInfo("America/New_York")
    # Beat's TzAwareCrontab runs the nonexistent local 02:30 at 03:30 EDT that day rather than skipping the day
    # (pulls/tests pin the same behaviour against beat's own ModelEntry): the dashboard says what beat will do.
    assert (
        next_fire_time("30 2 * * *", "America/New_York", after)
        == pulls_cron.next_runs(pulls_cron.parse("30 2 * * *"), "America/New_York", count=1, after=after)[0]
    )
    assert next_fire_time("30 2 * * *", "America/New_York", after).date() == dt.date(2026, 3, 8)
    assert next_fire_time("30 2 * * *", "America/New_York", after).tzinfo == new_york
    assert next_fire_time("0 */6 * * *", "UTC", after) == dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)
    assert next_fire_time("0 0 30 2 *", "UTC", after) is None
    assert next_fire_time("0 0 * * *", "Mars/Olympus_Mons", after) is None


def test_the_failed_card_counts_partial_runs_of_today_too(viewer_client):
    PullRunFactory(status=PullRun.Status.PARTIAL)
    PullRunFactory(status=PullRun.Status.PARTIAL)
    PullRunFactory(status=PullRun.Status.FAILED)

    response = viewer_client.get("/")

    body = response.content.decode()
    assert response.context["troubled_today"] == 3
    assert "Failed or partial runs today" in body
    assert ">1 failed</a>" in body and ">2 partial</a>" in body
