"""Query-string semantics of the fake: time intervals, durations, cursors, errors (as SPEC.md §2 describes)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import orjson

MAX_LIMIT = 50000
DEFAULT_LIMIT = 10
CONTINUOUS_MAX_DAYS = 1100


@dataclass
class Context:
    """One items request as the collection handlers see it."""

    collection: str
    params: dict[str, str]
    ordered: list[tuple[str, str]]  # the query string in order, for next links
    link_base: str
    limit: int


# Error bodies, byte for byte as recorded (v1_usgs_error_*.json) or as SPEC.md quotes them.
TIME_ENVELOPE_BODY = {
    "code": "InvalidQuery",
    "type": "InvalidQuery",
    "description": "The requested time envelope is too large, the query must be limited to 1100 day(s) or less "
    "for this collection.",
}
UNKNOWN_PROPERTY_BODY = {
    "code": "InvalidQuery",
    "type": "InvalidQuery",
    "description": "At least one requested property wasn't found",
}
LIMIT_EXCEEDED_BODY = {"code": "InvalidParameterValue", "description": f"Limit of {MAX_LIMIT} exceeded"}
KEY_INVALID_BODY = {
    "error": {
        "code": "API_KEY_INVALID",
        "message": "An invalid api_key was supplied. Get one at https://api.waterdata.usgs.gov/signup/",
    }
}
KEY_MISSING_BODY = {
    "error": {
        "code": "API_KEY_MISSING",
        "message": "No api_key was supplied. Get one at https://api.waterdata.usgs.gov/signup/",
    }
}
RATE_LIMIT_BODY = {
    "error": {
        "code": "OVER_RATE_LIMIT",
        "message": "You have exceeded your rate limit. Try again later or contact us at "
        "https://api.waterdata.usgs.gov/contact/ for assistance",
    }
}
NOT_FOUND_BODY = {"code": "NotFound", "description": "identifier not found"}


class QueryError(Exception):
    """A request the API refuses: carries the HTTP status and the JSON body to answer with."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("description") or body)
        self.status = status
        self.body = body


def bad_value(description: str) -> QueryError:
    return QueryError(400, {"code": "InvalidParameterValue", "description": description})


_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta | None:
    m = _DURATION.match(text)
    if not m or text in ("P", "PT"):
        return None
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    # Months and years as 30 and 365 days: close enough for "the last P1M of data".
    days = g["y"] * 365 + g["mo"] * 30 + g["w"] * 7 + g["d"]
    return timedelta(days=days, hours=g["h"], minutes=g["mi"], seconds=g["s"])


def parse_instant(text: str) -> datetime:
    """A date or RFC 3339 instant as an aware UTC datetime (a bare date is its UTC midnight)."""
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    dt = datetime.fromisoformat(text.replace(" ", "T"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_interval(text: str | None, now: datetime) -> tuple[datetime | None, datetime | None] | None:
    """``time`` / ``last_modified`` syntax: instant, ``a/b``, ``a/..``, ``../b`` or a duration back from now.

    Returns None when the parameter is absent; (None, x) / (x, None) for open ends. Both ends inclusive.
    """
    if text is None or text == "":
        return None
    try:
        if "/" in text:
            left, _, right = text.partition("/")
            start = None if left in ("..", "") else parse_instant(left)
            end = None if right in ("..", "") else parse_instant(right)
            return start, end
        duration = parse_duration(text)
        if duration is not None:
            return now - duration, now
        instant = parse_instant(text)
        return instant, instant
    except ValueError as exc:
        raise bad_value(f"Invalid datetime or duration: {text}") from exc


def encode_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_value("Invalid cursor") from exc


def csv_values(raw: str | None) -> list[str] | None:
    if raw is None or raw == "":
        return None
    return [v.strip() for v in raw.split(",") if v.strip()]


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError as exc:
        raise bad_value("limit must be an integer") from exc
    if limit > MAX_LIMIT:
        raise QueryError(400, LIMIT_EXCEEDED_BODY)
    if limit < 1:
        raise bad_value("limit must be a positive integer")
    return limit


def json_bytes(obj: object) -> bytes:
    return orjson.dumps(obj)


# Properties the data collections accept in ``properties=`` (their queryables, recorded in queryables.json, plus
# method_category that v1 continuous returns). ``geometry`` is not a property: ask with skipGeometry instead.
LOCATION_FIELDS = [
    "agency_code", "agency_name", "altitude", "altitude_accuracy", "altitude_method_code", "altitude_method_name",
    "aquifer_code", "aquifer_type_code", "basin_code", "construction_date", "contributing_drainage_area",
    "country_code", "country_name", "county_code", "county_name", "depth_source_code", "district_code",
    "drainage_area", "hole_constructed_depth", "horizontal_position_method_code", "horizontal_position_method_name",
    "horizontal_positional_accuracy", "horizontal_positional_accuracy_code", "hydrologic_unit_code",
    "minor_civil_division_code", "monitoring_location_name", "monitoring_location_number", "national_aquifer_code",
    "original_horizontal_datum", "original_horizontal_datum_name", "site_type", "site_type_code", "state_code",
    "state_name", "time_zone_abbreviation", "uses_daylight_savings", "vertical_datum", "vertical_datum_name",
    "well_constructed_depth",
]  # fmt: skip
DATA_FIELDS = [
    "id", "time_series_id", "monitoring_location_id", "parameter_code", "statistic_id", "time", "value",
    "unit_of_measure", "approval_status", "qualifier", "last_modified", "data_gap_interval",
]  # fmt: skip
METADATA_FIELDS = [
    "id", "begin", "begin_utc", "computation_identifier", "computation_period_identifier", "data_gap_interval",
    "end", "end_utc", "hydrologic_unit_code", "last_modified", "monitoring_location_id", "parameter_code",
    "parameter_description", "parameter_name", "parent_time_series_id", "primary", "state_name", "statistic_id",
    "sublocation_identifier", "thresholds", "unit_of_measure", "web_description",
]  # fmt: skip
LOCATION_PROPERTIES = ["id", *LOCATION_FIELDS, "revision_created", "revision_modified", "revision_note"]


def requested_properties(raw: str | None, allowed: set[str]) -> list[str] | None:
    names = csv_values(raw)
    if names is None:
        return None
    if any(name not in allowed for name in names):
        raise QueryError(400, UNKNOWN_PROPERTY_BODY)
    return names


def after_cursor[T](items: Iterable[T], key: Callable[[T], str], cursor: str | None) -> Iterator[T]:
    """Items (ordered by ``key(item)``) strictly after the decoded cursor."""
    if cursor is None:
        return iter(items)
    last = decode_cursor(cursor)
    return (item for item in items if key(item) > last)


def within(value: datetime, interval: tuple[datetime | None, datetime | None] | None) -> bool:
    if interval is None:
        return True
    start, end = interval
    return (start is None or value >= start) and (end is None or value <= end)


def cql2_filters(body: bytes) -> dict[str, str]:
    """A CQL2-JSON filter as the query parameters it stands for: ``in`` lists comma-joined, ``=`` as is, under
    ``and``. Anything else is a 400, as the fake serves only what the client sends."""
    try:
        tree = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_value(f"The CQL2 body is not JSON: {exc}") from exc
    out: dict[str, str] = {}

    def walk(node) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("args"), list):
            raise bad_value(f"Not a CQL2-JSON expression: {str(node)[:100]}")
        op, args = node.get("op"), node["args"]
        if op == "and":
            for arg in args:
                walk(arg)
            return
        if op not in ("in", "=") or len(args) != 2 or not isinstance(args[0], dict) or "property" not in args[0]:
            raise bad_value(f"CQL2 operator {op!r} is not supported by the fake (only in, = and and)")
        values = args[1] if op == "in" else [args[1]]
        if not isinstance(values, list) or not values:
            raise bad_value(f"CQL2 {op} needs a non-empty list of values")
        out[args[0]["property"]] = ",".join(str(v) for v in values)

    walk(tree)
    return out
