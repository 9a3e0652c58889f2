"""The selection basket: monitoring location ids kept server-side in the session, in the order added."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

SESSION_KEY = "basket"


class BasketFull(Exception):
    """Adding would pass BASKET_MAX_STATIONS; the message is a sentence for the user."""


def get_ids(request: HttpRequest) -> list[str]:
    return list(request.session.get(SESSION_KEY, []))


def count(request: HttpRequest) -> int:
    return len(request.session.get(SESSION_KEY, []))


def add(request: HttpRequest, ids: list[str]) -> int:
    """Add ids (adding twice is harmless); returns how many were new. All or nothing: raises BasketFull, adding
    none, when the new ones would take the basket past BASKET_MAX_STATIONS (the basket and the configuration form
    built from it are pages of every station in it)."""
    current = get_ids(request)
    seen = set(current)
    new = [i for i in ids if i not in seen and not seen.add(i)]
    cap = settings.BASKET_MAX_STATIONS
    if len(current) + len(new) > cap:
        raise BasketFull(
            f"The basket holds at most {cap:,} stations and has {len(current):,}, so {len(new):,} more do not fit. "
            "Create a configuration from the basket or remove some stations, then add these."
        )
    request.session[SESSION_KEY] = current + new
    return len(new)


def remove(request: HttpRequest, ids: list[str]) -> None:
    drop = set(ids)
    request.session[SESSION_KEY] = [i for i in get_ids(request) if i not in drop]


def clear(request: HttpRequest) -> None:
    request.session[SESSION_KEY] = []


# Where the basket's stations are going: set by the configuration form when "Add more from search" leaves a
# configuration being edited, so the basket can offer the way back to it (not only "Create a configuration"):
# `take_url` moves the basket's stations into that form (a POST), `url` goes back without them.
DESTINATION_KEY = "basket_destination"


def set_destination(request: HttpRequest, url: str, name: str, take_url: str) -> None:
    request.session[DESTINATION_KEY] = {"url": url, "name": name, "take_url": take_url}


def destination(request: HttpRequest) -> dict | None:
    """{"url", "name", "take_url"} of the configuration the user left to add stations, or None."""
    return request.session.get(DESTINATION_KEY)


def clear_destination(request: HttpRequest) -> None:
    request.session.pop(DESTINATION_KEY, None)
