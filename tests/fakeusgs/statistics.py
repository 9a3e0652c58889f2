"""The fake's Statistics API (``/statistics/v0/observationNormals``) and its ``time-series-revisions`` collection,
as ``shared/usgs/STATISTICS-PARAMETERS.md`` shows the real ones (§A, §B). A mixin of ``FakeUSGS``.

The fake knows its truth: the normals are computed from its own approved daily values (every daily series of a
station, whatever its parameter), so a test can ask ``fake.normals(site)`` what USGS "would" say and place a value
at a chosen percentile with ``fake.value_at_percentile``.

How the fake computes them (the real service documents only "percentiles of daily means based on the same numeric
day of the year", from approved values):
- DOY rows: for each calendar "MM-DD", every approved, non-missing value of that date across the years;
  ``sample_count`` is how many. Percentiles 5, 10, 25, 50, 75, 90, 95 with Weibull plotting positions (rank
  r = p/100 × (n + 1), linear between neighbours); where r < 1 or r > n the record is too short and the value is
  the string ``"nan"`` (a 1-sample record has only its median). Mean, median, minimum, maximum as usual.
- MOY rows: the same over each year's mean of that month's approved values (``sample_count`` = years).
- Only approved values count, so the recent provisional months never enter a normal (pitfall A.9.8).
- Values are strings rounded to 3 decimals (``"150.75"``); a missing percentile is ``"nan"``.

Answers: one feature per monitoring location (no ``id``, a Point geometry), ``properties.data[]`` one entry per
parent daily series, ``values[]`` one per statistic; ``next`` is a token while more locations remain, else null.
Multi-valued parameters are repeated keys; a comma-joined list is refused with 400 (the real service's handling is
unconfirmed, so the fake takes the strict reading).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from tests.fakeusgs import query as q
from tests.fakeusgs.collections import location_properties
from tests.fakeusgs.data import APPROVAL_LAG_DAYS

if TYPE_CHECKING:
    from tests.fakeusgs.data import Series
    from tests.fakeusgs.server import FakeUSGS, RequestRecord, Response

PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
COMPUTATIONS = ("arithmetic_mean", "maximum", "median", "minimum", "percentile")
MULTI = ("monitoring_location_id", "parameter_code", "computation_type", "parent_time_series_id", "state_code",
         "county_code", "country_code", "site_type_code", "site_type_name", "approval_status")  # fmt: skip
SINGLE = ("start_date", "end_date", "normal_type", "page_size", "next_token", "api_key", "mime_type")
DEFAULT_PAGE_SIZE = 1000
_CACHE: dict[tuple, dict] = {}


def _day(t: date | datetime) -> date:
    return t.date() if isinstance(t, datetime) else t


def weibull(values: list[float], pct: float) -> float | None:
    """The `pct` percentile of sorted `values` by Weibull plotting position; None where the record is too short."""
    n = len(values)
    rank = pct / 100 * (n + 1)
    if n == 0 or rank < 1 or rank > n:
        return None
    low = math.floor(rank)
    if low >= n:
        return values[-1]
    return values[low - 1] + (rank - low) * (values[low] - values[low - 1])


@dataclass(frozen=True)
class Normal:
    """One statistic row set of a series for a time of year, as numbers (the truth tests compare with)."""

    time_of_year: str  # "MM-DD" or "MM"
    kind: str  # "day_of_year" | "month_of_year"
    sample_count: int
    mean: float
    median: float
    minimum: float
    maximum: float
    percentiles: dict[int, float | None]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _normal(time_of_year: str, kind: str, values: list[float]) -> Normal:
    values = sorted(values)
    n = len(values)
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    return Normal(
        time_of_year, kind, n, _r(sum(values) / n), _r(median), _r(values[0]), _r(values[-1]),
        {p: _r(weibull(values, p)) for p in PERCENTILES},
    )  # fmt: skip


def _text(value: float | None) -> str:
    return "nan" if value is None else repr(float(value))


@dataclass
class RevisionNote:
    """A row of time-series-revisions: a note about a revised period of one series."""

    id: str
    monitoring_location_id: str
    time_series_id: str
    revision_note: str
    begin: datetime
    end: datetime


class StatisticsMixin:
    """observationNormals and time-series-revisions for FakeUSGS (which owns stations, series, clock, paging)."""

    # -- truth --------------------------------------------------------------------------------------------------

    def daily_series_for_normals(self: FakeUSGS, monitoring_location_id: str) -> list[Series]:
        """The series statistics are computed from: every daily series of the site (any parameter)."""
        return [s for s in self.series_by_site.get(monitoring_location_id, ()) if s.kind == "daily"]

    def series_normals(self: FakeUSGS, series: Series) -> dict[str, Normal]:
        """time_of_year ("MM-DD", "MM") → Normal, from the series' approved values as served now."""
        with self._data_lock:
            # Shared by every fake of the process (tests start many with the same catalog): keyed on what the
            # approved values depend on. A revision of a provisional value leaves the normals as they were.
            lag = self.today - timedelta(days=APPROVAL_LAG_DAYS)
            approved_changes = tuple(sorted((str(t), r.value) for t, r in series.revisions.items() if _day(t) < lag))
            st = series.station
            key = (
                series.id,
                series.seed,
                series.scale,
                series.begin,
                series.end_offset_days,
                st.flow,
                st.state_code,
                self.today,
                approved_changes,
                tuple(series.approvals),
                series.parameter_code,
                series.statistic_id,
            )
            if key in _CACHE:
                return _CACHE[key]
            by_day: dict[str, list[float]] = defaultdict(list)
            by_month: dict[tuple[int, int], list[float]] = defaultdict(list)
            for t in series.times(None, None, self.today):
                row = series.row(t, self.today)
                if row.approval_status != "Approved" or row.value is None:
                    continue
                value = float(row.value)
                by_day[f"{t.month:02d}-{t.day:02d}"].append(value)
                by_month[(t.month, t.year)].append(value)
        out = {doy: _normal(doy, "day_of_year", values) for doy, values in sorted(by_day.items())}
        months: dict[int, list[float]] = defaultdict(list)
        for (month, _year), values in sorted(by_month.items()):
            months[month].append(sum(values) / len(values))
        for month, means in sorted(months.items()):
            out[f"{month:02d}"] = _normal(f"{month:02d}", "month_of_year", means)
        _CACHE[key] = out
        return out

    def normals(self: FakeUSGS, monitoring_location_id: str, primary: bool = True) -> dict[str, Normal]:
        """The site's (primary) daily series' normals: what observationNormals answers for it."""
        return self.series_normals(self.series_of(monitoring_location_id, "daily", primary))

    def value_at_percentile(self: FakeUSGS, monitoring_location_id: str, day: date, pct: float) -> float:
        """A value the normals of `day` rank at `pct` (linear between minimum = 0, the percentiles, maximum = 100:
        the inverse of the app's ranking)."""
        normal = self.normals(monitoring_location_id)[f"{day.month:02d}-{day.day:02d}"]
        points = [(0.0, normal.minimum)]
        points += [(float(p), v) for p, v in normal.percentiles.items() if v is not None]
        points.append((100.0, normal.maximum))
        for (p0, v0), (p1, v1) in zip(points, points[1:], strict=False):
            if p0 <= pct <= p1:
                return v0 if p1 == p0 else v0 + (pct - p0) / (p1 - p0) * (v1 - v0)
        raise ValueError(f"{pct} is not a percentile between 0 and 100")

    # -- revisions ----------------------------------------------------------------------------------------------

    @property
    def revision_notes(self: FakeUSGS) -> list[RevisionNote]:
        """The rows of time-series-revisions (a test may append); by default a few, as real sites have."""
        notes = self.__dict__.get("_revision_notes")
        if notes is None:
            notes = self.__dict__["_revision_notes"] = _default_revision_notes(self)
        return notes

    def add_revision_note(
        self: FakeUSGS, monitoring_location_id: str, begin: datetime, end: datetime, text: str
    ) -> list[RevisionNote]:
        """One revision event: a row for each series of the site (as USGS writes one per affected series)."""
        rows = []
        for s in self.series_by_site.get(monitoring_location_id, ()):
            digest = hashlib.md5(f"{s.id}|{begin}|{end}|{text}".encode(), usedforsecurity=False).digest()
            rows.append(RevisionNote(str(uuid.UUID(bytes=digest, version=4)), monitoring_location_id, s.id, text,
                                     begin, end))  # fmt: skip
        self.revision_notes.extend(rows)
        return rows

    def _revisions(self: FakeUSGS, ctx: q.Context) -> dict:
        p = ctx.params
        sites = set(q.csv_values(p.get("monitoring_location_id")) or ())
        ids = set(q.csv_values(p.get("time_series_id")) or ())
        rows = sorted(
            (r for r in self.revision_notes
             if (not sites or r.monitoring_location_id in sites) and (not ids or r.time_series_id in ids)),
            key=lambda r: r.id,
        )  # fmt: skip
        items = q.after_cursor(rows, lambda r: r.id, p.get("cursor"))

        def render(r: RevisionNote) -> dict:
            props = {
                "id": r.id,
                "monitoring_location_id": r.monitoring_location_id,
                "time_series_id": r.time_series_id,
                "revision_note": r.revision_note,
                "begin": r.begin.isoformat(),
                "end": r.end.isoformat(),
            }
            return {"type": "Feature", "id": r.id, "geometry": None, "properties": props}

        return self.page(ctx, items, lambda r: r.id, render)

    def collection_handlers(self: FakeUSGS) -> dict:
        return {**super().collection_handlers(), "time-series-revisions": self._revisions}  # type: ignore[misc]

    # -- observationNormals -------------------------------------------------------------------------------------
    # Faults a test may switch on: statistics_empty_first_page (the first page is empty but has a next token),
    # statistics_stuck_token (every next page sends back the token it was asked with).

    @property
    def statistics_url(self: FakeUSGS) -> str:
        """The base to set USGS_STATISTICS_URL to (after start())."""
        return self.base_url.replace("/ogcapi/v1", "/statistics/v0")

    def _statistics(self: FakeUSGS, record: RequestRecord, ordered: list[tuple[str, str]]) -> Response:
        from tests.fakeusgs.server import _json

        parts = record.path.rstrip("/").split("/")
        if parts[2:3] != ["v0"] or len(parts) != 4 or parts[3] not in ("observationNormals", "observationIntervals"):
            return _json(404, q.NOT_FOUND_BODY)
        gate = self._gateway(record)
        if gate.status != 200:
            return gate
        if parts[3] == "observationIntervals":
            return _json(501, {"code": "NotImplemented", "description": "the fake serves observationNormals only"})
        try:
            body = self._normals_page(ordered)
        except q.QueryError as exc:
            return _json(exc.status, exc.body, gate.headers)
        return _json(200, body, {**gate.headers, "Content-Type": "application/json"})

    def _normals_page(self: FakeUSGS, ordered: list[tuple[str, str]]) -> dict:
        multi: dict[str, list[str]] = defaultdict(list)
        single: dict[str, str] = {}
        for key, value in ordered:
            if key in MULTI:
                if "," in value:
                    raise q.bad_value(f"{key}: give each value as its own {key}= parameter, not a comma list")
                multi[key].append(value)
            elif key in SINGLE:
                if key in single:
                    raise q.bad_value(f"{key} may be given once")
                single[key] = value
            else:
                raise q.bad_value(f"Unknown parameter: {key}")
        types = multi.get("computation_type") or list(COMPUTATIONS)
        if bad := [t for t in types if t not in COMPUTATIONS]:
            raise q.bad_value(f"Invalid computation_type: {bad[0]} (one of {', '.join(COMPUTATIONS)})")
        normal_type = single.get("normal_type")
        if normal_type not in (None, "DOY", "MOY"):
            raise q.bad_value(f"Invalid normal_type: {normal_type} (DOY or MOY)")
        start, end = _month_day(single.get("start_date"), "01-01"), _month_day(single.get("end_date"), "12-31")
        try:
            page_size = int(single.get("page_size", DEFAULT_PAGE_SIZE))
        except ValueError as exc:
            raise q.bad_value("page_size must be an integer") from exc
        if page_size < 1:
            raise q.bad_value("page_size must be a positive integer")
        sites = set(multi.get("monitoring_location_id") or ())
        pcodes = set(multi.get("parameter_code") or ())
        parents = set(multi.get("parent_time_series_id") or ())
        after = q.decode_cursor(single["next_token"]) if single.get("next_token") else ""
        if getattr(self, "statistics_empty_first_page", False) and not single.get("next_token"):
            # "a real mid-pagination shape" (§A.5): no features yet, but a token to go on with.
            return {"type": "FeatureCollection", "next": q.encode_cursor(" "), "features": []}
        if getattr(self, "statistics_stuck_token", False) and single.get("next_token"):
            return {"type": "FeatureCollection", "next": single["next_token"], "features": []}

        def wanted_doy(doy: str) -> bool:
            return start <= doy <= end if start <= end else (doy >= start or doy <= end)

        def wanted_moy(month: str) -> bool:
            return wanted_doy(f"{month}-01")

        features, more = [], False
        for st in self.stations_sorted:
            sid = st.monitoring_location_id
            if sid <= after or (sites and sid not in sites):
                continue
            data = []
            for s in self.daily_series_for_normals(sid):
                pcode = s.parameter_code
                if (pcodes and pcode not in pcodes) or (parents and s.id not in parents):
                    continue
                values = []
                for normal in self.series_normals(s).values():
                    if normal.kind == "day_of_year" and (normal_type == "MOY" or not wanted_doy(normal.time_of_year)):
                        continue
                    if normal.kind == "month_of_year" and (normal_type == "DOY" or not wanted_moy(normal.time_of_year)):
                        continue
                    values.extend(_rows(s, normal, types))
                if values:
                    data.append({
                        "parameter_code": pcode,
                        "unit_of_measure": s.parameter.unit,
                        "parent_time_series_id": s.id,
                        "parent_statistic_id": s.data_statistic,
                        "parent_statistic_name": {"00001": "Maximum", "00002": "Minimum", "00006": "Sum"}.get(
                            s.data_statistic, "Mean"),
                        "values": values,
                    })  # fmt: skip
            if not data:
                continue
            if len(features) == page_size:
                more = True
                break
            props = {
                k: v for k, v in location_properties(st).items()
                if k in ("monitoring_location_name", "site_type", "site_type_code", "country_code", "state_code",
                         "county_code")
            }  # fmt: skip
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [st.longitude, st.latitude]},
                "properties": {"monitoring_location_id": sid, **props, "data": data},
            })  # fmt: skip
        token = q.encode_cursor(features[-1]["properties"]["monitoring_location_id"]) if more else None
        return {"type": "FeatureCollection", "next": token, "features": features}


def _month_day(text: str | None, default: str) -> str:
    if text is None:
        return default
    try:
        date.fromisoformat(f"2000-{text}")  # a leap year: 02-29 is a day of the year
    except ValueError as exc:
        raise q.bad_value(f"Invalid date {text!r}: observationNormals takes MM-DD") from exc
    return text


def _rows(series: Series, normal: Normal, types: list[str]) -> list[dict]:
    def cid(computation: str) -> str:
        key = f"{series.id}|{computation}|{normal.kind}|{normal.time_of_year}"
        return str(uuid.UUID(bytes=hashlib.md5(key.encode(), usedforsecurity=False).digest(), version=4))

    common = {"time_of_year": normal.time_of_year, "time_of_year_type": normal.kind}
    scalar = {"arithmetic_mean": normal.mean, "maximum": normal.maximum, "median": normal.median,
              "minimum": normal.minimum}  # fmt: skip
    out = []
    for computation in COMPUTATIONS:
        if computation not in types:
            continue
        row = {"computation": computation, "computation_id": cid(computation), **common}
        if computation == "percentile":
            row["percentiles"] = [str(p) for p in PERCENTILES]
            row["values"] = [_text(normal.percentiles[p]) for p in PERCENTILES]
        else:
            row["value"] = _text(scalar[computation])
        row.update({"sample_count": normal.sample_count, "approval_status": "approved"})
        out.append(row)
    return out


def _default_revision_notes(fake: FakeUSGS) -> list[RevisionNote]:
    """The note of the shared document's recording, on the first two stations whose daily record covers 2021."""
    notes: list[RevisionNote] = []
    fake.__dict__["_revision_notes"] = notes
    begin, end = datetime(2021, 5, 16, 22, tzinfo=UTC), datetime(2021, 10, 27, 8, 45, tzinfo=UTC)
    text = ("Revisions: Discharge for the period May 16, 2021 to Oct. 27, 2021, was revised on Aug. 16, 2024, "
            "based on changes to the estimated discharge.")  # fmt: skip
    picked = [st for st in fake.stations_sorted if st.daily_begin is not None and st.daily_begin < date(2021, 1, 1)]
    for st in picked[:2]:
        fake.add_revision_note(st.monitoring_location_id, begin, end, text)
    return notes
