"""Pulls asks for a run through pulls.run_requests; acquisition plugs the engine in (no import runs upward)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from acquisition import enqueueing
from acquisition.models import PullRun
from pulls import run_requests
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = pytest.mark.django_db


def test_acquisition_plugs_the_engine_into_pulls_when_django_starts():
    assert run_requests._engine is enqueueing


def test_run_now_through_the_hook_records_the_run_the_engine_queues(monkeypatch):
    sent = []
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *args, **kwargs: sent.append(args))
    config = PullConfigurationFactory()
    config.stations.add(MonitoringLocationFactory())

    run = run_requests.enqueue_run(config.pk, triggered_by="olivia")

    assert isinstance(run, PullRun) and run.status == PullRun.Status.QUEUED and run.triggered_by == "olivia"
    assert sent == [(config.pk,)]
    assert run_requests.active_run(config) == run


def test_without_an_engine_pulls_says_what_is_missing_and_records_nothing(monkeypatch):
    monkeypatch.setattr(run_requests, "_engine", None)
    config = PullConfigurationFactory()

    with pytest.raises(ImproperlyConfigured, match="'acquisition' must be in INSTALLED_APPS"):
        run_requests.enqueue_run(config.pk)
    assert not PullRun.objects.exists()
