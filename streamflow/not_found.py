"""The product's own 404 page, with DEBUG on too (issue 23, item 14).

Django answers an unknown address with DEBUG on by listing every URL pattern of the site; `make run` and
`make demo` run with DEBUG on, so a person trying the product saw that list instead of the page production shows.
`NotFoundPageMiddleware` gives them the same page production gives (`page_not_found`, the `handler404`): for an
address no pattern matches (the resolver found nothing: `request.resolver_match` is None) and for a view that
raised Http404. A view that answers 404 itself (an htmx fragment, the API's JSON) keeps its own answer.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page: the view's own sentence ("No station … in the catalog") when it gave one, else a generic one
    (never a class name such as "Resolver404")."""
    message = exception.args[0] if exception is not None and exception.args else None
    return render(
        request, "404.html", {"message": message if isinstance(message, str) else None}, status=404
    )


class NotFoundPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
