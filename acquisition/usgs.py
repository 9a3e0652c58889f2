"""HTTP client for the USGS Water Data OGC API v1 (pure ``requests``; no Django, so tests and benches import it bare).

What it gets right, per ``shared/usgs/SPEC.md``: ``limit`` always sent; ``next`` links followed until there are none;
the API key only ever in the ``X-Api-Key`` header, never in a URL and never to another host; 429/5xx, broken
connections, truncated bodies and malformed JSON retried with full-jitter backoff honouring ``Retry-After``;
400/403/404/413/414 never retried; continuous ranges cut into windows of at most 1000 days (the API refuses more
than 1100); pages merged, de-duplicated on (time_series_id, time) and sorted, because pages are not in time order.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import orjson
import requests

from acquisition.parsers import (
    Reading,
    SeriesInfo,
    choose_primary,
    load_json,
    merge_readings,
    parse_continuous_page,
    parse_daily_page,
    parse_error,
    parse_monitoring_locations,
    parse_series_metadata,
    sorted_readings,
)
from acquisition.usgs_errors import (
    USGSBadRequest,
    USGSError,
    USGSRateLimited,
    USGSTransient,
    error_for_status,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.waterdata.usgs.gov/ogcapi/v1"
MAX_LIMIT = 50000
MAX_URL_BYTES = 8000  # nginx in front of the API answers 414 a little above this
MAX_CONTINUOUS_WINDOW_DAYS = 1000  # the API refuses continuous envelopes over 1100 days
DISCHARGE = "00060"
DAILY_MEAN = "00003"
INSTANTANEOUS = "00011"
READING_PROPERTIES = "time_series_id,time,value,approval_status,qualifier,last_modified"
_NEXT_LINK_ROOM = 256  # a next link repeats our query plus a cursor: leave room so page 2 stays under the limit
_NOT_RETRIED = {400, 401, 403, 404, 405, 406, 410, 411, 413, 414, 415, 422}

Kind = Literal["daily", "continuous"]
__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_CONTINUOUS_WINDOW_DAYS",
    "MAX_URL_BYTES",
    "Reading",
    "SeriesInfo",
    "USGSBadRequest",
    "USGSClient",
    "USGSError",
    "USGSRateLimited",
    "USGSTransient",
    "choose_primary",
]


# -------------------------------------------------------------------------------------------------------------------
# Small helpers
# -------------------------------------------------------------------------------------------------------------------


def _iso_z(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time(), tzinfo=UTC)
    elif value.tzinfo is None:
        raise ValueError(f"{value!r} is naive: pass timezone-aware datetimes (UTC) to the USGS client")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ".."
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _aware(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time(), tzinfo=UTC)
    if value.tzinfo is None:
        raise ValueError(f"{value!r} is naive: pass timezone-aware datetimes (UTC) to the USGS client")
    return value.astimezone(UTC)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return _iso_z(value) if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_param(v) for v in value)
    return str(value)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _next_href(page: dict) -> str | None:
    for link in page.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return str(link["href"])
    return None


# -------------------------------------------------------------------------------------------------------------------
# The client
# -------------------------------------------------------------------------------------------------------------------


class USGSClient:
    MAX_CONTINUOUS_WINDOW_DAYS = MAX_CONTINUOUS_WINDOW_DAYS

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        limit: int = MAX_LIMIT,
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
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self.api_key = api_key or None
        self.limit = limit
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
        self._rng = random.Random()
        self._attempts = 0  # attempts the last successful page took, for the "page" event

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> USGSClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paging ----------------------------------------------------------------------------------------------------

    def build_url(self, collection: str, params: dict[str, Any]) -> str:
        """The first-page URL: our defaults (f=json, limit, skipGeometry=true) overridden by ``params``."""
        if "api_key" in params:
            raise ValueError("pass the key as USGSClient(api_key=...): it is sent as X-Api-Key, never in the URL")
        merged: dict[str, Any] = {"f": "json", "limit": self.limit, "skipGeometry": "true"}
        merged.update({k: v for k, v in params.items() if v is not None})
        query = urlencode({k: _param(v) for k, v in merged.items()}, safe=",:/")
        url = f"{self.base_url}/collections/{collection}/items?{query}"
        size = len(url.encode())
        if size > MAX_URL_BYTES:
            raise USGSBadRequest(
                f"The {collection} request URL would be {size} bytes, over the {MAX_URL_BYTES} bytes USGS accepts "
                "(longer ones fail with HTTP 414). Ask for fewer monitoring locations or series per request.",
                code="URL_TOO_LONG",
                url=url[:300] + "…",
            )
        return url

    def get_pages(self, collection: str, params: dict[str, Any]) -> Iterator[dict]:
        """Every page of a query, as parsed JSON, following ``next`` links until there is none or a page is empty."""
        url: str | None = self.build_url(collection, params)
        seen_cursors: set[str] = set()
        number = 0
        while url is not None:
            page = self._get_json(url)
            number += 1
            features = page.get("features") or []
            self._event(
                "page",
                f"{collection} page {number}: {len(features)} features",
                {"url": url, "status": 200, "attempt": self._attempts, "page": number, "features": len(features),
                 "ratelimit_remaining": self.ratelimit_remaining},
            )  # fmt: skip
            yield page
            href = _next_href(page) if features else None
            url = None if href is None else self._checked_next(href, seen_cursors)

    def _checked_next(self, href: str, seen_cursors: set[str]) -> str:
        parts = urlsplit(href)
        if _origin(href) != self._origin:
            raise USGSError(
                f"USGS sent a next link to another host ({parts.scheme}://{parts.hostname}); refusing to follow it so "
                f"the API key is not sent there. Check USGS_API_URL ({self.base_url}).",
                code="CROSS_HOST_NEXT",
                url=href,
            )
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
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
        # Follow the link as given, but drop any user:pass@ and re-add f=json where the link lost it (v0 did).
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        extra = "" if "f" in query else ("&" if parts.query else "") + "f=json"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query + extra, ""))

    # -- one request, with retries ------------------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict:
        attempt = 0
        while True:
            status, body, headers, failure = self._send(url)
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

    def _send(self, url: str) -> tuple[int | None, bytes, Any, str | None]:
        """One GET (following same-host redirects): (status, body, headers, failure); failure names a broken read."""
        for _ in range(5):
            self._before_request()
            self.requests_made += 1
            try:
                # Redirects are followed by hand: requests would carry X-Api-Key to whatever host a 3xx names.
                resp = self.session.get(url, headers=self._headers, timeout=self.timeout, allow_redirects=False)
                body = resp.content
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                return None, b"", {}, f"a broken connection ({type(exc).__name__})"
            self._note_quota(resp.headers)
            if resp.is_redirect:
                target = urljoin(url, resp.headers.get("Location", ""))
                if _origin(target) != self._origin:
                    raise USGSError(
                        f"USGS redirected {url} to another host ({target}); refusing to follow it with the API key.",
                        status=resp.status_code,
                        code="CROSS_HOST_REDIRECT",
                        url=url,
                    )
                url = target
                continue
            # urllib3 normally raises on a short read already; this catches transports that do not.
            declared = resp.headers.get("Content-Length") or ""
            if declared.isdigit() and not resp.headers.get("Content-Encoding") and int(declared) != len(body):
                return resp.status_code, body, resp.headers, "a truncated body"
            return resp.status_code, body, resp.headers, None
        raise USGSError(f"USGS redirected {url} too many times.", code="TOO_MANY_REDIRECTS", url=url)

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

    def _chunks(self, collection: str, params: dict[str, Any], key: str, values: Iterable[str]) -> Iterator[list[str]]:
        """``values`` split so each request URL (and its next links) stays under MAX_URL_BYTES."""
        budget = MAX_URL_BYTES - _NEXT_LINK_ROOM - len(self.build_url(collection, {**params, key: ""}).encode())
        chunk: list[str] = []
        size = 0
        for value in dict.fromkeys(values):
            add = len(quote(value, safe=",:/")) + (1 if chunk else 0)
            if chunk and size + add > budget:
                yield chunk
                chunk, size, add = [], 0, add - 1
            chunk.append(value)
            size += add
        if chunk:
            yield chunk

    # -- readings -------------------------------------------------------------------------------------------------

    @staticmethod
    def _series_params(time_series_id: str | None, monitoring_location_id: str | None) -> dict[str, Any]:
        if not time_series_id and not monitoring_location_id:
            raise ValueError("give time_series_id or monitoring_location_id")
        return {"monitoring_location_id": monitoring_location_id, "time_series_id": time_series_id}

    def _series_pages(
        self, collection: str, params: dict[str, Any], time_series_ids: list[str], parse: Callable
    ) -> Iterator[list[Reading]]:
        """Pages for many series at once, ``time_series_id`` as comma-separated lists (SPEC §7.1).

        The ids are split so every URL, its next links included, stays under MAX_URL_BYTES; a 414 anyway (the
        gateway's limit moved) splits the list in two and asks again. Rows carry their own series id; rows of a
        series nobody asked for are the caller's to drop.
        """
        pending = list(self._chunks(collection, params, "time_series_id", time_series_ids))
        default = time_series_ids[0] if len(time_series_ids) == 1 else ""
        while pending:
            chunk = pending.pop(0)
            try:
                for page in self.get_pages(collection, {**params, "time_series_id": chunk}):
                    yield parse(page, default_series_id=default)
            except USGSBadRequest as exc:
                if exc.status != 414 or len(chunk) < 2:
                    raise
                half = len(chunk) // 2
                pending[:0] = [chunk[:half], chunk[half:]]
                self._event(
                    "retry",
                    f"USGS answered 414 (URL too long) for {len(chunk)} series; asking for {half} and "
                    f"{len(chunk) - half} instead",
                    {"url": exc.url, "status": 414, "attempt": 1, "wait": 0},
                )

    def daily_pages(
        self,
        time_series_ids: list[str],
        *,
        start: date | None,
        end: date | None = None,
        last_modified_since: datetime | None = None,
    ) -> Iterator[list[Reading]]:
        """Daily mean discharge of many series, page by page as parsed (unsorted; a key may repeat across pages)."""
        params: dict[str, Any] = {
            "parameter_code": DISCHARGE,
            "statistic_id": DAILY_MEAN,
            "properties": READING_PROPERTIES,
        }
        if start is not None or end is not None:
            params["time"] = f"{_day(start)}/{_day(end)}"  # both ends inclusive
        if last_modified_since is not None:
            params["last_modified"] = f"{_iso_z(last_modified_since)}/.."
        return self._series_pages("daily", params, list(time_series_ids), parse_daily_page)

    def daily(
        self,
        *,
        time_series_id: str | None = None,
        monitoring_location_id: str | None = None,
        start: date | None,
        end: date | None = None,
        last_modified_since: datetime | None = None,
    ) -> list[Reading]:
        """Daily mean discharge, every page, merged and sorted by time. ``start=None`` means the whole record."""
        merged: dict = {}
        if time_series_id and not monitoring_location_id:
            pages = self.daily_pages([time_series_id], start=start, end=end, last_modified_since=last_modified_since)
            for readings in pages:
                merge_readings(merged, readings)
            return sorted_readings(merged)
        params = self._series_params(time_series_id, monitoring_location_id)
        params.update(parameter_code=DISCHARGE, statistic_id=DAILY_MEAN, properties=READING_PROPERTIES)
        if start is not None or end is not None:
            params["time"] = f"{_day(start)}/{_day(end)}"
        if last_modified_since is not None:
            params["last_modified"] = f"{_iso_z(last_modified_since)}/.."
        for page in self.get_pages("daily", params):
            merge_readings(merged, parse_daily_page(page, default_series_id=time_series_id or ""))
        return sorted_readings(merged)

    @staticmethod
    def continuous_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """[start, end] cut into consecutive windows of at most MAX_CONTINUOUS_WINDOW_DAYS.

        Windows share their boundary instants (the API's intervals are inclusive at both ends), so nothing falls
        between two windows; the one duplicated instant is merged away.
        """
        start, end = _aware(start), _aware(end)
        if end < start:
            return []
        span = timedelta(days=MAX_CONTINUOUS_WINDOW_DAYS)
        windows = []
        window_start = start
        while True:
            window_end = min(window_start + span, end)
            windows.append((window_start, window_end))
            if window_end >= end:
                return windows
            window_start = window_end

    def continuous_pages(
        self,
        time_series_ids: list[str],
        *,
        start: datetime,
        end: datetime | None = None,
        last_modified_since: datetime | None = None,
        on_window: Callable[[int, int, datetime, datetime], None] | None = None,
    ) -> Iterator[list[Reading]]:
        """Continuous discharge of many series over [start, end or now], window by window (≤ 1000 days each),
        page by page as parsed. ``on_window`` is told when each window's last page arrived."""
        params: dict[str, Any] = {
            "parameter_code": DISCHARGE,
            "statistic_id": INSTANTANEOUS,
            "properties": READING_PROPERTIES,
        }
        if last_modified_since is not None:
            params["last_modified"] = f"{_iso_z(last_modified_since)}/.."
        windows = self.continuous_windows(start, end if end is not None else self.clock())
        ids = list(time_series_ids)
        for number, (window_start, window_end) in enumerate(windows, 1):
            window = {**params, "time": f"{_iso_z(window_start)}/{_iso_z(window_end)}"}
            yield from self._series_pages("continuous", window, ids, parse_continuous_page)
            if on_window is not None:
                on_window(number, len(windows), window_start, window_end)

    def continuous(
        self,
        *,
        time_series_id: str | None = None,
        monitoring_location_id: str | None = None,
        start: datetime,
        end: datetime | None = None,
        last_modified_since: datetime | None = None,
        on_window: Callable[[int, int, datetime, datetime], None] | None = None,
    ) -> list[Reading]:
        """Continuous (5/15-minute) discharge over [start, end or now], window by window, merged and sorted."""
        merged: dict = {}
        if time_series_id and not monitoring_location_id:
            pages = self.continuous_pages(
                [time_series_id], start=start, end=end, last_modified_since=last_modified_since, on_window=on_window
            )
            for readings in pages:
                merge_readings(merged, readings)
            return sorted_readings(merged)
        params = self._series_params(time_series_id, monitoring_location_id)
        params.update(parameter_code=DISCHARGE, statistic_id=INSTANTANEOUS, properties=READING_PROPERTIES)
        if last_modified_since is not None:
            params["last_modified"] = f"{_iso_z(last_modified_since)}/.."
        windows = self.continuous_windows(start, end if end is not None else self.clock())
        for number, (window_start, window_end) in enumerate(windows, 1):
            window = {**params, "time": f"{_iso_z(window_start)}/{_iso_z(window_end)}"}
            for page in self.get_pages("continuous", window):
                merge_readings(merged, parse_continuous_page(page, default_series_id=time_series_id or ""))
            if on_window is not None:
                on_window(number, len(windows), window_start, window_end)
        return sorted_readings(merged)

    # -- metadata -----------------------------------------------------------------------------------------------------

    def time_series_metadata(self, monitoring_location_id: str | list[str], *, kind: Kind) -> list[SeriesInfo]:
        """The discharge series of the given sites: daily means (00003) or continuous points."""
        if kind not in ("daily", "continuous"):
            raise ValueError(f"kind must be 'daily' or 'continuous', not {kind!r}")
        ids = [monitoring_location_id] if isinstance(monitoring_location_id, str) else list(monitoring_location_id)
        period = "Daily" if kind == "daily" else "Points"
        # Continuous series carry statistic_id null in time-series-metadata, so they are found by period instead.
        params: dict[str, Any] = {"parameter_code": DISCHARGE, "computation_period_identifier": period}
        if kind == "daily":
            params["statistic_id"] = DAILY_MEAN
        out: list[SeriesInfo] = []
        for chunk in self._chunks("time-series-metadata", params, "monitoring_location_id", ids):
            for page in self.get_pages("time-series-metadata", {**params, "monitoring_location_id": chunk}):
                out.extend(parse_series_metadata(page))
        return [s for s in out if s.parameter_code in (None, DISCHARGE) and s.computation_period_identifier == period]

    choose_primary = staticmethod(choose_primary)

    def monitoring_locations(
        self,
        *,
        state_code: str | None = None,
        state_name: str | None = None,
        huc: str | None = None,
        site_type: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        ids: list[str] | None = None,
        with_geometry: bool = True,
    ) -> Iterator[dict]:
        """Monitoring locations matching every filter given, as normalized dicts (see parsers)."""
        params: dict[str, Any] = {
            "state_code": state_code,
            "state_name": state_name,
            "hydrologic_unit_code": huc,  # the API matches HUC prefixes
            "site_type_code": site_type,
            "bbox": None if bbox is None else ",".join(str(v) for v in bbox),
            "skipGeometry": "false" if with_geometry else "true",
        }
        chunks: Iterable[list[str] | None] = [None] if ids is None else self._chunks(
            "monitoring-locations", params, "id", ids
        )  # fmt: skip
        for chunk in chunks:
            query = params if chunk is None else {**params, "id": chunk}
            for page in self.get_pages("monitoring-locations", query):
                yield from parse_monitoring_locations(page)

    def latest(self, kind: Kind, monitoring_location_ids: list[str]) -> dict[str, datetime | date]:
        """time_series_id -> time of its newest value: one cheap request per ~400 sites ("anything new?")."""
        if kind not in ("daily", "continuous"):
            raise ValueError(f"kind must be 'daily' or 'continuous', not {kind!r}")
        collection = f"latest-{kind}"
        params: dict[str, Any] = {
            "parameter_code": DISCHARGE,
            "statistic_id": DAILY_MEAN if kind == "daily" else INSTANTANEOUS,
            "properties": "time_series_id,monitoring_location_id,time",
        }
        parse = parse_daily_page if kind == "daily" else parse_continuous_page
        newest: dict[str, datetime | date] = {}
        for chunk in self._chunks(collection, params, "monitoring_location_id", monitoring_location_ids):
            for page in self.get_pages(collection, {**params, "monitoring_location_id": chunk}):
                for reading in parse(page):
                    known = newest.get(reading.time_series_id)
                    if known is None or reading.time > known:
                        newest[reading.time_series_id] = reading.time
        return newest
