"""Which webhook addresses the app may POST to, and the POST itself (no SSRF).

http(s) only, never the app itself, never an address that is not publicly routable — loopback, private, shared,
link-local (the cloud metadata services at 169.254.169.254 / fd00:ec2::254), multicast, reserved, unspecified, and
IPv6 forms that carry one of those (IPv4-mapped, IPv4-compatible, 6to4, NAT64). Checked when a channel is saved
and again before each send.

The address is read by urllib3's parser, the one that connects (urlsplit reads `http://127.0.0.1:8612\\@8.8.8.8/`
as host 8.8.8.8 where urllib3 connects to 127.0.0.1); a backslash, user info or a control character is refused
outright. The name is resolved once and the POST connects to the address that was checked, with the name in the
Host header, the TLS SNI and the certificate check: a name that resolves elsewhere a moment later (DNS rebinding)
changes nothing. Redirects are never followed.

Tests run their receivers on 127.0.0.1: ALERT_WEBHOOK_ALLOW_LOOPBACK=True lets loopback through, nothing else.
ALERT_WEBHOOK_ALLOWED_HOSTS (empty by default; `make demo` sets it to this machine) names the hosts an operator
trusts on a loopback or private address — a receiver on this machine or the office network. Only those names (or
addresses, as written in the URL) pass, and only to loopback or private addresses: link-local (the metadata
services), multicast, reserved and unspecified addresses stay refused for them too, and so does the app itself.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http.request import validate_host
from urllib3.exceptions import LocationParseError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 prefixes that embed an IPv4 address in their last 32 bits (NAT64: RFC 6052, RFC 8215; IPv4-compatible).
_EMBEDDING_V4 = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96")]


@dataclass(frozen=True)
class Target:
    """A checked webhook address: where to connect (`address`) and what to call the host (`host`)."""

    scheme: str
    host: str
    port: int
    address: IPAddress
    request_uri: str

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _EMBEDDING_V4) and int(ip) & 0xFFFFFFFF and ip != ipaddress.IPv6Address("::1"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(ip: IPAddress) -> bool:
    embedded = _embedded_v4(ip)
    if embedded is not None and not _public(embedded):
        return False
    return ip.is_global and not ip.is_multicast


def _trusted(ip: IPAddress) -> bool:
    """An address a host of ALERT_WEBHOOK_ALLOWED_HOSTS may have: loopback or private, never link-local & co."""
    ip = _embedded_v4(ip) or ip
    if ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    return ip.is_loopback or ip.is_private or _public(ip)


def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        hint = ""
        if settings.ALERT_WEBHOOK_ALLOWED_HOSTS:
            hint = (
                " Without a network, send to a receiver on one of the hosts this server allows: "
                f"{', '.join(settings.ALERT_WEBHOOK_ALLOWED_HOSTS)} (ALERT_WEBHOOK_ALLOWED_HOSTS)."
            )
        raise ValidationError(f"The host “{host}” could not be resolved ({exc}); check the address.{hint}") from exc
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _is_the_app(host: str, port: int) -> bool:
    site = urlsplit(settings.SITE_URL)
    site_port = site.port or (443 if site.scheme == "https" else 80)
    if host == (site.hostname or "").lower() and port == site_port:
        return True
    # A name the app answers to (ALLOWED_HOSTS), on any port; loopback names are judged by the address rule below.
    named = [h for h in settings.ALLOWED_HOSTS if h not in ("*", "127.0.0.1", "[::1]") and h not in LOOPBACK_NAMES]
    return bool(named) and validate_host(host, named)


def resolve_webhook(url: str) -> Target:
    """The checked target of `url`; raises ValidationError (a sentence saying what to do) if we may not POST to it."""
    url = url.strip()
    if "\\" in url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValidationError("A webhook address may not contain a backslash, spaces or control characters.")
    try:
        parts = urllib3.util.parse_url(url)
    except LocationParseError as exc:
        raise ValidationError("That is not a valid address; check the host and the port (1 to 65535).") from exc
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Enter an http:// or https:// address; other schemes are not sent to.")
    authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    if parts.auth is not None or "@" in authority:
        raise ValidationError("Remove the user name or password (the part before @) from the address.")
    host = (parts.hostname or "").lower().strip("[]").rstrip(".")
    if not host:
        raise ValidationError("Enter a full address with a host name, e.g. https://hooks.example.org/streamflow.")
    port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise ValidationError("The port in that address is not a number between 1 and 65535.")
    if _is_the_app(host, port):
        raise ValidationError("That address is this application itself; alerts must go to another service.")
    addresses = _addresses(host, port)
    allowed_host = host in {h.lower().strip("[]") for h in settings.ALERT_WEBHOOK_ALLOWED_HOSTS}
    for ip in addresses:
        if ip.is_loopback and settings.ALERT_WEBHOOK_ALLOW_LOOPBACK:
            continue
        if allowed_host and _trusted(ip):
            continue
        if not _public(ip):
            raise ValidationError(
                f"“{host}” resolves to {ip}, a loopback, private, link-local or metadata address; alerts go only to "
                "public addresses."
            )
    return Target(parts.scheme, host, port, addresses[0], parts.request_uri)


def check_webhook_url(url: str) -> None:
    """Raise ValidationError (a sentence saying what to do) unless `url` is a webhook address we may POST to."""
    resolve_webhook(url)


def post(target: Target, body: bytes, headers: dict[str, str], *, connect: float, read: float) -> int:
    """POST `body` to the checked address (not to whatever the name resolves to now); returns the HTTP status.

    Raises urllib3.exceptions.HTTPError (or OSError) when the receiver cannot be reached or does not answer."""
    timeout = urllib3.Timeout(connect=connect, read=read)
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            str(target.address),
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(str(target.address), target.port, timeout=timeout, retries=False)
    try:
        response = pool.urlopen(
            "POST",
            target.request_uri,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        response.close()  # the status is all we keep: an endless or dripping body never holds the worker
        return response.status
    finally:
        pool.close()
