"""The address of the client a request came from: the connection's, or, when that is one of TRUSTED_PROXIES, the
nearest address in X-Forwarded-For that is not a trusted proxy.

Behind the reverse proxy the README recommends every connection comes from the proxy: login throttling (django-axes,
AXES_CLIENT_IP_CALLABLE) and the API's per-address limit would then treat all clients as one. X-Forwarded-For is
read only from a trusted proxy, and from the right: each proxy appends the address it saw, so the entries left of
the first untrusted one are whatever the client wrote and are never believed.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest


@cache
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _trusted_networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    if not _trusted(remote):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed entry: nothing left of it can be believed; the proxy is what we know
        if not _trusted(hop):
            return hop
    return hops[0] if hops else remote
