"""The admin goes through the same schedule sync: its form, its actions (QuerySet.update) and its inline."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from pulls.models import PullConfiguration, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


def _task(config) -> PeriodicTask:
    return PeriodicTask.objects.get(name=f"pull-config-{config.pk}")


def _changelist_action(client, action: str, configs) -> None:
    response = client.post(
        reverse("admin:pulls_pullconfiguration_changelist"),
        {"action": action, "_selected_action": [c.pk for c in configs]},
    )
    assert response.status_code == 302


def test_the_disable_and_enable_actions_sync_the_tasks(admin_client):
    configs = [PullConfigurationFactory(), PullConfigurationFactory()]
    _changelist_action(admin_client, "disable", configs)
    assert [_task(c).enabled for c in configs] == [False, False]
    assert not PullConfiguration.objects.filter(enabled=True).exists()

    _changelist_action(admin_client, "enable", configs)
    assert [_task(c).enabled for c in configs] == [True, True]


def test_the_run_now_action_enqueues_each_configuration(admin_client, monkeypatch):
    enqueued = []
    monkeypatch.setattr("pulls.run_requests.enqueue_run", lambda pk, triggered_by="": enqueued.append(pk))
    configs = [PullConfigurationFactory(), PullConfigurationFactory()]
    _changelist_action(admin_client, "run_now", configs)
    assert sorted(enqueued) == sorted(c.pk for c in configs)


def _admin_form(station, **overrides) -> dict:
    data = {
        "name": "Admin made",
        "description": "",
        "data_type": "daily_mean",
        "strategy": "append",
        "start_date": "2021-05-01",
        "schedule_type": "custom",
        "cron_expression": "0 6 * * 1-5",
        "timezone": "America/Chicago",
        "enabled": "on",
        "auto_disabled_reason": "",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-location": str(station.pk),
    }
    data.update(overrides)
    return data


def test_the_admin_form_creates_the_task_and_the_inline_station_gets_progress(admin_client):
    station = MonitoringLocationFactory()
    response = admin_client.post(reverse("admin:pulls_pullconfiguration_add"), _admin_form(station))
    assert response.status_code == 302, response.content.decode()[:2000]
    config = PullConfiguration.objects.get(name="Admin made")
    task = _task(config)
    assert (task.crontab.hour, task.crontab.day_of_week, str(task.crontab.timezone)) == ("6", "1-5", "America/Chicago")
    assert StationProgress.objects.filter(configuration=config, location=station).exists()


def test_the_admin_form_refuses_a_never_firing_expression(admin_client):
    station = MonitoringLocationFactory()
    response = admin_client.post(
        reverse("admin:pulls_pullconfiguration_add"), _admin_form(station, cron_expression="0 0 31 4 *")
    )
    assert response.status_code == 200
    assert "This schedule never runs" in response.content.decode()
    assert not PullConfiguration.objects.exists()
    assert not PeriodicTask.objects.exists()
