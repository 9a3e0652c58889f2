"""Operators' pages: alert channels (create, the secret shown once, test alert, rules, refusals), deliveries,
and the workers page."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from django.utils import timezone
from django_celery_results.models import TaskResult

from acquisition.models import Heartbeat, PullRunBatch
from monitoring.models import AlertChannel, AlertDelivery, AlertRule
from tests.factories import PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def test_an_operator_creates_a_webhook_channel_and_sees_its_secret_once(operator_client, settings, monkeypatch):
    # No DNS in tests: the name resolves to a public address.
    monkeypatch.setattr("monitoring.outbound._addresses", lambda host, port: [ipaddress.ip_address("93.184.215.14")])

    response = operator_client.post(
        "/monitoring/channels/new/", {"name": "Ops hook", "kind": "webhook", "url": "https://hooks.example.org/x"}
    )

    channel = AlertChannel.objects.get(name="Ops hook")
    assert response.status_code == 302 and response["Location"] == f"/monitoring/channels/{channel.pk}/"
    assert len(channel.secret) == 64 and channel.created_by == "olivia-operator"
    first = operator_client.get(response["Location"]).content.decode()
    second = operator_client.get(response["Location"]).content.decode()
    assert channel.secret in first and "<html" in first
    assert channel.secret not in second


def test_a_webhook_to_a_private_address_is_refused_and_nothing_is_saved(operator_client):
    response = operator_client.post(
        "/monitoring/channels/new/", {"name": "Meta", "kind": "webhook", "url": "http://169.254.169.254/latest/"}
    )

    assert response.status_code == 400
    assert "link-local or metadata address" in response.content.decode()
    assert not AlertChannel.objects.exists()


def test_an_email_channel_needs_valid_addresses(operator_client):
    response = operator_client.post("/monitoring/channels/new/", {"name": "Mail", "kind": "email", "emails": "ops@, x"})

    assert response.status_code == 400
    assert "is not an email address" in response.content.decode()
    assert not AlertChannel.objects.exists()


def test_send_a_test_alert_queues_a_delivery(operator_client):
    channel = AlertChannel.objects.create(name="Mail", kind="email", emails="ops@example.org")

    response = operator_client.post(f"/monitoring/channels/{channel.pk}/test/")

    assert response.status_code == 302
    delivery = AlertDelivery.objects.get()
    assert (delivery.channel, delivery.condition) == (channel, "test")


def test_an_operator_adds_and_deletes_a_rule(operator_client):
    channel = AlertChannel.objects.create(name="Mail", kind="email", emails="ops@example.org")
    config = PullConfigurationFactory()

    response = operator_client.post(
        f"/monitoring/channels/{channel.pk}/rules/",
        {"conditions": ["run_failed", "consecutive_failures"], "configurations": [config.pk], "min_failures": 4},
    )

    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.conditions == ["run_failed", "consecutive_failures"] and rule.min_failures == 4
    assert list(rule.configurations.all()) == [config]
    page = operator_client.get(f"/monitoring/channels/{channel.pk}/").content.decode()
    assert "Failures in a row" in page and config.name in page
    operator_client.post(f"/monitoring/channels/{channel.pk}/rules/{rule.pk}/delete/")
    assert not AlertRule.objects.exists()


def test_a_rule_without_a_condition_is_refused(operator_client):
    channel = AlertChannel.objects.create(name="Mail", kind="email", emails="ops@example.org")

    response = operator_client.post(f"/monitoring/channels/{channel.pk}/rules/", {"min_failures": 3})

    assert response.status_code == 400 and not AlertRule.objects.exists()


def test_the_deliveries_page_shows_results_and_its_fragment(operator_client):
    channel = AlertChannel.objects.create(name="Hook", kind="slack", url="https://hooks.example.org/x")
    AlertDelivery.objects.create(
        channel=channel, condition="run_failed", subject="Run #3 failed", status="failed", http_status=500,
        result="hooks.example.org answered HTTP 500.", attempts=5,
    )  # fmt: skip

    page = operator_client.get("/monitoring/deliveries/").content.decode()
    fragment = operator_client.get("/monitoring/deliveries/", headers=HX).content.decode()

    assert "<html" in page and "Run #3 failed" in page and "HTTP 500" in page
    assert "<html" not in fragment and 'id="deliveries-table"' in fragment and "Run #3 failed" in fragment


def test_a_failing_channel_is_marked_on_the_list(operator_client):
    AlertChannel.objects.create(name="Broken", kind="slack", url="https://x.example.org/h", consecutive_failures=3)

    page = operator_client.get("/monitoring/channels/").content.decode()

    assert "Failing" in page


def test_viewers_cannot_see_or_change_channels_or_workers(viewer_client):
    channel = AlertChannel.objects.create(name="Mail", kind="email", emails="ops@example.org")

    for url in ["/monitoring/channels/", f"/monitoring/channels/{channel.pk}/", "/monitoring/deliveries/",
                "/monitoring/workers/"]:  # fmt: skip
        assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(f"/monitoring/channels/{channel.pk}/test/").status_code == 403
    assert viewer_client.post(f"/monitoring/channels/{channel.pk}/delete/").status_code == 403
    assert not AlertDelivery.objects.exists() and AlertChannel.objects.exists()


def test_the_workers_page_shows_heartbeats_batches_and_tasks_of_the_last_hour(operator_client, settings):
    settings.CELERY_BROKER_URL = "filesystem://"
    now = timezone.now()
    Heartbeat.objects.create(name="worker:celery@alpha", seen_at=now - dt.timedelta(seconds=5))
    Heartbeat.objects.create(name="worker:celery@old", seen_at=now - dt.timedelta(hours=3))
    run = PullRunFactory(status="running")
    PullRunBatch.objects.create(run=run, number=1, status="running", worker="celery@alpha", stations=7, phase="window")
    PullRunBatch.objects.create(run=run, number=2, status="finished", worker="celery@alpha", finished_at=now)
    for i, status in enumerate(["SUCCESS", "SUCCESS", "FAILURE"]):
        TaskResult.objects.create(task_id=f"t{i}", status=status, worker="celery@alpha", date_done=now)

    page = operator_client.get("/monitoring/workers/").content.decode()
    fragment = operator_client.get("/monitoring/workers/", headers=HX).content.decode()

    assert "<html" in page and "celery@alpha" in page and "celery@old" not in page
    assert f"run #{run.pk}</a> batch 1 (7 stations): window" in page
    assert "2 / 1" in page
    assert "not available with this broker" in page  # the embedded broker has no LLEN
    assert "<html" not in fragment and 'id="workers-table"' in fragment


def test_the_page_that_shows_a_webhook_secret_is_never_stored(operator_client, monkeypatch):
    monkeypatch.setattr("monitoring.outbound._addresses", lambda host, port: [ipaddress.ip_address("93.184.215.14")])
    response = operator_client.post(
        "/monitoring/channels/new/", {"name": "Ops hook", "kind": "webhook", "url": "https://hooks.example.org/x"}
    )

    page = operator_client.get(response["Location"])

    channel = AlertChannel.objects.get(name="Ops hook")
    assert channel.secret in page.content.decode()
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    fragment = operator_client.get(response["Location"], headers=HX)
    assert "<html" not in fragment.content.decode() and "no-store" in fragment["Cache-Control"]
