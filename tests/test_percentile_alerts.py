"""Alert rules on WaterWatch classes (issue 24), through the real alert path (monitoring.alerts' once-per-condition
state, the ALERT_EMAILS email task and the channels' deliveries): a drought watch fires once and recovers once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from acquisition.models import DailyValue, NormalsFetch, PullRun, SeriesNormal
from monitoring import percentile_alerts
from monitoring.models import AlertChannel, AlertDelivery, AlertRule, AlertState
from tests.factories import (
    MonitoringLocationFactory,
    PullConfigurationFactory,
    PullRunFactory,
    PullRunStationFactory,
    TimeSeriesFactory,
)

pytest_plugins = ["tests.alert_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

START = dt.date(2026, 11, 1)
DAY = dt.timedelta(days=1)
# Every day's normals: p10 = 50, p90 = 150 (minimum 10, maximum 300), 30 years.
NORMAL = {"p05": 40.0, "p10": 50.0, "p25": 70.0, "p50": 100.0, "p75": 120.0, "p90": 150.0, "p95": 170.0,
          "minimum": 10.0, "maximum": 300.0, "sample_count": 30}  # fmt: skip


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_EMAILS = ["oncall@example.org"]
    settings.SITE_URL = "https://streamflow.example.org"
    settings.PERCENTILE_ALERT_LOW_DAYS = 3
    settings.PERCENTILE_ALERT_HIGH_DAYS = 1
    settings.PERCENTILE_MIN_SAMPLES = 10
    return settings


@pytest.fixture
def channel(monkeypatch):
    """A Slack channel whose rule names the drought watch and high flow, with recovery notices (deliveries
    recorded, not posted)."""
    monkeypatch.setattr("monitoring.channels._enqueue", lambda pk: None)
    slack = AlertChannel.objects.create(name="Hydro", kind=AlertChannel.Kind.SLACK, url="https://hooks.example.org/x")
    AlertRule.objects.create(channel=slack, conditions=["drought", "high_flow"], send_recovery=True)
    return slack


@pytest.fixture
def station():
    config = PullConfigurationFactory(name="Drought watch test")
    location = MonitoringLocationFactory(name="DRY CREEK NR SOMEWHERE MD")
    config.add_stations([location.pk])
    series = TimeSeriesFactory(location=location, kind="daily", primary=True)
    SeriesNormal.objects.bulk_create(
        [SeriesNormal(series=series, month=11, day=d, **NORMAL) for d in range(1, 31)]
        + [SeriesNormal(series=series, month=12, day=d, **NORMAL) for d in range(1, 32)]
    )
    NormalsFetch.objects.create(series=series, fetched_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), days=61)
    return series


def store(series, values: list[float], start: dt.date = START) -> None:
    DailyValue.objects.bulk_create(
        DailyValue(series=series, date=start + i * DAY, value=v, approval_status="Provisional")
        for i, v in enumerate(values)
    )


def deliveries(channel) -> list[tuple[str, bool]]:
    return [(d.condition, d.recovered) for d in AlertDelivery.objects.filter(channel=channel).order_by("pk")]


def test_a_drought_watch_fires_once_and_recovers_once(station, channel, committed):
    store(station, [100, 90, 45, 30, 20])  # the newest three below p10 = 50

    assert committed(percentile_alerts.check)["opened"] == 1
    (email,) = mail.outbox
    site = station.location.monitoring_location_id
    assert email.subject == f"[Streamflow] Drought watch: {site} below the 10th percentile for 3 days"
    assert "2026-11-05: 20 ft^3/s" in email.body and "2026-11-03: 45" in email.body
    assert "percentile" in email.body and "/monitoring/stations/" in email.body
    assert deliveries(channel) == [("drought", False)]

    # Still dry the next day: the condition is open already, nothing more is sent.
    store(station, [25], START + 5 * DAY)
    assert committed(percentile_alerts.check)["opened"] == 0
    assert len(mail.outbox) == 1 and deliveries(channel) == [("drought", False)]

    # Rain: the newest value is normal again. One recovery notice, then quiet.
    store(station, [110], START + 6 * DAY)
    assert committed(percentile_alerts.check)["cleared"] == 1
    assert deliveries(channel) == [("drought", False), ("drought", True)]
    assert committed(percentile_alerts.check) == {"checked": 1, "opened": 0, "cleared": 0}
    assert deliveries(channel) == [("drought", False), ("drought", True)]
    state = AlertState.objects.get(kind="drought")
    assert not state.active and state.cleared_at is not None


def test_two_dry_days_or_a_gap_in_them_is_no_drought_watch(station, channel, committed):
    store(station, [100, 100, 100, 30, 20])  # two days below p10, not three
    committed(percentile_alerts.check)
    assert mail.outbox == [] and not AlertState.objects.filter(active=True).exists()
    store(station, [10.5], START + 6 * DAY)  # three low values, but 11-06 is missing between them
    committed(percentile_alerts.check)
    assert mail.outbox == []


def test_unranked_days_do_not_alert(station, channel, committed):
    SeriesNormal.objects.filter(series=station).update(sample_count=5)  # too short a record
    store(station, [20, 20, 20])
    committed(percentile_alerts.check)
    assert mail.outbox == [] and deliveries(channel) == []


def test_high_flow_fires_on_one_day_above_the_90th(station, channel, committed):
    store(station, [100, 100, 400])  # above the maximum: a record high
    committed(percentile_alerts.check)
    (email,) = mail.outbox
    assert "High flow" in email.subject and "record high" in email.body
    assert deliveries(channel) == [("high_flow", False)]


def test_a_finished_run_checks_its_stations(station, channel, committed):
    store(station, [20, 20, 20])
    config = station.location.pull_configurations.get()
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED, stations_total=1, stations_succeeded=1)
    PullRunStationFactory(run=run, location=station.location, status="succeeded")
    committed(percentile_alerts.run_finished, run)
    assert len(mail.outbox) == 1 and deliveries(channel) == [("drought", False)]


def test_a_paused_configuration_clears_its_stations_alerts(station, channel, committed):
    store(station, [20, 20, 20])
    committed(percentile_alerts.check)
    station.location.pull_configurations.update(enabled=False)
    assert committed(percentile_alerts.check)["cleared"] == 1
    assert deliveries(channel) == [("drought", False), ("drought", True)]


def test_off_when_both_settings_are_zero(station, settings, committed):
    settings.PERCENTILE_ALERT_LOW_DAYS = settings.PERCENTILE_ALERT_HIGH_DAYS = 0
    store(station, [20, 20, 20])
    assert committed(percentile_alerts.check) == {"checked": 0, "opened": 0, "cleared": 0}
    assert mail.outbox == []
