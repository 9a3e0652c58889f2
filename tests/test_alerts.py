"""Alert emails: one per condition until it clears (Django's locmem mail backend)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from acquisition.models import PullRun
from monitoring import alerts
from monitoring.models import AlertState
from monitoring.tasks import ALERT_EMAIL_RETRIES, send_alert_email
from pulls.models import PullConfiguration, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, PullRunStationFactory

pytest_plugins = ["tests.alert_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_EMAILS = ["oncall@example.org", "hydro@example.org"]
    settings.ALERT_CONSECUTIVE_FAILURES = 3
    settings.ALERT_AUTO_DISABLE = False
    settings.SITE_URL = "https://streamflow.example.org"
    return settings


@pytest.fixture
def finish(committed):
    def finish(config, status, error="USGS answered 500 Internal Server Error for /collections/daily/items"):
        now = timezone.now()
        run = PullRunFactory(configuration=config, status=status, started_at=now, finished_at=now, stations_total=1)
        station = PullRunStationFactory(
            run=run,
            location=MonitoringLocationFactory(
                monitoring_location_id="USGS-01646500", site_number="01646500", name="POTOMAC RIVER NEAR WASH, DC"
            ),
            status="failed" if status != PullRun.Status.SUCCEEDED else "succeeded",
            error=error if status != PullRun.Status.SUCCEEDED else "",
        )
        run.stations_failed = 1 if station.status == "failed" else 0
        run.save()
        committed(alerts.run_finished, run)
        return run

    return finish


def test_a_failing_run_sends_one_email_naming_configuration_station_and_error(finish):
    config = PullConfigurationFactory(name="Potomac daily")
    run = finish(config, PullRun.Status.FAILED)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["oncall@example.org", "hydro@example.org"]
    assert "Potomac daily" in message.subject and "failed" in message.subject
    assert "USGS-01646500" in message.body
    assert "USGS answered 500 Internal Server Error" in message.body
    assert f"https://streamflow.example.org/monitoring/runs/{run.pk}/" in message.body
    state = AlertState.objects.get(key=f"run:{config.pk}")
    assert state.active and state.notified_at is not None and state.run == run


def test_three_more_failures_send_nothing_until_a_success_clears_it(finish):
    config = PullConfigurationFactory(name="Potomac daily")
    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.FAILED)
    run_emails = [m for m in mail.outbox if "Run #" in m.subject]
    assert len(run_emails) == 1

    finish(config, PullRun.Status.SUCCEEDED)
    assert not AlertState.objects.get(key=f"run:{config.pk}").active
    count = len(mail.outbox)

    finish(config, PullRun.Status.FAILED)
    assert len(mail.outbox) == count + 1
    assert "Run #" in mail.outbox[-1].subject


def test_a_partial_run_alerts_too(finish):
    config = PullConfigurationFactory(name="Maryland continuous")
    finish(config, PullRun.Status.PARTIAL)
    assert len(mail.outbox) == 1
    assert "ended partial" in mail.outbox[0].subject


def test_skipped_and_successful_runs_send_nothing(finish, committed):
    config = PullConfigurationFactory()
    finish(config, PullRun.Status.SUCCEEDED)
    PullRunFactory(configuration=config, status=PullRun.Status.SKIPPED)
    committed(alerts.run_finished, PullRun.objects.get(status=PullRun.Status.SKIPPED))
    assert mail.outbox == []


def test_n_failures_in_a_row_send_one_streak_email(finish):
    config = PullConfigurationFactory(name="Potomac daily")
    for _ in range(2):
        finish(config, PullRun.Status.FAILED)
    assert not [m for m in mail.outbox if "in a row" in m.subject]
    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.FAILED)
    streak = [m for m in mail.outbox if "in a row" in m.subject]
    assert len(streak) == 1
    assert "Potomac daily failed 3 runs in a row" in streak[0].subject
    config.refresh_from_db()
    assert config.enabled  # ALERT_AUTO_DISABLE is off


def test_a_streak_broken_by_a_partial_run_does_not_alert(finish):
    config = PullConfigurationFactory()
    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.PARTIAL)
    finish(config, PullRun.Status.FAILED)
    assert not [m for m in mail.outbox if "in a row" in m.subject]


def test_auto_disable_turns_the_configuration_off_and_says_why(alert_settings, finish):
    alert_settings.ALERT_AUTO_DISABLE = True
    config = PullConfigurationFactory(name="Potomac daily")
    for _ in range(3):
        run = finish(config, PullRun.Status.FAILED)
    config.refresh_from_db()
    assert not config.enabled
    assert "Paused automatically after 3 failed runs in a row" in config.auto_disabled_reason
    assert f"run #{run.pk}" in config.auto_disabled_reason
    streak = [m for m in mail.outbox if "in a row" in m.subject]
    assert len(streak) == 1 and "was disabled" in streak[0].subject


def test_no_recipients_keeps_state_without_sending(alert_settings, finish):
    alert_settings.ALERT_EMAILS = []
    config = PullConfigurationFactory()
    finish(config, PullRun.Status.FAILED)
    assert mail.outbox == []
    assert AlertState.objects.get(key=f"run:{config.pk}").active


def test_a_mail_server_failure_re_arms_the_alert_after_the_task_s_last_retry(monkeypatch, finish):
    config = PullConfigurationFactory()
    attempts = []

    def broken(*args, **kwargs):
        attempts.append(1)
        raise OSError("connection refused")

    monkeypatch.setattr(alerts, "send_mail", broken)
    finish(config, PullRun.Status.FAILED)  # must not raise into the run
    assert len(attempts) == 1 + ALERT_EMAIL_RETRIES
    assert not AlertState.objects.get(key=f"run:{config.pk}").active
    monkeypatch.undo()
    finish(config, PullRun.Status.FAILED)
    assert len(mail.outbox) == 1


def test_a_mail_server_that_fails_twice_is_retried_and_the_email_goes_out(monkeypatch, finish):
    config = PullConfigurationFactory(name="Potomac daily")
    real, failures = alerts.send_mail, []

    def flaky(*args, **kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise OSError("421 try again later")
        return real(*args, **kwargs)

    monkeypatch.setattr(alerts, "send_mail", flaky)
    finish(config, PullRun.Status.FAILED)
    assert len(failures) == 2 and len(mail.outbox) == 1
    state = AlertState.objects.get(key=f"run:{config.pk}")
    assert state.active and state.notified_at is not None


def _failed_run(config) -> PullRun:
    now = timezone.now()
    run = PullRunFactory(configuration=config, status=PullRun.Status.FAILED, started_at=now, finished_at=now)
    PullRunStationFactory(run=run, status="failed", error="HTTP 503")
    return run


def test_the_email_is_sent_by_its_own_task_once_the_caller_commits(django_capture_on_commit_callbacks, monkeypatch):
    config = PullConfigurationFactory(name="Potomac daily")
    queued = []
    monkeypatch.setattr(send_alert_email, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks() as callbacks:
        alerts.run_finished(_failed_run(config))
        assert mail.outbox == [] and queued == []  # nothing sent inside the station task's transaction
    assert len(callbacks) == 2  # the channels' deliveries, and the ALERT_EMAILS email
    for callback in callbacks:
        callback()
    ((state_id, subject, body),) = queued
    assert state_id == AlertState.objects.get(key=f"run:{config.pk}").pk
    assert "Potomac daily" in subject and "HTTP 503" in body
    send_alert_email.apply(args=queued[0]).get()
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == subject


def test_a_run_whose_transaction_rolls_back_emails_nobody(django_capture_on_commit_callbacks):
    config = PullConfigurationFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        alerts.run_finished(_failed_run(config))
        transaction.set_rollback(True)
    assert callbacks == [] and mail.outbox == []


def test_an_unreachable_broker_re_arms_the_alert_and_never_fails_the_run(committed, monkeypatch):
    config = PullConfigurationFactory()

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(send_alert_email, "delay", broker_down)
    committed(alerts.run_finished, _failed_run(config))
    assert not AlertState.objects.get(key=f"run:{config.pk}").active


def _progress(config, location, **kwargs):
    return StationProgress.objects.create(configuration=config, location=location, **kwargs)


def test_a_silent_gage_alerts_once_until_fresh_data_arrives(committed):
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.DAILY_MEAN)
    location = MonitoringLocationFactory(monitoring_location_id="USGS-01638500", site_number="01638500")
    now = timezone.now()
    progress = _progress(config, location, newest_date=(now - dt.timedelta(days=5)).date(), last_success_at=now)

    assert committed(alerts.check_stale_stations)["opened"] == 1
    assert len(mail.outbox) == 1
    assert "USGS-01638500" in mail.outbox[0].subject
    assert "pulls of this station succeed" in mail.outbox[0].body
    assert "https://streamflow.example.org/monitoring/stations/USGS-01638500/data/" in mail.outbox[0].body

    committed(alerts.check_stale_stations)
    committed(alerts.check_stale_stations)
    assert len(mail.outbox) == 1

    progress.newest_date = now.date()
    progress.save()
    assert committed(alerts.check_stale_stations)["cleared"] == 1
    progress.newest_date = (now - dt.timedelta(days=5)).date()
    progress.save()
    committed(alerts.check_stale_stations)
    assert len(mail.outbox) == 2


def test_a_station_behind_because_pulls_fail_gets_no_stale_email(committed):
    config = PullConfigurationFactory()
    _progress(
        config,
        MonitoringLocationFactory(),
        newest_date=dt.date(2020, 1, 1),
        consecutive_failures=3,
        last_error="HTTP 503",
    )
    result = committed(alerts.check_stale_stations)
    assert result["stale"] == 0
    assert mail.outbox == []


def test_the_beat_task_runs_the_stale_check(committed):
    from monitoring.tasks import check_stale_stations

    config = PullConfigurationFactory()
    _progress(config, MonitoringLocationFactory(), newest_date=dt.date(2020, 1, 1), last_success_at=timezone.now())
    assert committed(lambda: check_stale_stations.apply().get()) == {"stale": 1, "opened": 1, "cleared": 0}
    assert len(mail.outbox) == 1


def test_a_channel_gets_one_message_per_condition_until_it_clears_and_then_a_recovery(finish, monkeypatch):
    from monitoring.models import AlertChannel, AlertDelivery, AlertRule

    sent: list[int] = []
    monkeypatch.setattr("monitoring.channels._enqueue", sent.append)  # the delivery task is tested on its own
    config = PullConfigurationFactory(name="Potomac daily")
    slack = AlertChannel.objects.create(name="Team", kind=AlertChannel.Kind.SLACK, url="https://hooks.example.org/x")
    AlertRule.objects.create(channel=slack, conditions=["run_failed", "run_partial"], send_recovery=True)

    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.PARTIAL)

    deliveries = list(AlertDelivery.objects.filter(channel=slack).order_by("pk"))
    assert [(d.condition, d.recovered) for d in deliveries] == [("run_failed", False)]
    assert "Potomac daily" in deliveries[0].subject and sent == [deliveries[0].pk]

    finish(config, PullRun.Status.SUCCEEDED)

    deliveries = list(AlertDelivery.objects.filter(channel=slack).order_by("pk"))
    assert [(d.condition, d.recovered) for d in deliveries] == [("run_failed", False), ("run_failed", True)]
    assert deliveries[1].subject.startswith("[Streamflow] Recovered: ")

    finish(config, PullRun.Status.PARTIAL)
    assert AlertDelivery.objects.filter(channel=slack).order_by("-pk").first().condition == "run_partial"


def test_a_recovery_reaches_a_rule_that_names_the_configuration(finish, monkeypatch):
    from monitoring.models import AlertChannel, AlertDelivery, AlertRule

    monkeypatch.setattr("monitoring.channels._enqueue", lambda pk: None)
    config = PullConfigurationFactory(name="Potomac daily")
    team = AlertChannel.objects.create(name="Team", kind=AlertChannel.Kind.SLACK, url="https://hooks.example.org/x")
    rule = AlertRule.objects.create(channel=team, conditions=["run_failed"], send_recovery=True)
    rule.configurations.add(config)

    finish(config, PullRun.Status.FAILED)
    finish(config, PullRun.Status.SUCCEEDED)

    assert AlertState.objects.get(key=f"run:{config.pk}").configuration == config
    deliveries = AlertDelivery.objects.filter(channel=team).order_by("pk")
    assert [(d.condition, d.recovered, d.configuration_id) for d in deliveries] == [
        ("run_failed", False, config.pk),
        ("run_failed", True, config.pk),
    ]
