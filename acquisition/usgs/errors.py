"""The errors the USGS client raises, each a sentence that names the URL and says what to do about it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from acquisition.usgs.parsers import parse_error


class USGSError(Exception):
    """A request to USGS failed. ``str()`` is a sentence naming the URL and what to do about it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.description = description
        self.url = url

    def __str__(self) -> str:
        return self.message


class USGSBadRequest(USGSError):
    """The request itself is wrong (400, 404, 413, 414, or a URL we refused to send); retrying will not help."""


class USGSRateLimited(USGSError):
    """429 OVER_RATE_LIMIT that outlasted the retries, or a Retry-After longer than we are willing to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class USGSTransient(USGSError):
    """5xx, broken connections or unreadable bodies that outlasted the retries; a later run may succeed."""


def error_for_status(status: int, body: bytes, url: str) -> USGSError:
    code, description = parse_error(status, body)
    said = f"USGS answered HTTP {status} {code} for {url}: {description.rstrip('.')}."
    kwargs = {"status": status, "code": code, "description": description, "url": url}
    if status == 403:
        if code == "API_KEY_INVALID":
            hint = "Check USGS_API_KEY: the key is wrong or was revoked (sign up at api.waterdata.usgs.gov/signup)."
        elif code == "API_KEY_MISSING":
            hint = "Set USGS_API_KEY: this endpoint needs an API key."
        else:
            hint = "The request was forbidden: check USGS_API_KEY, and send fewer ids per request."
        return USGSError(f"{said} {hint}", **kwargs)
    if status == 404:
        return USGSBadRequest(f"{said} Check the monitoring location or series id, and USGS_API_URL.", **kwargs)
    if status in (413, 414):
        return USGSBadRequest(f"{said} The request is too long: ask for fewer locations or series at once.", **kwargs)
    if status == 429:
        return USGSRateLimited(f"{said} The hourly quota is used up: wait, then run again.", **kwargs)
    if status >= 500:
        return USGSTransient(f"{said} The service failed; a later run will retry.", **kwargs)
    return USGSBadRequest(f"{said} Fix the request; sending it again will not help.", **kwargs)


def retry_after_seconds(raw: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
