"""Alert channels against a local receiver (an http.server in the test): signatures, Slack/Teams payloads, retries
with backoff, failing channels, notify()'s rules, and SSRF targets refused."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends import locmem

from monitoring import channels
from monitoring.models import AlertChannel, AlertDelivery, AlertRule
from monitoring.outbound import check_webhook_url
from monitoring.tasks import deliver_alert
from tests.factories import PullConfigurationFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """Records every POST; answers the statuses in `answers` in turn, then 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.location: str | None = None  # sent as Location with every answer when set
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.ALERT_WEBHOOK_ALLOW_LOOPBACK = True
    settings.ALERT_RETRY_BACKOFF_SECONDS = 0
    r = Receiver()
    yield r
    r.stop()


def channel(kind, url="", **kwargs) -> AlertChannel:
    return AlertChannel.objects.create(name=f"{kind} channel", kind=kind, url=url, **kwargs)


def deliver(delivery: AlertDelivery) -> AlertDelivery:
    """Run the task as a worker would, retries included (eagerly, backoff countdowns not waited for)."""
    deliver_alert.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


def test_a_webhook_is_signed_with_the_channel_secret_and_the_signature_verifies(receiver):
    secret = channels.new_secret()
    ch = channel(AlertChannel.Kind.WEBHOOK, receiver.url, secret=secret)
    config = PullConfigurationFactory(name="Potomac")
    AlertRule.objects.create(channel=ch, conditions=["run_failed"])

    (delivery,) = channels.notify("run_failed", subject="Run #4 of Potomac failed", body="why", configuration=config)
    delivery = deliver(delivery)

    assert delivery.status == AlertDelivery.Status.SENT and delivery.http_status == 200 and delivery.attempts == 1
    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    assert channels.verify(secret, headers[channels.TIMESTAMP_HEADER], body, headers[channels.SIGNATURE_HEADER])
    assert not channels.verify(
        "another-secret", headers[channels.TIMESTAMP_HEADER], body, headers[channels.SIGNATURE_HEADER]
    )
    sent = json.loads(body)
    assert (
        sent["condition"] == "run_failed"
        and sent["recovered"] is False
        and sent["subject"] == "Run #4 of Potomac failed"
    )
    assert sent["configuration"] == {"id": config.pk, "name": "Potomac"}
    assert secret not in body.decode()


def test_slack_gets_a_text_message(receiver):
    ch = channel(AlertChannel.Kind.SLACK, receiver.url)

    deliver(channels.send_test(ch))

    sent = json.loads(receiver.requests[0]["body"])
    assert list(sent) == ["text"]
    assert "*Test alert for slack channel*" in sent["text"]
    assert channels.SIGNATURE_HEADER not in receiver.requests[0]["headers"]


def test_teams_gets_an_adaptive_card_and_a_recovery_says_so(receiver):
    ch = channel(AlertChannel.Kind.TEAMS, receiver.url)
    AlertRule.objects.create(channel=ch, conditions=["station_stale"])

    (delivery,) = channels.notify("station_stale", subject="USGS-01646500 is stale", body="b", recovered=True)
    deliver(delivery)

    sent = json.loads(receiver.requests[0]["body"])
    assert sent["type"] == "message"
    (attachment,) = sent["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "Recovered: USGS-01646500 is stale"


def test_a_500_is_retried_with_backoff_and_then_delivered(receiver, settings, monkeypatch):
    settings.ALERT_RETRY_BACKOFF_SECONDS = 7
    countdowns = []
    real_retry = deliver_alert.retry
    monkeypatch.setattr(deliver_alert, "retry", lambda **kw: countdowns.append(kw["countdown"]) or real_retry(**kw))
    receiver.answers = [500, 503]
    ch = channel(AlertChannel.Kind.WEBHOOK, receiver.url, secret="s" * 64)

    delivery = deliver(channels.send_test(ch))

    assert len(receiver.requests) == 3
    assert delivery.status == AlertDelivery.Status.SENT and delivery.attempts == 3 and delivery.http_status == 200
    assert countdowns == [7, 14]
    ch.refresh_from_db()
    assert ch.consecutive_failures == 0 and ch.last_success_at is not None


def test_a_channel_that_keeps_failing_is_marked(receiver, settings):
    settings.ALERT_DELIVERY_RETRIES = 1
    ch = channel(AlertChannel.Kind.SLACK, receiver.url)

    for _ in range(AlertChannel.FAILING_AFTER):
        receiver.answers = [500, 500]
        delivery = deliver(channels.send_test(ch))
        assert delivery.status == AlertDelivery.Status.FAILED and delivery.attempts == 2
        assert delivery.http_status == 500 and "answered HTTP 500" in delivery.result

    ch.refresh_from_db()
    assert ch.is_failing and ch.failing_since is not None
    deliver(channels.send_test(ch))
    ch.refresh_from_db()
    assert not ch.is_failing and ch.failing_since is None


def test_a_4xx_is_not_retried(receiver):
    receiver.answers = [404]
    delivery = deliver(channels.send_test(channel(AlertChannel.Kind.SLACK, receiver.url)))

    assert delivery.status == AlertDelivery.Status.FAILED and delivery.attempts == 1 and len(receiver.requests) == 1


def test_notify_follows_the_rules_configurations_and_conditions(receiver):
    mine, other = PullConfigurationFactory(), PullConfigurationFactory()
    everything = channel(AlertChannel.Kind.SLACK, receiver.url)
    only_mine = AlertChannel.objects.create(
        name="Mine", kind=AlertChannel.Kind.EMAIL, emails="a@example.org, b@example.org"
    )
    AlertRule.objects.create(channel=everything, conditions=["run_failed", "run_partial", "consecutive_failures"])
    rule = AlertRule.objects.create(
        channel=only_mine, conditions=["run_failed", "consecutive_failures"], min_failures=5
    )
    rule.configurations.add(mine)
    AlertChannel.objects.create(name="Off", kind=AlertChannel.Kind.SLACK, url=receiver.url, enabled=False).rules.create(
        conditions=["run_failed"]
    )

    def to(*args, **kwargs):
        return sorted(d.channel.name for d in channels.notify(*args, subject="s", body="b", **kwargs))

    assert to("run_failed", configuration=mine) == ["Mine", "slack channel"]
    assert to("run_failed", configuration=other) == ["slack channel"]
    assert to("run_partial", configuration=mine) == ["slack channel"]
    assert to("station_stale") == []
    assert to("consecutive_failures", configuration=mine, failures=3) == ["slack channel"]
    assert to("consecutive_failures", configuration=mine, failures=5) == ["Mine", "slack channel"]
    with pytest.raises(ValueError):
        channels.notify("nonsense", subject="s", body="b")


class RelayBackend(locmem.EmailBackend):
    """Stands for a real relay (smtp): a backend the app does not know to be a stand-in."""


@pytest.mark.parametrize(
    ("backend", "result"),
    [
        ("tests.test_alert_channels.RelayBackend", "SMTP: accepted for 2 recipients"),
        (
            "django.core.mail.backends.console.EmailBackend",
            "Email for 2 recipients printed to the worker's console, not sent (EMAIL_BACKEND is the console; set "
            "EMAIL_HOST to send mail).",
        ),
        (
            "django.core.mail.backends.locmem.EmailBackend",
            "Email for 2 recipients kept in memory, not sent (EMAIL_BACKEND is locmem, for tests).",
        ),
    ],
)
def test_an_email_channel_records_where_the_mail_really_went(settings, backend, result):
    settings.EMAIL_BACKEND = backend
    ch = AlertChannel.objects.create(
        name="Mail", kind=AlertChannel.Kind.EMAIL, emails="ops@example.org\nhydro@example.org"
    )

    delivery = deliver(channels.send_test(ch))

    assert delivery.status == AlertDelivery.Status.SENT
    assert delivery.result == result
    if "console" not in backend:
        assert mail.outbox[-1].to == ["ops@example.org", "hydro@example.org"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.org/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",
        "http://127.0.0.1:8000/hook",
    ],
)
def test_non_public_or_non_http_targets_are_refused(url):
    with pytest.raises(ValidationError):
        check_webhook_url(url)


def test_the_app_itself_is_refused_even_where_loopback_is_allowed(settings):
    settings.ALERT_WEBHOOK_ALLOW_LOOPBACK = True
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.ALLOWED_HOSTS = ["streamflow.example.org", "127.0.0.1"]

    with pytest.raises(ValidationError, match="this application itself"):
        check_webhook_url("http://127.0.0.1:8000/metrics")
    with pytest.raises(ValidationError, match="this application itself"):
        check_webhook_url("https://streamflow.example.org/hook")
    check_webhook_url("http://127.0.0.1:8123/hook")  # a test receiver on another port


def test_a_channel_whose_address_turned_private_is_not_sent_to(settings):
    ch = channel(AlertChannel.Kind.SLACK, "http://10.1.2.3/hook")  # saved before the check (e.g. in the admin)

    delivery = deliver(channels.send_test(ch))

    assert delivery.status == AlertDelivery.Status.FAILED and delivery.attempts == 1
    assert delivery.result.startswith("Refused to send:")
