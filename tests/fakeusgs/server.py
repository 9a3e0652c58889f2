"""A local HTTP fake of the USGS Water Data OGC API v1, behaving as ``shared/usgs/SPEC.md`` says the real one does.

Real sockets, real paging: the client under test cannot tell it from the service except by the data. Tests drive it
through a small API (``fake.today``, ``fake.faults``, ``fake.revise``...) and check what it saw in ``fake.requests``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from tests.fakeusgs import query as q
from tests.fakeusgs.collections import CollectionsMixin
from tests.fakeusgs.data import (
    FakeStation,
    Revision,
    Row,
    Series,
    build_series,
    default_catalog,
    utc_midnight,
)
from tests.fakeusgs.statistics import StatisticsMixin

logger = logging.getLogger("tests.fakeusgs")

DATA_COLLECTIONS = ("daily", "continuous", "latest-daily", "latest-continuous")
MAX_URL_BYTES = 8200  # nginx in front of the API answers 414 above this (path + query, as sent)
MAX_POST_BYTES = 512 * 1024  # the fake's gateway refuses larger CQL2 bodies with 403 (tests lower it)
URI_TOO_LARGE_PAGE = (
    b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>414 Request-URI Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class RequestRecord:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # keys in Title-Case ("X-Api-Key", "User-Agent")
    url: str = ""
    status: int | None = None  # filled in once the answer is decided
    body: dict | None = None  # a POST's CQL2 filters, as the parameters they stand for ({"time_series_id": "a,b"})


class Faults:
    """Switchable misbehaviour. All off by default; counters count down one per request they hit."""

    def __init__(self, seed: int = 0) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_rng", random.Random(seed))
        object.__setattr__(self, "_pages_served", 0)
        self.reset()

    def reset(self) -> None:
        self.rate_limit_next = 0  # next N requests answer 429 OVER_RATE_LIMIT
        self.rate_limit_until = 0.0  # time.monotonic() deadline: 429 until then
        self.retry_after: float | int | str | None = 1  # Retry-After header on 429s (None: no header)
        self.error_rate = 0.0  # this fraction of requests answer 500/502/503 (seeded RNG)
        self.error_next = 0  # next N requests answer error_status
        self.error_status = 500
        self.slow_seconds = 0.0  # sleep before answering
        self.drop_mid_body_next = 0  # send full Content-Length, half the body, then close
        self.malformed_next = 0  # 200 with a body that is not JSON
        self.fail_sites: set[str] = set()  # data/metadata requests touching these sites (or their series): 500
        self.fail_requests_containing: set[str] = set()  # any request whose decoded URL contains one: 500
        self.fail_after_pages: int | None = None  # N data pages succeed, then every data request answers 500
        self.on_request: Callable[[RequestRecord], None] | None = None

    def __setattr__(self, name: str, value: object) -> None:
        if name == "fail_after_pages":
            object.__setattr__(self, "_pages_served", 0)  # count from when the fault is switched on
        object.__setattr__(self, name, value)

    def take(self, name: str) -> bool:
        """Consume one unit of a countdown fault; True when this request is hit."""
        with self._lock:
            left = getattr(self, name)
            if left > 0:
                object.__setattr__(self, name, left - 1)
                return True
            return False

    def roll_error(self) -> int | None:
        with self._lock:
            if self.error_rate > 0 and self._rng.random() < self.error_rate:
                return self._rng.choice((500, 502, 503))
        return None

    def count_page(self) -> bool:
        """Count a data page; True when fail_after_pages says this one must fail."""
        with self._lock:
            if self.fail_after_pages is None:
                return False
            if self._pages_served >= self.fail_after_pages:
                return True
            object.__setattr__(self, "_pages_served", self._pages_served + 1)
            return False


class Gate:
    """An answer held back (``FakeUSGS.hold``): the first matching request (after ``skip`` of them) waits, before its
    answer is computed, until ``release()`` — or ``timeout`` seconds, after which it is answered anyway and
    ``timed_out`` says so. Nothing blocks forever: ``FakeUSGS.stop()`` releases every gate."""

    def __init__(self, predicate: Callable[[RequestRecord], bool], *, skip: int = 0, timeout: float = 30.0) -> None:
        self.predicate = predicate
        self.skip = skip
        self.timeout = timeout
        self.caught: RequestRecord | None = None
        self.timed_out = False
        self.arrived = threading.Event()
        self._released = threading.Event()

    def wait_arrived(self, timeout: float) -> bool:
        """True once the held request is parked at the gate; False if none came within `timeout` seconds."""
        return self.arrived.wait(timeout)

    def release(self) -> None:
        self._released.set()

    def _park(self) -> None:
        if not self._released.wait(self.timeout):
            self.timed_out = True
            logger.warning("held request released after its %.0f s timeout: %s", self.timeout, self.caught)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    drop_mid_body: bool = False


class FakeUSGS(StatisticsMixin, CollectionsMixin):
    def __init__(
        self,
        stations: list[FakeStation] | None = None,
        today: date = date(2026, 11, 20),
        seed: int = 0,
        *,
        port: int = 0,
        require_key: str | None = None,
    ) -> None:
        self._data_lock = threading.RLock()  # guards revisions and the clock while a page is computed
        self.stations = list(stations) if stations is not None else default_catalog()
        self.by_id = {s.monitoring_location_id: s for s in self.stations}
        self.stations_sorted = sorted(self.stations, key=lambda s: s.monitoring_location_id)
        self.series: list[Series] = sorted(
            (s for st in self.stations for s in build_series(st, seed)), key=lambda s: s.id
        )
        # Indexes, so that a request naming 200 series costs 200 lookups however large the catalog is.
        self.series_by_id: dict[str, Series] = {s.id: s for s in self.series}
        self.series_by_site: dict[str, list[Series]] = {}
        for s in self.series:  # each site's list stays sorted by series id
            self.series_by_site.setdefault(s.station.monitoring_location_id, []).append(s)
        # Every change of what the fake serves (clock, revision, approval) starts a new epoch; `clock_log[e]` is the
        # clock in epoch e. `truth_as_of` answers what the fake served in any earlier epoch.
        self.epoch = 0
        self.clock_log: list[datetime] = []
        self.today = today  # sets the clock to the end of that day
        self.seed = seed
        self.port = port
        self.require_key = require_key
        self.ratelimit_limit = 4000
        self.ratelimit_remaining = 4000  # decremented per keyed request; at 0 every request answers 429
        self.faults = Faults(seed)
        self.link_base: str | None = None  # override the next-link base (e.g. a foreign host)
        self.next_link_f_json = False  # v1 appends f=json to next links, v0 did not; default: the harder case
        self.lazy_next_links = False  # True: a full last page still gets a next link (to an empty page)
        self.requests: list[RequestRecord] = []
        self.max_url_bytes = MAX_URL_BYTES  # longer request URLs answer 414 (tests lower it to see a split)
        self.max_post_bytes = MAX_POST_BYTES  # larger POST bodies answer 403, as USGS has (dataRetrieval PR #773)
        self.path_counts: Counter[str] = Counter()
        self.base_url = ""
        self._lock = threading.Lock()  # guards requests/path_counts
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._gates: list[Gate] = []

    # -- lifecycle

    def start(self, port: int | None = None, host: str = "127.0.0.1") -> str:
        server = ThreadingHTTPServer((host, self.port if port is None else port), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-usgs", daemon=True
        )
        self._thread.start()
        self.base_url = f"http://{host}:{server.server_address[1]}/ogcapi/v1"
        return self.base_url

    def stop(self) -> None:
        with self._lock:
            gates, self._gates = self._gates, []
        for gate in gates:
            gate.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeUSGS:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self.path_counts.clear()

    # -- the clock: one instant; ``today`` and ``clock`` are two views of it

    @property
    def today(self) -> date:
        """The fake's date: daily rows exist through it. Setting it puts the clock at the end of that day."""
        return (self._now - timedelta(microseconds=1)).date()

    @today.setter
    def today(self, value: date) -> None:
        self._set_now(utc_midnight(value + timedelta(days=1)))

    @property
    def clock(self) -> datetime:
        """The fake's instant (aware UTC). Continuous rows exist strictly before it, daily rows through the date of
        the instant just before it. Set it to step by less than a day (``fake.clock += timedelta(hours=1)``)."""
        return self._now

    @clock.setter
    def clock(self, value: datetime) -> None:
        if value.tzinfo is None:
            raise TypeError("the fake's clock is an aware datetime")
        self._set_now(value.astimezone(UTC))

    def _set_now(self, value: datetime) -> None:
        with self._data_lock:
            self._now = value
            if self.clock_log:
                self.epoch += 1
            self.clock_log.append(value)

    def now(self) -> datetime:
        """The fake's clock (by default the end of ``today``, UTC), so P7D means the last seven days of data."""
        return self._now

    # -- test controls and truth

    def series_of(
        self,
        monitoring_location_id: str,
        kind: str = "daily",
        primary: bool = True,
        parameter_code: str = "00060",
        statistic_id: str | None = None,
    ) -> Series:
        """The site's series of that kind and parameter (discharge by default); daily: of that statistic (its first
        one by default)."""
        for s in self.series_by_site.get(monitoring_location_id, ()):
            if (
                s.station.monitoring_location_id == monitoring_location_id
                and s.kind == kind
                and s.primary == primary
                and s.parameter_code == parameter_code
                and (statistic_id is None or s.data_statistic == statistic_id)
            ):
                return s
        raise KeyError(
            f"{monitoring_location_id} has no {'primary' if primary else 'secondary'} {kind} {parameter_code} series"
        )

    def primary_series_id(self, monitoring_location_id: str, kind: str = "daily") -> str:
        return self.series_of(monitoring_location_id, kind).id

    def expected_series(self, series_id: str, start: date | datetime, end: date | datetime | None = None) -> list[dict]:
        """Every row the series `series_id` holds in [start, end (default: now)] now, whatever its parameter."""
        series = self.series_by_id[series_id]
        if end is None:
            end = self.today if series.kind == "daily" else self.now()
        with self._data_lock:
            times = series.times(start, end, self.today, self.now())
            return [_truth(series, series.row(t, self.today)) for t in times]

    def revise(
        self,
        monitoring_location_id: str,
        day: date | datetime,
        new_value: float | None,
        *,
        kind: str = "daily",
        last_modified: datetime,
        approval_status: str | None = None,
    ) -> None:
        """A provisional value changes: new value, new last_modified, new feature id."""
        series = self.series_of(monitoring_location_id, kind)
        if (kind == "continuous") != isinstance(day, datetime):
            raise TypeError("a daily revision needs a date; a continuous one the value's aware UTC datetime")
        with self._data_lock:
            earlier = series.revisions.get(day)
            if earlier is not None:  # a record's stamps only move forward (data.Series.row)
                last_modified = max(last_modified, earlier.last_modified + timedelta(milliseconds=1))
            revision = Revision(new_value, last_modified, approval_status)
            series.revisions[day] = revision
            self._new_epoch()
            series.revision_log.append((self.epoch, day, revision))

    def approve_through(self, monitoring_location_id: str, day: date, last_modified: datetime) -> None:
        """Every value of the site up to ``day`` becomes Approved, refreshed at ``last_modified``."""
        with self._data_lock:
            self._new_epoch()
            for s in self.series_by_site.get(monitoring_location_id, ()):
                s.approvals.append((day, last_modified))
                s.approval_log.append((self.epoch, day, last_modified))

    def _new_epoch(self) -> None:
        self.epoch += 1
        self.clock_log.append(self._now)

    def truth_as_of(
        self,
        monitoring_location_id: str,
        kind: str,
        start: date | datetime | None,
        end: date | datetime | None,
        epoch: int | None = None,
    ) -> list[dict]:
        """The rows of the site's primary `kind` series in [start, end] as the fake served them in `epoch` (default:
        now): that epoch's clock, and only the revisions and approvals made by then."""
        series = self.series_of(monitoring_location_id, kind)
        with self._data_lock:
            epoch = self.epoch if epoch is None else epoch
            then = self.clock_log[epoch]
            revisions: dict = {}
            for made, t, revision in series.revision_log:
                if made <= epoch:
                    revisions[t] = revision
            approvals = [(day, stamp) for made, day, stamp in series.approval_log if made <= epoch]
        view = dataclasses.replace(series, revisions=revisions, approvals=approvals)
        today = (then - timedelta(microseconds=1)).date()
        return [_truth(view, view.row(t, today)) for t in view.times(start, end, today, then)]

    def expected_daily(self, monitoring_location_id: str, start: date, end: date) -> list[dict]:
        series = self.series_of(monitoring_location_id, "daily")
        with self._data_lock:
            return [_truth(series, series.row(t, self.today)) for t in series.times(start, end, self.today)]

    def expected_continuous(self, monitoring_location_id: str, start: datetime, end: datetime) -> list[dict]:
        series = self.series_of(monitoring_location_id, "continuous")
        with self._data_lock:
            times = series.times(start, end, self.today, self.now())
            return [_truth(series, series.row(t, self.today)) for t in times]

    # -- request handling

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes = b"") -> Response:
        split = urlsplit(raw_path)
        ordered = parse_qsl(split.query, keep_blank_values=True)
        record = RequestRecord(method, split.path, dict(ordered), headers, url=raw_path)
        if method == "POST":
            refused = self._refused_post(record, body)
            if refused is not None:
                with self._lock:
                    self.requests.append(record)
                record.status = refused.status
                return refused
        with self._lock:
            self.requests.append(record)
            self.path_counts[split.path] += 1
        held = self._gate_for(record)
        if held is not None:
            held._park()
        if len(raw_path.encode()) > self.max_url_bytes:
            # nginx refuses it before the gateway or the API see it: no quota spent, no JSON.
            record.status = 414
            logger.info("%s %s... -> 414 (%d bytes of URL)", method, raw_path[:80], len(raw_path.encode()))
            return Response(414, URI_TOO_LARGE_PAGE, {"Content-Type": "text/html"})
        try:
            hook = self.faults.on_request
            if hook is not None:
                hook(record)
            if self.faults.slow_seconds:
                time.sleep(self.faults.slow_seconds)
            response = self._respond(record, ordered, headers.get("Host") or "127.0.0.1")
        except q.QueryError as exc:
            response = _json(exc.status, exc.body)
        except Exception:  # a bug in the fake must show up as a 500, not as a hung client
            logger.exception("fake USGS failed on %s", raw_path)
            response = _json(500, {"code": "NoApplicableCode", "description": "fake server error"})
        record.status = response.status
        logger.info("%s %s -> %s (%d bytes)", method, raw_path, response.status, len(response.body))
        return response

    # -- answers held back

    def hold(self, predicate: Callable[[RequestRecord], bool], *, skip: int = 0, timeout: float = 30.0) -> Gate:
        """Hold back the answer to the first request matching `predicate` (after `skip` matching ones pass): it waits
        at the returned gate, its answer not yet computed, until `gate.release()`. Other requests are answered as
        usual meanwhile (the server is threaded), so a test can let another run finish first."""
        gate = Gate(predicate, skip=skip, timeout=timeout)
        with self._lock:
            self._gates.append(gate)
        return gate

    def unhold(self, gate: Gate) -> None:
        """Withdraw a gate that caught nothing (its request never came) and release whatever it holds."""
        with self._lock:
            if gate in self._gates:
                self._gates.remove(gate)
        gate.release()

    def _gate_for(self, record: RequestRecord) -> Gate | None:
        with self._lock:
            for gate in self._gates:
                if not gate.predicate(record):
                    continue
                if gate.skip > 0:
                    gate.skip -= 1
                    continue
                gate.caught = record
                self._gates.remove(gate)
                gate.arrived.set()
                return gate
        return None

    def _refused_post(self, record: RequestRecord, body: bytes) -> Response | None:
        """A POST to an items collection carries a CQL2-JSON filter (SPEC §1): too large a body is refused with 403
        before the API sees it; a filter the fake cannot read is a 400. Otherwise its filters join the record's
        parameters (not its next links: the client sends the body again to each)."""
        if len(body) > self.max_post_bytes:
            return _json(403, {"error": {"code": "FORBIDDEN", "message": "Request body too large"}})
        if record.headers.get("Content-Type", "").split(";")[0].strip() != "application/query-cql-json":
            return _json(
                400, {"code": "InvalidQuery", "description": "POST needs Content-Type application/query-cql-json"}
            )
        try:
            record.body = q.cql2_filters(body)
        except q.QueryError as exc:
            return _json(exc.status, exc.body)
        return None

    def _respond(self, record: RequestRecord, ordered: list[tuple[str, str]], host: str) -> Response:
        parts = record.path.rstrip("/").split("/")
        if len(parts) >= 3 and parts[1] == "statistics":
            return self._statistics(record, ordered)  # tests/fakeusgs/statistics.py
        if len(parts) < 3 or parts[1] != "ogcapi" or parts[2] not in ("v0", "v1"):
            return _json(404, q.NOT_FOUND_BODY)
        gate = self._gateway(record)
        if gate.status != 200:
            return gate
        extra = gate.headers
        route = parts[3:]
        link_base = self.link_base or f"http://{host}/ogcapi/v1"  # v0 answers with v1 links, like the real one
        params = {**record.params, **(record.body or {})}
        if route == []:
            return _json(200, {"title": "Fake USGS Water Data OGC API", "links": []}, extra)
        if route == ["collections"]:
            ids = ["daily", "continuous", "monitoring-locations", "time-series-metadata", "latest-daily",
                   "latest-continuous"]  # fmt: skip
            return _json(200, {"collections": [{"id": c} for c in ids], "links": []}, extra)
        if len(route) == 4 and route[:2] == ["collections", "monitoring-locations"] and route[2] == "items":
            return self._location_item(route[3], params, link_base, extra)
        if len(route) != 3 or route[0] != "collections" or route[2] != "items":
            return _json(404, q.NOT_FOUND_BODY, extra)
        collection = route[1]
        handler = self.collection_handlers().get(collection)
        if handler is None:
            return _json(404, {"code": "NotFound", "description": f"Collection not found: {collection}"}, extra)
        fmt = params.get("f", "json")
        if fmt not in ("json", "geojson"):
            raise q.bad_value(f"Invalid format: {fmt} (the fake answers f=json only)")
        ctx = q.Context(collection, params, ordered, link_base, q.parse_limit(params.get("limit")))
        if self._hits_failing_request(record.url):
            return _server_error(500, extra)
        touches = collection in DATA_COLLECTIONS or collection == "time-series-metadata"
        if touches and self._touches_failing_site(params):
            return _server_error(500, extra)
        if collection in DATA_COLLECTIONS and self.faults.count_page():
            return _server_error(500, extra)
        with self._data_lock:
            obj = handler(ctx)
        body = q.json_bytes(obj)
        if self.faults.take("malformed_next"):
            return Response(200, body[: max(1, len(body) // 2)] + b"<", {"Content-Type": "application/json", **extra})
        response = Response(200, body, {"Content-Type": "application/geo+json", **extra})
        response.drop_mid_body = self.faults.take("drop_mid_body_next")
        return response

    def _gateway(self, record: RequestRecord) -> Response:
        """What api.data.gov does before the API sees the request: key check, quota, rate limit; then faults."""
        key = record.headers.get("X-Api-Key") or record.params.get("api_key")
        if self.require_key is not None:
            if not key:
                return _json(403, q.KEY_MISSING_BODY)
            if key != self.require_key:
                return _json(403, q.KEY_INVALID_BODY)
        headers: dict[str, str] = {}
        if key:  # the gateway sends no quota headers to anonymous callers
            with self._lock:
                exhausted = self.ratelimit_remaining <= 0
                self.ratelimit_remaining = max(0, self.ratelimit_remaining - 1)
                headers = {
                    "X-RateLimit-Limit": str(self.ratelimit_limit),
                    "X-RateLimit-Remaining": str(self.ratelimit_remaining),
                }
            if exhausted:
                return _json(429, q.RATE_LIMIT_BODY, headers)
        faults = self.faults
        if faults.take("rate_limit_next") or time.monotonic() < faults.rate_limit_until:
            if faults.retry_after is not None:
                headers = {**headers, "Retry-After": str(faults.retry_after)}
            return _json(429, q.RATE_LIMIT_BODY, headers)
        if faults.take("error_next"):
            return _server_error(faults.error_status, headers)
        status = faults.roll_error()
        if status is not None:
            return _server_error(status, headers)
        return Response(200, b"", headers)

    def _touches_failing_site(self, params: dict[str, str]) -> bool:
        """A request naming a failing site, or a series of one (by ``time_series_id``, or ``id`` on metadata)."""
        failing = self.faults.fail_sites
        if not failing:
            return False
        sites = q.csv_values(params.get("monitoring_location_id")) or []
        if not failing.isdisjoint(sites):
            return True
        ids = (q.csv_values(params.get("time_series_id")) or []) + (q.csv_values(params.get("id")) or [])
        for series_id in ids:
            s = self.series_by_id.get(series_id)
            if s is not None and s.station.monitoring_location_id in failing:
                return True
        return False

    def _hits_failing_request(self, url: str) -> bool:
        """``faults.fail_requests_containing``: a plain substring test on the percent-decoded path + query."""
        needles = self.faults.fail_requests_containing
        if not needles:
            return False
        decoded = unquote_plus(url)
        return any(needle in decoded for needle in needles)

    # -- shared paging

    def page[T](
        self, ctx: q.Context, items: Iterable[T], cursor_of: Callable[[T], str], render: Callable[[T], dict]
    ) -> dict:
        """One page of ``items`` (already filtered, ordered and started after the cursor), rendered as features.

        Only the page is rendered; ``cursor_of`` gives the key the next page starts after.
        """
        taken = list(islice(items, ctx.limit + 1))
        more = len(taken) > ctx.limit
        page = taken[: ctx.limit]
        links = []
        if page and (more or (self.lazy_next_links and len(page) == ctx.limit)):
            cursor = q.encode_cursor(cursor_of(page[-1]))
            kept = [(k, v) for k, v in ctx.ordered if k not in ("cursor", "f", "api_key")]
            tail = [("f", "json")] if self.next_link_f_json else []
            href = f"{ctx.link_base}/collections/{ctx.collection}/items?" + urlencode(
                [("cursor", cursor), *kept, *tail], safe=",:"
            )
            links.append({"rel": "next", "href": href, "type": "application/geo+json", "title": "Items (next)"})
        self_query = urlencode([("f", "json"), *[(k, v) for k, v in ctx.ordered if k not in ("f", "api_key")]])
        links.append(
            {
                "type": "application/geo+json",
                "rel": "self",
                "title": "This document as GeoJSON",
                "href": f"{ctx.link_base}/collections/{ctx.collection}/items?{self_query}",
            }
        )
        links.append(
            {
                "type": "application/json",
                "rel": "collection",
                "href": f"{ctx.link_base}/collections/{ctx.collection}",
            }
        )
        return {
            "type": "FeatureCollection",
            "features": [render(item) for item in page],
            "numberReturned": len(page),
            "links": links,
            "timeStamp": self.now().isoformat().replace("+00:00", "Z"),
        }


def _truth(series: Series, row: Row) -> dict:
    return {
        "time_series_id": series.id,
        "time": row.time,
        "value": None if row.value is None else float(row.value),
        "qualifiers": list(row.qualifier or []),
        "approval_status": row.approval_status,
        "last_modified": row.last_modified,
    }


def _json(status: int, obj: object, headers: dict[str, str] | None = None) -> Response:
    return Response(status, q.json_bytes(obj), {"Content-Type": "application/json", **(headers or {})})


def _server_error(status: int, headers: dict[str, str] | None = None) -> Response:
    if status in (502, 503, 504):
        # Proxies in front of pygeoapi answer these with HTML, not JSON.
        text = {
            502: "502 Bad Gateway",
            503: "503 Service Temporarily Unavailable",
            504: "504 Gateway Time-out",
        }
        page = f"<html><head><title>{text[status]}</title></head><body><h1>{text[status]}</h1></body></html>"
        return Response(status, page.encode(), {"Content-Type": "text/html", **(headers or {})})
    body = {"code": "NoApplicableCode", "type": "NoApplicableCode", "description": "Internal server error"}
    return _json(status, body, headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real service; every answer has a Content-Length
    server_version = "FakeUSGS/1.0"
    timeout = 30  # close idle keep-alive connections eventually

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake: FakeUSGS = self.server.fake  # type: ignore[attr-defined]
        headers = {k.title(): v for k, v in self.headers.items()}
        self._write(fake.handle("POST", self.path, headers, body))

    def _dispatch(self, method: str) -> None:
        fake: FakeUSGS = self.server.fake  # type: ignore[attr-defined]
        headers = {k.title(): v for k, v in self.headers.items()}
        self._write(fake.handle(method, self.path, headers))

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not response.drop_mid_body:
            self.wfile.write(response.body)
            return
        # Promise the whole body, deliver half, hang up: what a reset connection looks like to the client.
        self.wfile.write(response.body[: len(response.body) // 2])
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header comes from the fake's clock, as the real one's comes from USGS's: a client may take its
        revision cutoff from it."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        fake: FakeUSGS = self.server.fake  # type: ignore[attr-defined]
        return email.utils.format_datetime(fake.now(), usegmt=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug(format, *args)


__all__ = ["FakeUSGS", "Faults", "Gate", "RequestRecord", "Response"]
