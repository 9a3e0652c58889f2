"""The selection basket: monitoring location ids kept server-side in the session, in the order added."""

from __future__ import annotations

from django.http import HttpRequest

SESSION_KEY = "basket"


def get_ids(request: HttpRequest) -> list[str]:
    return list(request.session.get(SESSION_KEY, []))


def count(request: HttpRequest) -> int:
    return len(request.session.get(SESSION_KEY, []))


def add(request: HttpRequest, ids: list[str]) -> int:
    """Add ids (adding twice is harmless); returns how many were new."""
    current = get_ids(request)
    seen = set(current)
    new = [i for i in ids if i not in seen and not seen.add(i)]
    request.session[SESSION_KEY] = current + new
    return len(new)


def remove(request: HttpRequest, ids: list[str]) -> None:
    drop = set(ids)
    request.session[SESSION_KEY] = [i for i in get_ids(request) if i not in drop]


def clear(request: HttpRequest) -> None:
    request.session[SESSION_KEY] = []
