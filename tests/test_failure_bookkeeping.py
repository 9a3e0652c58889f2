"""Failure bookkeeping in one write each (issue 12, item 17).

- An unqueueable run is marked failed together with its stations, in one transaction: never a failed run whose
  stations still say queued.
- Auto-disable after N failed runs changes `enabled` (and its reason) only, never the rest of a configuration an
  operator edited meanwhile.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone

from acquisition.enqueueing import enqueue_run
from acquisition.models import PullRun, PullRunStation
from monitoring import alerts
from pulls.models import PullConfiguration
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def config():
    config = PullConfigurationFactory(name="Potomac daily")
    for _ in range(2):
        config.memberships.create(location=MonitoringLocationFactory())
    return config


@pytest.fixture
def broker_down(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", broken)


def test_an_unqueueable_run_and_its_stations_are_marked_failed_together(config, broker_down):
    with pytest.raises(ConnectionError):
        enqueue_run(config.pk, triggered_by="olivia")
    run = PullRun.objects.get(configuration=config)
    assert run.status == PullRun.Status.FAILED
    assert set(run.stations.values_list("status", flat=True)) == {PullRunStation.Status.FAILED}
    assert all("task queue was not reachable" in e for e in run.stations.values_list("error", flat=True))


def test_when_marking_the_stations_fails_the_run_is_not_left_marked_alone(config, broker_down, monkeypatch):
    real_update = QuerySet.update

    def update(self, **kwargs):
        if self.model is PullRunStation and kwargs.get("status") == "failed":
            raise DatabaseError("the connection dropped")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)
    with pytest.raises(DatabaseError):
        enqueue_run(config.pk, triggered_by="olivia")
    monkeypatch.undo()
    run = PullRun.objects.get(configuration=config)
    stations = set(run.stations.values_list("status", flat=True))
    # Both writes or neither: the run's status agrees with its stations'.
    assert (run.status == PullRun.Status.FAILED) == (stations == {PullRunStation.Status.FAILED})


@pytest.fixture
def auto_disable(settings):
    settings.ALERT_EMAILS = []
    settings.ALERT_CONSECUTIVE_FAILURES = 2
    settings.ALERT_AUTO_DISABLE = True


def _failed_run(config) -> PullRun:
    now = timezone.now()
    return PullRunFactory(configuration=config, status=PullRun.Status.FAILED, started_at=now, finished_at=now)


def test_auto_disable_keeps_an_edit_made_meanwhile(auto_disable):
    config = PullConfigurationFactory(name="Potomac daily", description="", cron_expression="0 * * * *")
    alerts.run_finished(_failed_run(config))
    run = _failed_run(config)
    run.configuration  # the worker holds this copy while an operator edits the configuration  # noqa: B018
    PullConfiguration.objects.filter(pk=config.pk).update(description="Edited by Olivia", cron_expression="5 * * * *")

    alerts.run_finished(run)

    config.refresh_from_db()
    assert not config.enabled
    assert "Paused automatically after 2 failed runs" in config.auto_disabled_reason
    assert (config.description, config.cron_expression) == ("Edited by Olivia", "5 * * * *")


def test_auto_disable_does_not_pause_a_configuration_disabled_and_re_enabled_meanwhile(auto_disable):
    # The write is conditional on the configuration still being enabled, and says whether it paused it.
    config = PullConfigurationFactory(name="Potomac daily")
    alerts.run_finished(_failed_run(config))
    run = _failed_run(config)
    run.configuration  # noqa: B018
    PullConfiguration.objects.filter(pk=config.pk).update(enabled=False)

    alerts.run_finished(run)

    config.refresh_from_db()
    assert not config.enabled and config.auto_disabled_reason == ""


def test_auto_disable_still_disables_the_beat_task(auto_disable):
    from django_celery_beat.models import PeriodicTask

    config = PullConfigurationFactory(name="Potomac daily")
    assert PeriodicTask.objects.get(name__contains=str(config.pk)).enabled
    alerts.run_finished(_failed_run(config))
    alerts.run_finished(_failed_run(config))
    assert not PeriodicTask.objects.get(name__contains=str(config.pk)).enabled
