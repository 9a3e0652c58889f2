"""Who is asking: a personal bearer token (scripts) or the browser's session (the docs page), and the rate limit.

A token acts as its user with the user's roles as they are now, so taking someone out of Operators takes their
tokens' write access too. Token text is never logged: only its row id appears in a log line.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from streamflow.client_address import client_address
from streamflow.models import ApiToken, RateWindow, hash_token

TOKENS_PAGE = "/accounts/api-tokens/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WINDOW_SECONDS = 60
PURGE_AFTER_MINUTES = 10


class RateLimited(HttpError):
    def __init__(self, retry_after: int, who: str, limit: int) -> None:
        self.retry_after = retry_after
        super().__init__(429, f"Too many requests {who}: at most {limit} a minute. Retry after {retry_after} s.")


class TokenOrSession(HttpBearer):
    """`Authorization: Bearer <token>`, or else a logged-in session (whose writes must carry the CSRF token).

    A request that sends an Authorization header is judged by it alone: a bad token is a 401 even in a browser
    that is logged in, so a script never works by accident on someone's session.
    """

    csrf = True  # the docs page then sends X-CSRFToken on the session's writes

    def __call__(self, request: HttpRequest) -> ApiToken | object:
        # Every call counts against its address first, so bad tokens and anonymous calls are limited too.
        limit_rate(
            f"address:{client_address(request)}", settings.API_ADDRESS_RATE_LIMIT_PER_MINUTE, "from your address"
        )
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, key = header.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                raise AuthenticationError(message="The Authorization header must read “Bearer <token>”.")
            token = authenticate_token(request, key.strip())
            limit_rate(f"user:{token.user_id}", settings.API_RATE_LIMIT_PER_MINUTE, "by your account")
            return token
        user = request.user
        if not user.is_authenticated:
            raise AuthenticationError(
                message=f"No credentials: send “Authorization: Bearer <token>” (create a token on {TOKENS_PAGE})."
            )
        # The session counts as its user, with the user's tokens: a second token or the browser is no way around it.
        limit_rate(f"user:{user.pk}", settings.API_RATE_LIMIT_PER_MINUTE, "by your account")
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise AuthorizationError(
                message="The CSRF check failed: send the X-CSRFToken header with the session, or use a bearer token."
            )
        return user

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:  # pragma: no cover - __call__ does it
        return authenticate_token(request, token)


def authenticate_token(request: HttpRequest, key: str) -> ApiToken:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None:
        raise AuthenticationError(
            message=f"Unknown API token: check it was copied whole, or create a new one on {TOKENS_PAGE}."
        )
    if not token.is_active:
        raise AuthenticationError(message=f"This API token was revoked; create a new one on {TOKENS_PAGE}.")
    if not token.user.is_active:
        raise AuthenticationError(message="The account this token belongs to is disabled.")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    request.user = token.user
    return token


def limit_rate(key: str, limit: int, who: str) -> None:
    """Count one request for `key`; past `limit` in this minute, RateLimited (429 with Retry-After)."""
    retry_after = count_request(key, limit)
    if retry_after:
        raise RateLimited(retry_after, who, limit)


def count_request(key: str, limit: int) -> int:
    """Count one request in `key`'s current minute; 0 if within `limit`, else the seconds until the next minute.

    Conditional UPDATEs on the key's row, so concurrent processes agree on the count without a cache server:
    the first adds to the current window; when that matches no row the window is stale (or the key new) and the
    second opens a new one; if another process opened it in between, the first is tried again.
    """
    now = timezone.now()
    window = now.replace(second=0, microsecond=0)
    row = RateWindow.objects.filter(key=key)
    added = row.filter(window_start=window).update(count=F("count") + 1)
    if not added:
        added = row.exclude(window_start=window).update(window_start=window, count=1)
        if not added:
            try:
                with transaction.atomic():
                    RateWindow.objects.create(key=key, window_start=window, count=1)
            except IntegrityError:  # another process made the row first
                row.filter(window_start=window).update(count=F("count") + 1)
            else:  # a new key at most once a minute: the time to forget the ones long quiet
                RateWindow.objects.filter(window_start__lt=window - dt.timedelta(minutes=PURGE_AFTER_MINUTES)).delete()
    count = row.values_list("count", flat=True).first() or 0
    if count <= limit:
        return 0
    return max(1, math.ceil(WINDOW_SECONDS - (now - window).total_seconds()))


def require(request: HttpRequest, permission: str) -> None:
    """The same permission the page's view checks; a 403 that says which role does it."""
    if not request.user.has_perm(permission):
        writes = not permission.split(".", 1)[1].startswith("view_")
        who = "Operators" if writes else "Viewers or Operators"
        raise AuthorizationError(message=f"Your account may not do this ({permission}); it takes the {who} group.")
