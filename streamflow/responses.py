"""Error answers that are a sentence and nothing else."""

from __future__ import annotations

from django.http import HttpResponse


def plain_error(message: str, status: int = 400) -> HttpResponse:
    """A 4xx whose body is `message` as text/plain: a value from the request quoted in it is shown as text, never
    read as markup (a `<meta http-equiv=refresh>` or a fake login form would pass a CSP that stops scripts)."""
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
