"""/health/ reports the database, the broker, beat and workers; 503 names the failing part."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from monitoring.heartbeats import record_heartbeat
from monitoring.models import Heartbeat

pytestmark = pytest.mark.django_db


def test_it_is_open_to_anonymous_users_and_names_missing_beat_and_workers(anonymous_client):
    response = anonymous_client.get("/health/")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert set(body["failing"]) == {"beat", "workers"}
    assert "no live worker" in body["checks"]["workers"]["error"]


def test_it_answers_200_when_beat_and_a_worker_are_alive(anonymous_client):
    record_heartbeat("beat")
    record_heartbeat("worker:celery@laptop")
    response = anonymous_client.get("/health/")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["workers"]["workers"] == ["celery@laptop"]


def test_a_stale_worker_heartbeat_counts_as_no_worker(anonymous_client):
    record_heartbeat("beat")
    Heartbeat.objects.create(name="worker:old", seen_at=timezone.now() - dt.timedelta(minutes=10))
    response = anonymous_client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]


def test_it_names_an_unreachable_broker(anonymous_client, settings, monkeypatch):
    from streamflow import celery as celery_module

    record_heartbeat("beat")
    record_heartbeat("worker:w1")
    connect = celery_module.app.connection_for_write
    monkeypatch.setattr(
        celery_module.app, "connection_for_write", lambda: connect(url="redis://127.0.0.1:1/0", transport="redis")
    )
    response = anonymous_client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "broker unreachable" in response.json()["checks"]["broker"]["error"]
