"""The HTTP side of the USGS client: one GET at a time, with retries, redirects, caps and quota (no Django).

Everything a hostile or broken upstream could do to a worker is bounded here:
- the API key goes only to the configured origin: redirects and ``next`` links are followed by hand, parsed by
  urllib3 (the library that connects), and refused when they name another host, carry credentials or a backslash;
- a body is read in pieces, decompressed, up to ``max_body_bytes``, within ``deadline`` seconds for the whole
  request (the socket timeout alone restarts with every byte a drip-feeding server sends);
- one request chain follows at most ``max_pages`` next links, and never the same cursor twice;
- 429/5xx, broken connections, truncated bodies and malformed JSON are retried with full-jitter backoff honouring
  ``Retry-After``; 400/403/404/413/414 are not.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin

import orjson
import requests
import urllib3
from urllib3.util import parse_url

from acquisition.usgs.errors import (
    USGSError,
    USGSRateLimited,
    USGSTransient,
    error_for_status,
    retry_after_seconds,
)
from acquisition.usgs.parsers import load_json, parse_error

logger = logging.getLogger("acquisition.usgs")

MAX_BODY_BYTES = 64 * 2**20  # decompressed; a full 50,000-row page is about 15 MB
DEADLINE_SECONDS = 180.0  # a whole request, connect to last byte
MAX_PAGES = 1000  # next links followed for one request chain
_READ_PIECE = 256 * 1024
_NOT_RETRIED = {400, 401, 403, 404, 405, 406, 410, 411, 413, 414, 415, 422}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) as urllib3, which makes the connection, reads the URL."""
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    return scheme, (parts.host or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


CQL2_JSON = "application/query-cql-json"


def _http_date(text: str | None) -> datetime | None:
    """An HTTP `Date` header as an aware UTC datetime; None where absent or unreadable."""
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _next_href(page: dict) -> str | None:
    for link in page.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return str(link["href"])
    return None


class Transport:
    """GETs against one origin (``base_url``'s), with the API key in the ``X-Api-Key`` header only."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | tuple[float, float] = (10, 60),
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 120,
        user_agent: str = "streamflow-dataops/0.1",
        session: requests.Session | None = None,
        throttle: Callable[[], None] | None = None,
        on_event: Callable[[str, str, dict], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
        low_quota_pause: float = 1.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        deadline: float = DEADLINE_SECONDS,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = origin_of(self.base_url)
        self.api_key = api_key or None
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self.throttle = throttle
        self.on_event = on_event
        self.sleep = sleep
        self.clock = clock or (lambda: datetime.now(UTC))
        self.low_quota_pause = low_quota_pause
        self.max_body_bytes = max_body_bytes
        self.deadline = deadline
        self.max_pages = max_pages
        self._own_session = session is None
        self.session = session or requests.Session()
        self._headers = {
            "User-Agent": user_agent,
            "Accept": "application/geo+json, application/json;q=0.9",
            "Accept-Encoding": "gzip, deflate",
        }
        if self.api_key:
            self._headers["X-Api-Key"] = self.api_key
        self.requests_made = 0  # every HTTP request sent, retries and redirects included
        self.ratelimit_limit: int | None = None
        self.ratelimit_remaining: int | None = None
        self.min_ratelimit_remaining: int | None = None  # lowest quota seen, for run logs
        # USGS's clock at its first answer to this client (the `Date` header): a pull's revision cutoff is taken on
        # the server's clock, not ours (acquisition.planning).
        self.first_server_date: datetime | None = None
        self._rng = random.Random()
        self._attempts = 0  # attempts the last successful page took, for the "page" event

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def same_origin(self, href: str, *, what: str, url: str) -> str:
        """`href` as urllib3 will connect to it, if that is our origin with no credentials; else refuse (the key
        would go there)."""
        refuse = "\\" in href or any(c in href for c in "\r\n\t") or "%5c" in href.lower()
        parts = None
        if not refuse:
            try:
                parts = parse_url(href)
            except urllib3.exceptions.LocationParseError:
                refuse = True
        if refuse or parts is None or parts.auth or origin_of(href) != self._origin:
            shown = href[:200]
            raise USGSError(
                f"USGS {what} {url} to {shown}, which is not {self.base_url} (another host, credentials or a "
                "malformed address); refusing to follow it so the API key is not sent there. Check USGS_API_URL.",
                code="CROSS_HOST_REDIRECT" if what == "redirected" else "CROSS_HOST_NEXT",
                url=url,
            )
        return parts.url

    # -- paging ----------------------------------------------------------------------------------------------------

    def pages(self, url: str, label: str, *, body: bytes | None = None) -> Iterator[dict]:
        """Every page from `url` on, as parsed JSON, following ``next`` links until there is none or a page is
        empty; at most `max_pages` of them. With `body` (a CQL2-JSON filter) every page is a POST of that same
        body to its link, as the API pages a POSTed query (SPEC §5)."""
        seen_cursors: set[str] = set()
        number = 0
        while url is not None:
            if number >= self.max_pages:
                raise USGSError(
                    f"USGS kept sending next links after {self.max_pages} pages for {label} ({url}); stopped. "
                    "Run again later; if it persists, report it to USGS.",
                    code="TOO_MANY_PAGES",
                    url=url,
                )
            page = self._get_json(url, body)
            number += 1
            features = page.get("features") or []
            self._event(
                "page",
                f"{label} page {number}: {len(features)} features",
                {"url": url, "status": 200, "attempt": self._attempts, "page": number, "features": len(features),
                 "ratelimit_remaining": self.ratelimit_remaining},
            )  # fmt: skip
            yield page
            href = _next_href(page) if features else None
            url = None if href is None else self._checked_next(href, url, seen_cursors)

    def _checked_next(self, href: str, url: str, seen_cursors: set[str]) -> str:
        target = self.same_origin(href, what="sent a next link from", url=url)
        parts = parse_url(target)
        query = dict(parse_qsl(parts.query or "", keep_blank_values=True))
        cursor = query.get("cursor")
        if cursor is not None:
            if cursor in seen_cursors:
                raise USGSError(
                    f"USGS returned the same paging cursor twice ({href}); stopping rather than looping. "
                    "Run again later; if it persists, report it to USGS.",
                    code="CURSOR_REPEATED",
                    url=href,
                )
            seen_cursors.add(cursor)
        # Re-add f=json where the link lost it (v0 did).
        if "f" not in query:
            target += ("&" if parts.query else "?") + "f=json"
        return target

    # -- one request, with retries ------------------------------------------------------------------------------------

    def _get_json(self, url: str, query: bytes | None = None) -> dict:
        attempt = 0
        while True:
            status, body, headers, failure = self._send(url, query)
            if failure is None and status == 200:
                try:
                    obj = load_json(body)
                except orjson.JSONDecodeError:
                    failure = "a body that is not valid JSON (truncated or garbled)"
                else:
                    if isinstance(obj, dict):
                        self._attempts = attempt + 1
                        return obj
                    failure = "a JSON body that is not an object"
            elif failure is None and (status in _NOT_RETRIED or (400 <= status < 500 and status not in (408, 429))):
                error = error_for_status(status, body, url)
                self._event("error", str(error), {"url": url, "status": status, "attempt": attempt + 1})
                raise error
            wait = self._retry_wait(attempt, status, headers, body, url)
            if attempt >= self.max_retries:
                error = self._give_up(url, status, body, failure, attempt + 1)
                self._event("error", str(error), {"url": url, "status": status, "attempt": attempt + 1})
                raise error
            attempt += 1
            what = failure or f"HTTP {status}"
            self._event(
                "retry",
                f"{what} from {url}; retrying in {wait:.1f} s (attempt {attempt + 1} of {self.max_retries + 1})",
                {"url": url, "status": status, "attempt": attempt, "wait": wait},
            )
            self.sleep(wait)

    def _send(self, url: str, query: bytes | None = None) -> tuple[int | None, bytes, Any, str | None]:
        """One GET, or a POST of the CQL2-JSON `query` (following same-origin redirects by hand): (status, body,
        headers, failure); failure names a broken read. The body is read in pieces against a size cap and a
        deadline for the whole request."""
        for _ in range(5):
            self._before_request()
            self.requests_made += 1
            deadline = time.monotonic() + self.deadline
            try:
                # Redirects are never followed by requests: it would carry X-Api-Key to whatever host a 3xx names.
                if query is None:
                    resp = self.session.get(
                        url, headers=self._headers, timeout=self.timeout, allow_redirects=False, stream=True
                    )
                else:
                    resp = self.session.post(
                        url,
                        data=query,
                        headers={**self._headers, "Content-Type": CQL2_JSON},
                        timeout=self.timeout,
                        allow_redirects=False,
                        stream=True,
                    )
            except (requests.ConnectionError, requests.Timeout) as exc:
                return None, b"", {}, f"a broken connection ({type(exc).__name__})"
            try:
                self._note_quota(resp.headers)
                if resp.is_redirect:
                    url = self.same_origin(urljoin(url, resp.headers.get("Location", "")), what="redirected", url=url)
                    continue
                try:
                    body = self._read_body(resp, url, deadline)
                except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
                    return None, b"", {}, f"a broken connection ({type(exc).__name__})"
            finally:
                resp.close()
            # urllib3 normally raises on a short read already; this catches transports that do not.
            declared = resp.headers.get("Content-Length") or ""
            if declared.isdigit() and not resp.headers.get("Content-Encoding") and int(declared) != len(body):
                return resp.status_code, body, resp.headers, "a truncated body"
            return resp.status_code, body, resp.headers, None
        raise USGSError(f"USGS redirected {url} too many times.", code="TOO_MANY_REDIRECTS", url=url)

    def _read_body(self, resp: requests.Response, url: str, deadline: float) -> bytes:
        """The decompressed body, at most `max_body_bytes`, read before `deadline` (a drip-feeding server would
        otherwise hold a request forever: the read timeout restarts with every byte)."""
        pieces: list[bytes] = []
        size = 0
        raw = resp.raw
        while True:
            if time.monotonic() > deadline:
                raise USGSError(
                    f"USGS took longer than {self.deadline:.0f} s to send the answer to {url}; stopped reading it. "
                    "The service or the network is unwell: run again later.",
                    code="DEADLINE_EXCEEDED",
                    url=url,
                )
            # read1: whatever one read brings (decompressed), so the deadline is checked between reads.
            piece = raw.read1(_READ_PIECE, decode_content=True)
            if not piece:
                return b"".join(pieces)
            size += len(piece)
            if size > self.max_body_bytes:
                raise USGSError(
                    f"USGS sent more than {self.max_body_bytes // 2**20} MB (decompressed) for {url}; stopped reading "
                    "it. No real page is that large (50,000 rows are about 15 MB): report it to USGS, or raise "
                    "USGS_MAX_BODY_MB if you trust the source.",
                    code="BODY_TOO_LARGE",
                    url=url,
                )
            pieces.append(piece)

    def _retry_wait(self, attempt: int, status: int | None, headers: Any, body: bytes, url: str) -> float:
        backoff = self._rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))
        retry_after = retry_after_seconds(headers.get("Retry-After")) if status in (429, 503) else None
        if retry_after is None:
            return backoff
        if retry_after > self.max_retry_after:
            code, description = parse_error(status or 0, body)
            cls = USGSRateLimited if status == 429 else USGSTransient
            kwargs = {"retry_after": retry_after} if cls is USGSRateLimited else {}
            raise cls(
                f"USGS answered HTTP {status} {code} for {url} and asks to wait {retry_after:.0f} s, longer than "
                f"the {self.max_retry_after:.0f} s this run will wait. Run again later.",
                status=status,
                code=code,
                description=description,
                url=url,
                **kwargs,
            )
        # Honour the server's wait, plus a little jitter so parallel workers do not return in lockstep.
        return retry_after + self._rng.uniform(0, min(1.0, self.backoff_base))

    def _give_up(self, url: str, status: int | None, body: bytes, failure: str | None, attempts: int) -> USGSError:
        if status == 429:
            code, description = parse_error(status, body)
            return USGSRateLimited(
                f"USGS kept answering HTTP 429 {code} for {url} after {attempts} attempts: the hourly quota is used "
                "up. Wait, then run again (or pull fewer stations per hour).",
                status=status,
                code=code,
                description=description,
                url=url,
            )
        if failure is not None:
            return USGSTransient(
                f"USGS sent {failure} for {url} on {attempts} attempts in a row. The service or the network is "
                "unwell; a later run will retry this window.",
                status=status,
                code="BROKEN_RESPONSE",
                url=url,
            )
        code, description = parse_error(status or 0, body)
        return USGSTransient(
            f"USGS answered HTTP {status} {code} for {url} on {attempts} attempts in a row: "
            f"{description.rstrip('.')}. The service is failing; a later run will retry this window.",
            status=status,
            code=code,
            description=description,
            url=url,
        )

    def _before_request(self) -> None:
        if self.throttle is not None:
            self.throttle()
        remaining, limit = self.ratelimit_remaining, self.ratelimit_limit
        if remaining is not None and (remaining < 10 or (limit and remaining < 0.05 * limit)):
            # Nearly out of hourly quota: slow down rather than run into 429s that stall the whole run.
            logger.warning("USGS quota low (%s of %s left); pausing %.1f s", remaining, limit, self.low_quota_pause)
            self.sleep(self.low_quota_pause)

    def _note_quota(self, headers: Any) -> None:
        if self.first_server_date is None:
            self.first_server_date = _http_date(headers.get("Date"))
        limit, remaining = headers.get("X-RateLimit-Limit"), headers.get("X-RateLimit-Remaining")
        if limit is not None and str(limit).isdigit():
            self.ratelimit_limit = int(limit)
        if remaining is not None and str(remaining).isdigit():
            self.ratelimit_remaining = int(remaining)
            low = self.min_ratelimit_remaining
            self.min_ratelimit_remaining = self.ratelimit_remaining if low is None else min(low, int(remaining))

    def _event(self, kind: str, message: str, data: dict) -> None:
        logger.log(logging.WARNING if kind != "page" else logging.DEBUG, message)
        if self.on_event is not None:
            self.on_event(kind, message, data)
