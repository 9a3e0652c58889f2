"""Request guards that apply to every URL, the admin's included."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL_MESSAGE = (
    "The address contains a NUL character (%00), which no field of this site accepts; remove it and try again.\n"
)


class RejectNulBytesMiddleware:
    """Answer 400 to a path or query string carrying a NUL byte, before any view sees it.

    PostgreSQL text cannot hold NUL, so a NUL compared in any filter (a view's, or the admin's list filters and
    search, which pass query parameters straight to the ORM) raises DataError: a 500. Forms already refuse NUL in
    POSTed fields (Django's CharField validator); GET parameters reach querysets without a form in many places.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


# The pages' own timers (hx-trigger="every …"), by the id htmx sends as HX-Trigger: not a person at the keyboard.
POLLS = frozenset({"dashboard-cards", "run-live"})
REFRESHED_KEY = "_idle_refreshed"


class SessionIdleTimeoutMiddleware:
    """A logged-in session expires SESSION_COOKIE_AGE seconds after its user was last active, not after login.

    Django moves a session's expiry only when the session is saved. SESSION_SAVE_EVERY_REQUEST would save it on
    every request, the run page's 2-second polls included; instead a request saves it when the last save is over
    a minute old, so the timeout is exact to within that minute. Polls do not count, or an open dashboard
    would keep a session alive forever.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not _is_poll(request):
            now = int(time.time())
            every = min(60, settings.SESSION_COOKIE_AGE // 4)
            if now - request.session.get(REFRESHED_KEY, 0) >= every:
                request.session[REFRESHED_KEY] = now  # marks the session modified: saved with a new expiry
        return self.get_response(request)


def _is_poll(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Trigger") in POLLS
