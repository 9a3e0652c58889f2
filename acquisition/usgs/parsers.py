"""Parse USGS Water Data OGC API responses into plain Python values.

Pure functions, no I/O and no Django: the HTTP client uses them per page (``parse_readings_text`` works straight
from a raw response body). The shapes handled here are the ones recorded from the
real service (see ``shared/usgs/SPEC.md`` §3 and §8): ``value`` is a string or null, ``qualifier`` is null, a string
or a list, ``approval_status`` may be null, daily ``time`` is a bare local date and continuous ``time`` an instant
with an offset. Pages are not in time order and one response may hold several series: the page parsers keep every
row; ``merge_readings`` / ``sorted_readings`` turn a request's pages into one de-duplicated, time-ordered record, and
``choose_primary`` picks the series to pull.
"""

from __future__ import annotations

import gc
import html
import logging
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from operator import itemgetter
from typing import Any, Literal, NamedTuple

import orjson

Kind = Literal["daily", "continuous"]

logger = logging.getLogger(__name__)

_ZERO = timedelta(0)


class Reading(NamedTuple):
    """One value of one time series. The natural key is (time_series_id, time)."""

    time_series_id: str
    time: date | datetime  # daily: the site's local calendar date; continuous: an aware UTC datetime
    value: float | None  # None where USGS reports the value as missing
    qualifiers: list[str]
    approval_status: str | None
    last_modified: datetime | None
    # The response's own text of time, value and last_modified, kept by the parser when it is in the canonical form
    # (ISO date, "+00:00" instant, plain decimal) that reads back as exactly the typed field; None otherwise.
    # Writers use it instead of formatting the typed field again (storage.copy_chunks: ~4 µs a row saved). Build a
    # new Reading rather than `_replace` one of those three fields, or the text no longer matches.
    time_text: str | None = None
    value_text: str | None = None
    last_modified_text: str | None = None


class SeriesInfo(NamedTuple):
    """One row of ``time-series-metadata``: a series that exists for a site, and its period of record."""

    time_series_id: str
    monitoring_location_id: str | None
    parameter_code: str | None
    statistic_id: str | None
    computation_identifier: str | None  # "Mean", "Instantaneous", ...
    computation_period_identifier: str | None  # "Daily", "Points", ...
    primary: bool
    begin: datetime | None  # aware UTC
    end: datetime | None  # aware UTC
    last_modified: datetime | None
    unit_of_measure: str | None


# ----------------------------------------------------------------------------------------------------
# Scalars
# ----------------------------------------------------------------------------------------------------


def parse_instant(text: str | None) -> datetime | None:
    """An ISO-8601 instant as an aware UTC datetime; a naive one is taken as UTC (metadata fields come naive)."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    if dt.tzinfo is not UTC:
        return dt.astimezone(UTC)
    return dt


def _as_date(text: str) -> date:
    # The fast path is a bare "YYYY-MM-DD"; anything longer is an instant whose calendar date we keep as given.
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).date()


def _as_utc(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    tz = dt.tzinfo
    if tz is UTC:
        return dt
    if tz is None:
        # A bare date or naive timestamp in a continuous response: the API documents UTC, so read it as UTC.
        return dt.replace(tzinfo=UTC)
    if dt.utcoffset() == _ZERO:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _qualifiers(raw: Any) -> list[str]:
    # Declared a string in the schema but recorded as null or a list such as ["ICE", "ESTIMATED"].
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(q) for q in raw if q is not None and q != ""]
    if isinstance(raw, str):
        return [q.strip() for q in raw.split(",") if q.strip()] if raw else []
    return [str(raw)]


def _features(obj: Any) -> list[dict]:
    if isinstance(obj, dict):
        if obj.get("type") == "Feature":
            return [obj]
        features = obj.get("features")
        return features if isinstance(features, list) else []
    if isinstance(obj, list):
        return obj
    return []


# ----------------------------------------------------------------------------------------------------
# Readings (daily, continuous, latest-*)
# ----------------------------------------------------------------------------------------------------


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects.

    A 50,000-row page allocates ~300,000 container objects; with the collector on, its repeated passes over them
    cost more than the parsing itself (measured: 190k -> 350k values/s). Nothing built here can form a cycle.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse_readings(obj: Any, kind: Kind, default_series_id: str) -> list[Reading]:
    with gc_paused():
        return _parse_features(_features(obj), kind, default_series_id)


_ROW_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


def _tolerant_row(feature: Any, daily: bool, default_series_id: str, non_finite: list | None = None) -> Reading | None:
    """One row in any shape seen so far (missing properties, offsets, numbers, qualifier strings).

    A value that reads as a float but is not finite ("Infinity", "NaN", "1e309") is no measurement: it is kept as
    missing, and the row's (series, time) is added to `non_finite` for the page's warning."""
    if not isinstance(feature, dict):
        return None
    props = feature.get("properties") or feature
    raw_time = props.get("time")
    try:
        t = _as_date(raw_time) if daily else _as_utc(raw_time)
    except (TypeError, ValueError):
        return None  # a row without a usable time cannot be keyed: skip it
    series_id = props.get("time_series_id") or default_series_id
    value = props.get("value")
    if value is not None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = None
        else:
            if not math.isfinite(value):
                if non_finite is not None:
                    non_finite.append((series_id, t, props.get("value")))
                value = None
    lm_text = props.get("last_modified")
    return Reading(
        series_id,
        t,
        value,
        _qualifiers(props.get("qualifier")),
        props.get("approval_status"),
        parse_instant(lm_text) if isinstance(lm_text, str) else None,
    )


# A value kept as text must read back in PostgreSQL exactly as Python's float() read it: plain decimals only (no
# exponent, so nothing overflows or underflows there that did not here; no "_", "nan" or spaces).
_PLAIN_DECIMAL = re.compile(r"-?\d{1,15}(?:\.\d{1,15})?")


def _number(raw: Any) -> tuple[float, str]:
    """A present value as (float, text to write); raises ValueError or TypeError when it is not a finite number
    (the row then goes through _tolerant_row, which keeps it as missing and reports it)."""
    number = float(raw)
    if not math.isfinite(number):
        raise ValueError(f"{raw!r} is not a finite number")
    if isinstance(raw, str) and _PLAIN_DECIMAL.fullmatch(raw):
        return number, raw
    return number, repr(number)


def _parse_features(features: list, kind: Kind, default_series_id: str) -> list[Reading]:
    # Hot loop, ~1 µs per row. Rows in the shape the client asks for (all six properties, bare date or "+00:00"
    # instant, string or null value) take the fast path: subscripts, C-level fromisoformat, each distinct value
    # text read once per page, a last_modified read once per run of equal ones, tuple.__new__ instead of
    # NamedTuple's Python-level __new__. The response's own text of time, value and last_modified is kept where
    # it is canonical (see Reading), so storage writes it without formatting again. Any other row falls back to
    # _tolerant_row, so one odd row costs a little and never loses the page.
    new = tuple.__new__
    reading_cls = Reading
    daily = kind == "daily"
    datetime_from = datetime.fromisoformat
    to_time = date.fromisoformat if daily else datetime_from
    utc = UTC
    numbers: dict[Any, tuple] = {None: (None, None)}  # value -> (float, text): a page repeats few values
    number_of = numbers.get
    # last_modified comes in runs of one load time (a recorded page: ten rows, one time); remember the last one.
    last_raw: Any = None
    lm = lm_text = None
    out: list[Reading] = []
    append = out.append
    non_finite: list[tuple] = []  # (series, time, raw value) of values kept as missing because they are not finite
    for feature in features:
        try:
            props = feature["properties"]
            time_text = props["time"]
            t = to_time(time_text)
            if daily:
                if len(time_text) != 10 or time_text[4] != "-" or time_text[7] != "-":
                    time_text = None  # a basic or week date: storage writes t.isoformat()
            elif t.tzinfo is not utc:
                raise ValueError("not UTC")
            elif len(time_text) != 25 or time_text[10] != "T" or not time_text.endswith("+00:00"):
                time_text = None
            raw = props["value"]
            number = number_of(raw)
            if number is None:
                number = numbers[raw] = _number(raw)
            raw = props["last_modified"]
            if raw != last_raw:
                if raw is None:
                    lm = lm_text = None
                else:
                    lm = datetime_from(raw)  # TypeError when not a string
                    if lm.tzinfo is utc and len(raw) in (25, 32) and raw[10] == "T" and raw.endswith("+00:00"):
                        lm_text = raw
                    else:
                        lm = parse_instant(raw)  # "Z", another offset or naive (read as UTC): re-written in UTC
                        lm_text = lm.isoformat()
                last_raw = raw
            q = props["qualifier"]
            append(
                new(
                    reading_cls,
                    (
                        props["time_series_id"] or default_series_id,
                        t,
                        number[0],
                        [] if q is None else _qualifiers(q),
                        props["approval_status"],
                        lm,
                        time_text,
                        number[1],
                        lm_text,
                    ),
                )
            )
        except _ROW_ERRORS:
            row = _tolerant_row(feature, daily, default_series_id, non_finite)
            if row is not None:
                append(row)
    if non_finite:
        _warn_non_finite(non_finite)
    return out


def _warn_non_finite(rows: list[tuple]) -> None:
    # One warning a page, however many rows: a hostile page of 50,000 "NaN"s must not write 50,000 log lines.
    shown = "; ".join(f"series {series} at {when.isoformat()} ({raw!r})" for series, when, raw in rows[:5])
    more = f"; and {len(rows) - 5} more" if len(rows) > 5 else ""
    logger.warning(
        "USGS sent %d non-finite value(s), stored as missing: %s%s", len(rows), shown, more, extra={"values": len(rows)}
    )


def parse_daily_page(obj: Any, *, default_series_id: str = "") -> list[Reading]:
    """Readings of a ``daily`` (or ``latest-daily``) page; ``time`` is a ``date``.

    ``default_series_id`` fills ``time_series_id`` when the response was asked for without that property.
    """
    return _parse_readings(obj, "daily", default_series_id)


def parse_continuous_page(obj: Any, *, default_series_id: str = "") -> list[Reading]:
    """Readings of a ``continuous`` (or ``latest-continuous``) page; ``time`` is an aware UTC ``datetime``."""
    return _parse_readings(obj, "continuous", default_series_id)


def load_json(body: str | bytes) -> Any:
    """``orjson.loads`` with the collector paused: a 50,000-feature page is ~200,000 new dicts and lists."""
    with gc_paused():
        return orjson.loads(body)


def parse_readings_text(text: str | bytes, kind: Kind, *, default_series_id: str = "") -> list[Reading]:
    """Fast path from a raw response body (orjson) to readings."""
    if kind not in ("daily", "continuous"):
        raise ValueError(f"kind must be 'daily' or 'continuous', not {kind!r}")
    with gc_paused():
        return _parse_features(_features(orjson.loads(text)), kind, default_series_id)


# ----------------------------------------------------------------------------------------------------
# Pages to one record: merge, order, choose the series
# ----------------------------------------------------------------------------------------------------


def merge_readings(merged: dict, readings: Iterable[Reading]) -> None:
    """Add one page's readings to `merged`, keyed (time_series_id, time).

    A row seen twice (a window boundary, a revision while paging) keeps the one modified later.
    """
    get = merged.get
    with gc_paused():  # one new key tuple a value: let the collector not rescan everything merged so far
        for r in readings:  # indexes, not attribute names: this runs once per value (r[5] is last_modified)
            key = (r[0], r[1])
            old = get(key)
            if old is None or (r[5] is not None and (old[5] or r[5]) <= r[5]):
                merged[key] = r


def sorted_readings(merged: dict) -> list[Reading]:
    """The merged readings in (time, time_series_id) order: the order storage writes them in."""
    readings = list(merged.values())
    # Two stable sorts, series then time, give (time, series) order at a third of the cost of one sort on a tuple
    # key; the first is a single pass when, as usual, every row is of one series.
    readings.sort(key=itemgetter(0))
    readings.sort(key=itemgetter(1))
    return readings


def choose_primary(series: Iterable[SeriesInfo]) -> SeriesInfo | None:
    """The series to pull: the one USGS marks Primary, then the one that ends latest."""
    far_past = datetime.min.replace(tzinfo=UTC)
    return max(series, key=lambda s: (s.primary, s.end or far_past, s.time_series_id), default=None)


# ----------------------------------------------------------------------------------------------------
# Metadata and locations
# ----------------------------------------------------------------------------------------------------


def parse_series_metadata(obj: Any) -> list[SeriesInfo]:
    """Rows of ``time-series-metadata``; the feature id is the time series id."""
    out: list[SeriesInfo] = []
    for feature in _features(obj):
        props = feature.get("properties") or {}
        series_id = feature.get("id") or props.get("id") or props.get("time_series_id")
        if not series_id:
            continue
        # v1 gives begin/end as naive local times plus begin_utc/end_utc with an offset; prefer the UTC pair.
        begin = parse_instant(props.get("begin_utc")) or parse_instant(props.get("begin"))
        end = parse_instant(props.get("end_utc")) or parse_instant(props.get("end"))
        out.append(
            SeriesInfo(
                time_series_id=str(series_id),
                monitoring_location_id=props.get("monitoring_location_id"),
                parameter_code=props.get("parameter_code"),
                statistic_id=props.get("statistic_id"),
                computation_identifier=props.get("computation_identifier"),
                computation_period_identifier=props.get("computation_period_identifier"),
                primary=str(props.get("primary") or "").lower() == "primary",
                begin=begin,
                end=end,
                last_modified=parse_instant(props.get("last_modified")),
                unit_of_measure=props.get("unit_of_measure"),
            )
        )
    return out


# State FIPS -> postal code, so a location carries both (the API gives FIPS and the name only).
STATE_POSTAL = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE", "11": "DC",
    "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA", "20": "KS", "21": "KY",
    "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT",
    "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND", "39": "OH",
    "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT",
    "50": "VT", "51": "VA", "53": "WA", "54": "WV", "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP",
    "72": "PR", "78": "VI",
}  # fmt: skip


def _float_or_none(raw: Any) -> float | None:
    """A finite number, else None: "Infinity", "NaN" or 1e309 as a coordinate or an area means nothing."""
    if raw is None or raw == "":
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def normalize_monitoring_location(feature: dict) -> dict:
    """One ``monitoring-locations`` feature as the flat dict the station catalog stores."""
    props = feature.get("properties") or {}
    location_id = feature.get("id") or props.get("id") or props.get("monitoring_location_id")
    agency = props.get("agency_code")
    number = props.get("monitoring_location_number")
    if location_id and "-" in str(location_id):
        prefix, _, rest = str(location_id).partition("-")
        agency = agency or prefix
        number = number or rest
    coords = ((feature.get("geometry") or {}).get("coordinates") or [None, None])[:2]
    state_fips = props.get("state_code")
    dst = props.get("uses_daylight_savings")
    return {
        "monitoring_location_id": location_id,
        "agency_code": agency,
        "site_number": number,
        "name": props.get("monitoring_location_name"),
        "state_fips": state_fips,
        "state_postal": STATE_POSTAL.get(state_fips or ""),
        "state_name": props.get("state_name"),
        "county_code": props.get("county_code"),
        "county_name": props.get("county_name"),
        "huc": props.get("hydrologic_unit_code"),
        "drainage_area_sqmi": _float_or_none(props.get("drainage_area")),
        "latitude": _float_or_none(coords[1]) if len(coords) > 1 else None,
        "longitude": _float_or_none(coords[0]),
        "site_type": props.get("site_type_code"),
        "site_type_name": props.get("site_type"),
        "tz_abbreviation": props.get("time_zone_abbreviation"),
        "uses_dst": None if dst is None else str(dst).upper() == "Y",
    }


def parse_monitoring_locations(obj: Any) -> list[dict]:
    """A ``monitoring-locations`` page, or a single item, as normalized dicts."""
    return [normalize_monitoring_location(f) for f in _features(obj)]


# ----------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------

_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def parse_error(status: int, body_text: str | bytes | None) -> tuple[str, str]:
    """``(code, description)`` from an error body in either shape the service uses.

    pygeoapi errors look like ``{"code": "InvalidQuery", "description": "..."}``; the api.data.gov gateway's like
    ``{"error": {"code": "API_KEY_INVALID", "message": "..."}}``; proxies answer 502/503 with HTML.
    """
    if isinstance(body_text, bytes):
        body_text = body_text.decode("utf-8", "replace")
    text = (body_text or "").strip()
    fallback_code = f"HTTP_{status}"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unexpected status"
    obj: Any = None
    if text[:1] in "{[" and text:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            obj = None
    if isinstance(obj, dict):
        inner = obj.get("error")
        if isinstance(inner, dict):
            code = inner.get("code") or fallback_code
            description = inner.get("message") or inner.get("description") or phrase
            return str(code), str(description)
        if isinstance(inner, str):
            return fallback_code, inner
        code = obj.get("code") or obj.get("type") or fallback_code
        description = obj.get("description") or obj.get("message") or obj.get("detail") or phrase
        return str(code), str(description)
    if not text:
        return fallback_code, phrase
    # HTML or plain text from a proxy: keep a short readable sentence, never the whole page.
    plain = _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", text))).strip()
    return fallback_code, (plain[:200] or phrase)
