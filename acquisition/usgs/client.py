"""The USGS Water Data OGC API v1 queries (no Django, so the catalog import, tests and benches use it bare).

What it gets right, per ``shared/usgs/SPEC.md``: ``limit`` always sent; many series a request as comma-separated
lists, split so every URL and its next links stay under 8 KB (a 414 splits again), or, for more ids than one URL
holds, one CQL2-JSON POST (a size refusal splits it and is remembered); continuous ranges cut into
windows of at most 1000 days (the API refuses more than 1100); pages parsed one by one (``*_pages``), or merged,
de-duplicated on (time_series_id, time) and sorted, because pages are not in time order. The HTTP side (retries,
redirects, caps, the key) is ``acquisition.usgs.transport``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlencode

import orjson

from acquisition.usgs.errors import USGSBadRequest, USGSError, USGSRateLimited, USGSTransient
from acquisition.usgs.parsers import (
    Reading,
    SeriesInfo,
    choose_primary,
    merge_readings,
    parse_continuous_page,
    parse_daily_page,
    parse_monitoring_locations,
    parse_series_metadata,
    sorted_readings,
)
from acquisition.usgs.transport import Transport

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
KEY_ERRORS = ("API_KEY_INVALID", "API_KEY_MISSING")

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


# -------------------------------------------------------------------------------------------------------------------
# The client
# -------------------------------------------------------------------------------------------------------------------


class USGSClient(Transport):
    """The queries Streamflow DataOps makes: readings of many series, series metadata, monitoring locations."""

    MAX_CONTINUOUS_WINDOW_DAYS = MAX_CONTINUOUS_WINDOW_DAYS
    # The smallest POST list USGS refused as too large in this process (None: none refused yet); shared by every
    # client, so a worker's later batches ask below it at once.
    post_refused_at: ClassVar[int | None] = None

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        limit: int = MAX_LIMIT,
        post_lists: bool = True,
        **options: Any,
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        super().__init__(base_url, api_key, **options)
        self.limit = limit
        self.post_lists = post_lists  # False: only GET lists, split to fit the URL (as before POST)

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
        return self.pages(self.build_url(collection, params), collection)

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

    def _posted_pages(self, collection: str, params: dict[str, Any], key: str, values: list[str]) -> Iterator[dict]:
        """Every page of a query whose `key` is any of `values`, the list in a CQL2-JSON ``in`` body POSTed to the
        collection (the scalar parameters stay in the URL; each next link gets the same body again).

        USGS has refused very large POSTs with 403 (dataRetrieval PR #773): a 403 or 413 that is not a key error
        splits the list in two and asks again, and the size that was refused is remembered for this process, so
        later batches start below it."""
        cap = USGSClient.post_refused_at
        size = len(values) if cap is None else max(1, cap // 2)
        pending = [values[i : i + size] for i in range(0, len(values), size)]
        url = self.build_url(collection, params)
        while pending:
            chunk = pending.pop(0)
            body = orjson.dumps({"op": "in", "args": [{"property": key}, chunk]})
            try:
                yield from self.pages(url, collection, body=body)
            except USGSError as exc:
                if exc.status not in (403, 413) or exc.code in KEY_ERRORS or len(chunk) < 2:
                    raise
                refused = USGSClient.post_refused_at
                USGSClient.post_refused_at = len(chunk) if refused is None else min(refused, len(chunk))
                half = len(chunk) // 2
                pending[:0] = [chunk[:half], chunk[half:]]
                self._event(
                    "retry",
                    f"USGS refused a POST of {len(chunk)} ids (HTTP {exc.status}); asking for {half} and "
                    f"{len(chunk) - half} instead, and for fewer from now on",
                    {"url": url, "status": exc.status, "attempt": 1, "wait": 0},
                )

    # -- readings -------------------------------------------------------------------------------------------------

    @staticmethod
    def _series_params(time_series_id: str | None, monitoring_location_id: str | None) -> dict[str, Any]:
        if not time_series_id and not monitoring_location_id:
            raise ValueError("give time_series_id or monitoring_location_id")
        return {"monitoring_location_id": monitoring_location_id, "time_series_id": time_series_id}

    def _series_pages(
        self, collection: str, params: dict[str, Any], time_series_ids: list[str], parse: Callable
    ) -> Iterator[list[Reading]]:
        """Pages for many series at once (SPEC §7.1): ``time_series_id`` as a comma-separated list while the ids fit
        one URL, else in a CQL2-JSON body POSTed to the collection (SPEC §1, §5; ``_posted_pages``).

        A GET list is split so every URL, its next links included, stays under MAX_URL_BYTES; a 414 anyway (the
        gateway's limit moved) splits the list in two and asks again. Rows carry their own series id; rows of a
        series nobody asked for are the caller's to drop.
        """
        pending = list(self._chunks(collection, params, "time_series_id", time_series_ids))
        default = time_series_ids[0] if len(time_series_ids) == 1 else ""
        if len(pending) > 1 and self.post_lists:
            ids = [i for chunk in pending for i in chunk]
            for page in self._posted_pages(collection, params, "time_series_id", ids):
                yield parse(page, default_series_id=default)
            return
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
        """Daily values of many series, page by page as parsed (unsorted; a key may repeat across pages). Asked by
        series id alone, so one request carries series of any parameter and statistic."""
        params: dict[str, Any] = {"properties": READING_PROPERTIES}
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
        """Continuous values of many series over [start, end or now], window by window (≤ 1000 days each), page by
        page as parsed; by series id alone, whatever their parameter. ``on_window`` is told when each window's last
        page arrived."""
        params: dict[str, Any] = {"properties": READING_PROPERTIES}
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

    def time_series_metadata(
        self,
        monitoring_location_id: str | list[str],
        *,
        kind: Kind,
        parameter_codes: list[str] | None = None,
        statistic_ids: list[str] | None = None,
    ) -> list[SeriesInfo]:
        """The series of the given sites for the given parameters (discharge by default): daily ones of the given
        statistics (the mean by default), or continuous points. Lists are comma-joined (SPEC: an AND of IN-lists,
        so the caller picks its pairs from the answer)."""
        if kind not in ("daily", "continuous"):
            raise ValueError(f"kind must be 'daily' or 'continuous', not {kind!r}")
        ids = [monitoring_location_id] if isinstance(monitoring_location_id, str) else list(monitoring_location_id)
        codes = list(parameter_codes or [DISCHARGE])
        period = "Daily" if kind == "daily" else "Points"
        # Continuous series may carry statistic_id null in time-series-metadata, so they are found by period.
        params: dict[str, Any] = {"parameter_code": ",".join(codes), "computation_period_identifier": period}
        if kind == "daily":
            params["statistic_id"] = ",".join(statistic_ids or [DAILY_MEAN])
        out: list[SeriesInfo] = []
        chunks = list(self._chunks("time-series-metadata", params, "monitoring_location_id", ids))
        if len(chunks) > 1 and self.post_lists:
            for page in self._posted_pages("time-series-metadata", params, "monitoring_location_id", ids):
                out.extend(parse_series_metadata(page))
            chunks = []
        for chunk in chunks:
            for page in self.get_pages("time-series-metadata", {**params, "monitoring_location_id": chunk}):
                out.extend(parse_series_metadata(page))
        wanted = (None, *codes)
        return [s for s in out if s.parameter_code in wanted and s.computation_period_identifier == period]

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
