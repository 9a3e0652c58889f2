"""/health/ reports the database, the broker, beat and workers; 503 names the failing part.

Anyone may ask (a load balancer has no account), but only staff see the details: host names, the version and raw
connection errors help an attacker more than an anonymous caller needs (issue 12, item 11).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acquisition.models import Heartbeat
from monitoring.heartbeats import record_heartbeat
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="sam-staff", is_staff=True))
    return client


def test_anonymous_callers_get_the_status_only(anonymous_client):
    record_heartbeat("beat")
    record_heartbeat("worker:celery@secret-host")

    response = anonymous_client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert b"secret-host" not in response.content


def test_anonymous_callers_see_failing_without_the_reasons(anonymous_client):
    response = anonymous_client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "failing"}


def test_a_logged_in_user_who_is_not_staff_gets_the_status_only(viewer_client):
    response = viewer_client.get("/health/")
    assert response.json() == {"status": "failing"}


def test_staff_see_every_check_and_name_missing_beat_and_workers(staff_client):
    response = staff_client.get("/health/")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert set(body["failing"]) == {"beat", "workers"}
    assert "no live worker" in body["checks"]["workers"]["error"]


def test_it_answers_200_when_beat_and_a_worker_are_alive(staff_client):
    record_heartbeat("beat")
    record_heartbeat("worker:celery@laptop")
    response = staff_client.get("/health/")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["workers"]["workers"] == ["celery@laptop"]


def test_a_stale_worker_heartbeat_counts_as_no_worker(staff_client):
    record_heartbeat("beat")
    Heartbeat.objects.create(name="worker:old", seen_at=timezone.now() - dt.timedelta(minutes=10))
    response = staff_client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]


def test_it_names_an_unreachable_broker(staff_client, settings, monkeypatch):
    from streamflow import celery as celery_module

    record_heartbeat("beat")
    record_heartbeat("worker:w1")
    connect = celery_module.app.connection_for_write
    monkeypatch.setattr(
        celery_module.app, "connection_for_write", lambda: connect(url="redis://127.0.0.1:1/0", transport="redis")
    )
    response = staff_client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "broker unreachable" in response.json()["checks"]["broker"]["error"]


def test_the_worker_and_beat_heartbeats_reach_health_through_the_kernels_hook(staff_client, monkeypatch):
    """The kernel's Celery wiring sends `process_alive`; monitoring records it (the kernel imports no app)."""
    from django_celery_beat.schedulers import DatabaseScheduler

    from streamflow.beat import HeartbeatScheduler
    from streamflow.celery import WorkerHeartbeat

    # Their timer threads drop stale connections first; here that would close the test's own transaction.
    monkeypatch.setattr("django.db.close_old_connections", lambda **kwargs: None)
    step = WorkerHeartbeat(worker=None)
    step.hostname = "celery@hooked"
    step._beat()
    monkeypatch.setattr(DatabaseScheduler, "tick", lambda self, *args, **kwargs: 60.0)
    scheduler = HeartbeatScheduler.__new__(HeartbeatScheduler)  # no app, no schedule: only its heartbeat runs
    assert scheduler.tick() == scheduler.heartbeat_every

    body = staff_client.get("/health/").json()
    assert body["status"] == "ok"
    assert body["checks"]["workers"]["workers"] == ["celery@hooked"]
    assert Heartbeat.objects.filter(name="beat").exists()
