"""Pages that read a lot (a station's whole-record quality page, a configuration's quality roll-up): each user runs
at most HEAVY_PAGES_PER_USER of them at once, across all web processes (the export slots' locks, another pool).

A 19-year 15-minute quality page takes seconds; twenty of them at once by one Viewer made another user's page take
28 s. One more than the cap is a 429 sentence with Retry-After, straight away, instead of a thread and a query.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from streamflow.responses import plain_error

from . import export_limits

RETRY_AFTER = 10  # seconds: a hint; a heavy page takes seconds, not minutes


def heavy_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Hold one of the user's heavy-page slots while `view` runs (put it below the permission check)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        limit = settings.HEAVY_PAGES_PER_USER
        slot = export_limits.acquire(request.user.pk, limit, pool="heavy")
        if slot is None:
            response = plain_error(
                f"You already have {limit} quality pages loading; wait for them to finish, then try again.", 429
            )
            response["Retry-After"] = str(RETRY_AFTER)
            return response
        try:
            return view(request, *args, **kwargs)
        finally:
            slot.release()

    return wrapped
