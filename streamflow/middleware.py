"""Request guards that apply to every URL, the admin's included."""

from __future__ import annotations

from collections.abc import Callable

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
