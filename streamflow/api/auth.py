"""Who is asking: a personal bearer token (scripts) or the browser's session (the docs page), and the rate limit.

A token acts as its user with the user's roles as they are now, so taking someone out of Operators takes their
tokens' write access too. Token text is never logged: only its row id appears in a log line.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from streamflow.models import ApiToken, hash_token

TOKENS_PAGE = "/accounts/api-tokens/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WINDOW_SECONDS = 60


class RateLimited(HttpError):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            429,
            f"Too many requests with this token: at most {settings.API_RATE_LIMIT_PER_MINUTE} a minute. "
            f"Retry after {retry_after} s.",
        )


class TokenOrSession(HttpBearer):
    """`Authorization: Bearer <token>`, or else a logged-in session (whose writes must carry the CSRF token).

    A request that sends an Authorization header is judged by it alone: a bad token is a 401 even in a browser
    that is logged in, so a script never works by accident on someone's session.
    """

    csrf = True  # the docs page then sends X-CSRFToken on the session's writes

    def __call__(self, request: HttpRequest) -> ApiToken | object:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, key = header.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                raise AuthenticationError(message="The Authorization header must read “Bearer <token>”.")
            return authenticate_token(request, key.strip())
        user = request.user
        if not user.is_authenticated:
            raise AuthenticationError(
                message=f"No credentials: send “Authorization: Bearer <token>” (create a token on {TOKENS_PAGE})."
            )
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
    retry_after = count_request(token)
    if retry_after:
        raise RateLimited(retry_after)
    request.user = token.user
    return token


def count_request(token: ApiToken) -> int:
    """Count one request in the token's current minute; 0 if allowed, else the seconds until the next minute.

    Conditional UPDATEs on the token's row, so concurrent processes agree on the count without a cache server:
    the first adds to the current window; when that matches no row the window is stale and the second opens a
    new one; if another process opened it in between, the first is tried again.
    """
    now = timezone.now()
    window = now.replace(second=0, microsecond=0)
    row = ApiToken.objects.filter(pk=token.pk)
    added = row.filter(window_start=window).update(window_count=F("window_count") + 1, last_used_at=now)
    if not added:
        added = row.exclude(window_start=window).update(window_start=window, window_count=1, last_used_at=now)
        if not added:
            row.filter(window_start=window).update(window_count=F("window_count") + 1, last_used_at=now)
    count = row.values_list("window_count", flat=True).first() or 0
    if count <= settings.API_RATE_LIMIT_PER_MINUTE:
        return 0
    return max(1, math.ceil(WINDOW_SECONDS - (now - window).total_seconds()))


def require(request: HttpRequest, permission: str) -> None:
    """The same permission the page's view checks; a 403 that says which role does it."""
    if not request.user.has_perm(permission):
        writes = not permission.split(".", 1)[1].startswith("view_")
        who = "Operators" if writes else "Viewers or Operators"
        raise AuthorizationError(message=f"Your account may not do this ({permission}); it takes the {who} group.")
