"""Webhook addresses cannot reach the inside (issue 22, item 1): the address is read as the connecting library reads
it, a name is resolved once and the POST goes to the address that was checked, and redirects are not followed."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from monitoring import channels, outbound
from monitoring.models import AlertChannel, AlertDelivery
from monitoring.tasks import deliver_alert
from tests.test_alert_channels import Receiver

pytestmark = pytest.mark.django_db

REAL_GETADDRINFO = socket.getaddrinfo


def resolving(monkeypatch, names: dict[str, list[str]]) -> list[str]:
    """Make the resolver answer `names` (each call takes the next answer, the last repeats); returns the names
    asked for, in order."""
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            asked.append(host)
            answers = names[host]
            address = answers.pop(0) if len(answers) > 1 else answers[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    return asked


REFUSED = [
    # The address that was delivered to: urlsplit read 8.8.8.8, urllib3 connected to 127.0.0.1:8612.
    ("backslash before @", "http://127.0.0.1:8612\\@8.8.8.8/x"),
    ("backslash to metadata", "http://169.254.169.254\\@hooks.example.org/latest/"),
    ("backslash to redis", "http://127.0.0.1:6379\\@hooks.example.org/"),
    ("backslash in path", "http://hooks.example.org\\evil/"),
    ("userinfo", "http://user:pw@hooks.example.org/x"),
    ("userinfo with loopback host", "http://hooks.example.org@127.0.0.1/x"),
    ("empty userinfo", "http://@hooks.example.org/x"),
    ("tab in host", "http://127.0.0.1\t.example.org/x"),
    ("newline", "http://hooks.example.org/x\r\nHost: 127.0.0.1"),
    ("decimal loopback", "http://2130706433/x"),
    ("hex dotted loopback", "http://0x7f.1/x"),
    ("short loopback", "http://127.1/x"),
    ("octal loopback", "http://0177.0.0.1/x"),
    ("hex whole loopback", "http://0x7f000001/x"),
    ("unspecified", "http://0.0.0.0:8000/x"),
    ("unspecified short", "http://0/x"),
    ("private", "http://10.0.0.5/x"),
    ("shared address space", "http://100.64.0.1/x"),
    ("metadata", "http://169.254.169.254/latest/meta-data/"),
    ("broadcast", "http://255.255.255.255/x"),
    ("multicast v4", "http://224.0.0.1/x"),
    ("reserved", "http://240.0.0.1/x"),
    ("ipv6 loopback", "http://[::1]/x"),
    ("ipv6 unspecified", "http://[::]/x"),
    ("ipv6 link-local with zone", "http://[fe80::1%25eth0]/x"),
    ("ipv6 unique local", "http://[fd00:ec2::254]/latest/"),
    ("ipv6 multicast", "http://[ff02::1]/x"),
    ("ipv4-mapped ipv6", "http://[::ffff:127.0.0.1]/x"),
    ("ipv4-mapped ipv6 hex", "http://[::ffff:7f00:1]/x"),
    ("ipv4-compatible ipv6", "http://[::127.0.0.1]/x"),
    ("6to4 of loopback", "http://[2002:7f00:1::]/x"),
    ("nat64 of metadata", "http://[64:ff9b::a9fe:a9fe]/x"),
    ("localhost", "http://localhost:8612/x"),
    ("localhost with dot", "http://localhost./x"),
    ("upper-case localhost", "http://LOCALHOST/x"),
    ("port zero", "http://hooks.example.org:0/x"),
    ("port too large", "http://hooks.example.org:99999/x"),
    ("gopher", "gopher://127.0.0.1:6379/_INFO"),
    ("file", "file:///etc/passwd"),
    ("no scheme", "//127.0.0.1/x"),
]


@pytest.mark.parametrize("url", [u for _, u in REFUSED], ids=[name for name, _ in REFUSED])
def test_an_address_that_reaches_the_inside_is_refused(url, monkeypatch):
    resolving(monkeypatch, {"hooks.example.org": ["93.184.215.14"]})

    with pytest.raises(ValidationError):
        outbound.check_webhook_url(url)


@pytest.mark.parametrize("inside", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1", "::ffff:10.0.0.1"])
def test_a_name_that_resolves_to_the_inside_is_refused(inside, monkeypatch):
    resolving(monkeypatch, {"hooks.example.org": [inside]})

    with pytest.raises(ValidationError, match="resolves to"):
        outbound.check_webhook_url("https://hooks.example.org/x")


def test_a_public_address_is_accepted_with_its_port(monkeypatch):
    resolving(monkeypatch, {"hooks.example.org": ["93.184.215.14"]})

    target = outbound.resolve_webhook("https://Hooks.Example.org:8443/a/b?c=1")

    assert (target.host, target.port, str(target.address)) == ("hooks.example.org", 8443, "93.184.215.14")
    assert target.request_uri == "/a/b?c=1" and target.host_header == "hooks.example.org:8443"


def test_the_form_refuses_a_backslash_address_and_saves_nothing(operator_client):
    response = operator_client.post(
        "/monitoring/channels/new/", {"name": "Sneaky", "kind": "webhook", "url": "http://127.0.0.1:8612\\@8.8.8.8/x"}
    )

    assert response.status_code == 400
    assert "backslash" in response.content.decode()
    assert not AlertChannel.objects.exists()


@pytest.fixture
def receiver(settings):
    settings.ALERT_WEBHOOK_ALLOW_LOOPBACK = True
    settings.ALERT_RETRY_BACKOFF_SECONDS = 0
    r = Receiver()
    yield r
    r.stop()


def deliver(ch: AlertChannel) -> AlertDelivery:
    delivery = channels.send_test(ch)
    deliver_alert.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


def test_the_post_goes_to_the_address_that_was_checked_even_if_the_name_moves(receiver, monkeypatch):
    port = receiver.server.server_address[1]
    # DNS rebinding: the first answer passes the check, every later one points at the metadata service.
    asked = resolving(monkeypatch, {"hooks.example.test": ["127.0.0.1", "169.254.169.254"]})
    ch = AlertChannel.objects.create(name="Hook", kind="webhook", url=f"http://hooks.example.test:{port}/hook")

    delivery = deliver(ch)

    assert delivery.status == AlertDelivery.Status.SENT and delivery.http_status == 200
    assert asked == ["hooks.example.test"]  # resolved once, for the check; the connection used that answer
    (request,) = receiver.requests
    assert request["path"] == "/hook" and request["headers"]["Host"] == f"hooks.example.test:{port}"


def test_a_redirect_is_not_followed(receiver, settings):
    inner = Receiver()
    try:
        receiver.answers = [302]
        receiver.location = inner.url
        ch = AlertChannel.objects.create(name="Hook", kind="webhook", url=receiver.url)

        delivery = deliver(ch)

        assert delivery.status == AlertDelivery.Status.FAILED and delivery.http_status == 302
        assert "answered HTTP 302" in delivery.result
        assert len(receiver.requests) == 1 and inner.requests == []
    finally:
        inner.stop()


@pytest.mark.parametrize(
    "form", ["http://127.0.0.1:{}/hook", "http://127.0.0.1:{}\\@8.8.8.8/", "http://[::ffff:127.0.0.1]:{}/"]
)
@pytest.mark.parametrize("port", [6379, 8612])
def test_internal_ports_are_refused_alike_open_or_closed(form, port):
    """The deliveries page is no port scanner: an internal address is refused before any connection, so an open
    and a closed port read the same."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    open_port = listener.getsockname()[1]
    try:
        results = []
        for p in (open_port, port):
            ch = AlertChannel.objects.create(name=f"Hook {p}", kind="webhook", url=form.format(p))
            results.append(deliver(ch))
    finally:
        listener.close()

    assert {d.status for d in results} == {AlertDelivery.Status.FAILED}
    assert {d.attempts for d in results} == {1}
    assert results[0].result == results[1].result
    assert all(d.result.startswith("Refused to send:") for d in results)
