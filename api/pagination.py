"""Keyset pagination: a page is "the rows after this key", so page 1,000 costs what page 1 does and a row added
meanwhile never shifts a page. The key travels signed in `cursor`; a changed cursor is refused, not guessed at."""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest

from .errors import FieldErrors

SALT = "streamflow.api.cursor"  # its name from before api/ was an app: a new salt would void cursors in use
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def encode_cursor(key: list) -> str:
    return signing.dumps(key, salt=SALT)


def decode_cursor(cursor: str | None, length: int) -> list | None:
    """The key in `cursor` (a list of `length` values), None for the first page; a 422 naming `cursor` if forged."""
    if not cursor:
        return None
    try:
        key = signing.loads(cursor, salt=SALT)
    except signing.BadSignature:
        key = None
    if not isinstance(key, list) or len(key) != length:
        raise FieldErrors(
            {"cursor": ["This cursor is not valid (changed, or from another list); start again without it."]}
        )
    return key


def page_url(request: HttpRequest, **params) -> str:
    """This request's absolute URL with `params` replaced: the `next` link of a list."""
    query = request.GET.copy()
    for name, value in params.items():
        query[name] = str(value)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def next_url(request: HttpRequest, rows: list, limit: int, key) -> str | None:
    """The next page's URL when `rows` (fetched with limit + 1) holds more than a page; trims `rows` to the page."""
    if len(rows) <= limit:
        return None
    del rows[limit:]
    return page_url(request, cursor=encode_cursor(key(rows[-1])))
