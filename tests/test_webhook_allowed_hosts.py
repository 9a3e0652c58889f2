"""ALERT_WEBHOOK_ALLOWED_HOSTS (issue 23, item 11): an operator may trust named hosts on loopback or private
addresses (the offline demo's own machine), and nothing else gets through the SSRF guard because of it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from monitoring import channels, outbound
from monitoring.models import AlertChannel, AlertDelivery
from tests.test_alert_channels import Receiver, deliver
from tests.test_webhook_ssrf import resolving

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed(settings):
    settings.ALERT_WEBHOOK_ALLOWED_HOSTS = ["localhost", "127.0.0.1", "Hooks.Internal"]
    settings.SITE_URL = "http://127.0.0.1:8000"
    return settings


def test_by_default_a_loopback_receiver_is_refused(settings):
    assert settings.ALERT_WEBHOOK_ALLOWED_HOSTS == []

    with pytest.raises(ValidationError, match="public addresses"):
        outbound.check_webhook_url("http://127.0.0.1:9000/hook")


@pytest.mark.parametrize(
    ("url", "answers"),
    [
        ("http://127.0.0.1:9000/hook", {}),
        ("http://localhost:9000/hook", {"localhost": ["127.0.0.1"]}),
        ("https://hooks.internal/streamflow", {"hooks.internal": ["10.1.2.3"]}),
    ],
)
def test_an_allowed_host_may_be_on_loopback_or_a_private_address(allowed, monkeypatch, url, answers):
    resolving(monkeypatch, answers)

    target = outbound.resolve_webhook(url)

    assert target.address.is_loopback or target.address.is_private


@pytest.mark.parametrize(
    ("url", "answers", "why"),
    [
        ("http://hooks.internal/x", {"hooks.internal": ["169.254.169.254"]}, "metadata"),
        ("http://hooks.internal/x", {"hooks.internal": ["0.0.0.0"]}, "metadata"),
        ("http://hooks.internal/x", {"hooks.internal": ["::ffff:169.254.169.254"]}, "metadata"),
        ("http://other.internal/x", {"other.internal": ["127.0.0.1"]}, "public addresses"),
        ("http://2130706433:9000/x", {}, "public addresses"),
        ("http://127.0.0.1:8000/alerts", {}, "application itself"),
    ],
)
def test_nothing_else_gets_through_because_of_the_list(allowed, monkeypatch, url, answers, why):
    resolving(monkeypatch, answers)

    with pytest.raises(ValidationError, match=why):
        outbound.resolve_webhook(url)


def test_an_unresolvable_host_names_the_allowed_hosts(allowed, monkeypatch):
    def no_network(*args, **kwargs):
        raise outbound.socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(outbound.socket, "getaddrinfo", no_network)

    with pytest.raises(ValidationError) as raised:
        outbound.resolve_webhook("https://example.com/hook")

    message = " ".join(raised.value.messages)
    assert "could not be resolved" in message and "localhost, 127.0.0.1, Hooks.Internal" in message


def test_the_form_saves_a_receiver_on_this_machine_and_a_delivery_reaches_it(allowed, operator_client):
    receiver = Receiver()
    try:
        url = f"http://127.0.0.1:{receiver.server.server_address[1]}/hook"
        form_page = operator_client.get("/monitoring/channels/").content.decode()
        data = {"name": "Demo hook", "kind": "webhook", "url": url}
        response = operator_client.post("/monitoring/channels/new/", data)

        assert "ALERT_WEBHOOK_ALLOWED_HOSTS" in form_page
        assert response.status_code == 302
        channel = AlertChannel.objects.get(name="Demo hook")
        delivery = deliver(channels.send_test(channel))
        assert delivery.status == AlertDelivery.Status.SENT
        assert receiver.requests[0]["path"] == "/hook"
    finally:
        receiver.stop()
