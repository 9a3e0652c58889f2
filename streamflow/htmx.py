"""htmx helpers shared by the apps' views."""

from __future__ import annotations

from django.http import HttpRequest


def wants_fragment(request: HttpRequest) -> bool:
    """True for an htmx request that wants a page's fragment.

    A history restore (the back button, with htmx's history cache off) also carries HX-Request but needs the
    whole page, or the browser would show a bare fragment without the layout.
    """
    return bool(request.htmx) and not request.htmx.history_restore_request
