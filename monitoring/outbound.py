"""Which webhook addresses the app may POST to (no SSRF): http(s) only, never the app itself, never an address
that is not publicly routable — loopback, private, shared, link-local (the cloud metadata services at
169.254.169.254 / fd00:ec2::254), multicast, reserved. Checked when a channel is saved and again before each send
(the name may resolve elsewhere by then); redirects are never followed.

Tests run their receivers on 127.0.0.1: ALERT_WEBHOOK_ALLOW_LOOPBACK=True lets loopback through, nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http.request import validate_host

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"The host “{host}” could not be resolved ({exc}); check the address.") from exc
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        addresses.append(ip)
    return addresses


def _is_the_app(host: str, port: int) -> bool:
    site = urlsplit(settings.SITE_URL)
    site_port = site.port or (443 if site.scheme == "https" else 80)
    if host == (site.hostname or "").lower() and port == site_port:
        return True
    # A name the app answers to (ALLOWED_HOSTS), on any port; loopback names are judged by the address rule below.
    named = [h for h in settings.ALLOWED_HOSTS if h not in ("*", "127.0.0.1", "[::1]") and h not in LOOPBACK_NAMES]
    return bool(named) and validate_host(host, named)


def check_webhook_url(url: str) -> None:
    """Raise ValidationError (a sentence saying what to do) unless `url` is a webhook address we may POST to."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Enter an http:// or https:// address; other schemes are not sent to.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ValidationError("Enter a full address with a host name, e.g. https://hooks.example.org/streamflow.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError("The port in that address is not a number between 1 and 65535.") from exc
    if _is_the_app(host, port):
        raise ValidationError("That address is this application itself; alerts must go to another service.")
    allow_loopback = getattr(settings, "ALERT_WEBHOOK_ALLOW_LOOPBACK", False)
    for ip in _addresses(host, port):
        if ip.is_loopback and allow_loopback:
            continue
        if not ip.is_global or ip.is_multicast:
            raise ValidationError(
                f"“{host}” resolves to {ip}, a loopback, private, link-local or metadata address; alerts go only to "
                "public addresses."
            )
