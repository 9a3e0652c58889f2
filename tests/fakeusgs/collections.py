"""The six collections the fake serves, as a mixin of ``FakeUSGS`` (which owns stations, series, clock, paging)."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from tests.fakeusgs import query as q
from tests.fakeusgs.data import APPROVAL_LAG_DAYS, COMPUTATION, FakeStation, Row, Series, utc_midnight

if TYPE_CHECKING:
    from tests.fakeusgs.server import FakeUSGS, Response

DATA_ALLOWED = set(q.DATA_FIELDS) | set(q.LOCATION_FIELDS)
CONTINUOUS_ALLOWED = DATA_ALLOWED | {"method_category"}
METADATA_ALLOWED = set(q.METADATA_FIELDS)
LOCATION_ALLOWED = set(q.LOCATION_PROPERTIES)
UTC_OFFSET_HOURS = {"EST": 5, "CST": 6, "MST": 7, "PST": 8, "AKST": 9, "HST": 10}


def location_properties(st: FakeStation) -> dict:
    return {
        "id": st.monitoring_location_id,
        "agency_code": st.agency_code,
        "agency_name": "U.S. Geological Survey" if st.agency_code == "USGS" else st.agency_code,
        "monitoring_location_number": st.site_number,
        "monitoring_location_name": st.name,
        "district_code": st.state_code,
        "country_code": "US",
        "country_name": "United States of America",
        "state_code": st.state_code,
        "state_name": st.state_name,
        "county_code": st.county_code,
        "county_name": st.county_name,
        "minor_civil_division_code": None,
        "site_type_code": st.site_type_code,
        "site_type": {"ST": "Stream", "GW": "Well"}.get(st.site_type_code, st.site_type_code),
        "hydrologic_unit_code": st.huc,
        "basin_code": None,
        "altitude": None,
        "altitude_accuracy": None,
        "altitude_method_code": None,
        "altitude_method_name": None,
        "vertical_datum": "NAVD88",
        "vertical_datum_name": "North American Vertical Datum of 1988",
        "horizontal_positional_accuracy_code": "S",
        "horizontal_positional_accuracy": "Accurate to + or - 1 sec.",
        "horizontal_position_method_code": "M",
        "horizontal_position_method_name": "Interpolated from map",
        "original_horizontal_datum": "NAD83",
        "original_horizontal_datum_name": "North American Datum of 1983",
        "drainage_area": st.drainage_area,
        "contributing_drainage_area": None,
        "time_zone_abbreviation": st.time_zone_abbreviation,
        "uses_daylight_savings": st.uses_daylight_savings,
        "construction_date": None,
        "aquifer_code": None,
        "national_aquifer_code": None,
        "aquifer_type_code": None,
        "well_constructed_depth": None,
        "hole_constructed_depth": None,
        "depth_source_code": None,
        "revision_note": None,
        "revision_created": "2017-11-13T06:00:00+00:00",
        "revision_modified": None,
    }


def _point(st: FakeStation) -> dict:
    return {"type": "Point", "coordinates": [st.longitude, st.latitude]}


def _pick(full: dict, names: list[str] | None, feature_id: str, st: FakeStation) -> dict:
    if names is None:
        return full
    loc: dict | None = None
    out = {}
    for name in names:
        if name == "id":
            out["id"] = feature_id
        elif name in full:
            out[name] = full[name]
        else:
            loc = loc or location_properties(st)
            out[name] = loc.get(name)
    return out


def _first_day_at_or_after(instant: datetime) -> date:
    # A daily row's date compares as its UTC midnight (a date column against a timestamptz bound).
    day = instant.date()
    return day if utc_midnight(day) >= instant else day + timedelta(days=1)


class CollectionsMixin:
    def collection_handlers(self: FakeUSGS) -> dict[str, Callable[[q.Context], dict]]:
        return {
            "daily": self._daily,
            "continuous": self._continuous,
            "latest-daily": lambda ctx: self._latest(ctx, "daily"),
            "latest-continuous": lambda ctx: self._latest(ctx, "continuous"),
            "time-series-metadata": self._metadata,
            "monitoring-locations": self._locations,
        }

    # -- selection

    def _station_matches(self, st: FakeStation, p: dict[str, str]) -> bool:
        for name, value in (
            ("state_code", st.state_code),
            ("state_name", st.state_name),
            ("site_type_code", st.site_type_code),
            ("county_code", st.county_code),
            ("agency_code", st.agency_code),
            ("monitoring_location_number", st.site_number),
            ("monitoring_location_name", st.name),
        ):
            wanted = q.csv_values(p.get(name)) if name != "monitoring_location_name" else p.get(name) and [p[name]]
            if wanted and value not in wanted:
                return False
        hucs = q.csv_values(p.get("hydrologic_unit_code"))
        return not hucs or any(st.huc.startswith(h) for h in hucs)  # "Search will match partial HUCs"

    def _select_series(self: FakeUSGS, kind: str | None, p: dict[str, str]) -> list[Series]:
        """The series a request selects, sorted by series id. Comma-separated ``monitoring_location_id`` and
        ``time_series_id`` (``id`` on time-series-metadata) are lists, ANDed with each other and the rest."""
        sites = set(q.csv_values(p.get("monitoring_location_id")) or ())
        ids = set(q.csv_values(p.get("time_series_id")) or q.csv_values(p.get("id") if kind is None else None) or ())
        pcodes = set(q.csv_values(p.get("parameter_code")) or ())
        if ids:  # look the named series up instead of scanning the catalog
            candidates = sorted((self.series_by_id[i] for i in ids if i in self.series_by_id), key=lambda s: s.id)
        elif sites:
            candidates = sorted((s for site in sites for s in self.series_by_site.get(site, ())), key=lambda s: s.id)
        else:
            candidates = self.series  # sorted by series id
        out = []
        for s in candidates:
            if kind is not None and s.kind != kind:
                continue
            if pcodes and s.parameter_code not in pcodes:
                continue
            if sites and s.station.monitoring_location_id not in sites:
                continue
            if self._station_matches(s.station, p):
                out.append(s)
        return out

    def _data_feature(self, series: Series, row: Row, names: list[str] | None, skip: bool) -> dict:
        st = series.station
        full = {
            "time_series_id": series.id,
            "monitoring_location_id": st.monitoring_location_id,
            "parameter_code": series.parameter_code,
            "statistic_id": series.data_statistic,
            "time": row.time.isoformat(),
            "value": row.value,
            "unit_of_measure": series.parameter.unit,
            "approval_status": row.approval_status,
            "qualifier": row.qualifier,
            "last_modified": row.last_modified.isoformat(),
        }
        if series.kind == "continuous":
            full["method_category"] = None
        return {
            "type": "Feature",
            "properties": _pick(full, names, row.feature_id, st),
            "id": row.feature_id,
            "geometry": None if skip else _point(st),
        }

    # -- data collections

    def _data_common(self: FakeUSGS, ctx: q.Context, kind: str):
        p = ctx.params
        allowed = CONTINUOUS_ALLOWED if kind == "continuous" else DATA_ALLOWED
        names = q.requested_properties(p.get("properties"), allowed)
        skip = p.get("skipGeometry", "false").lower() == "true"
        stats = q.csv_values(p.get("statistic_id"))
        series = [s for s in self._select_series(kind, p) if not stats or s.data_statistic in stats]
        lm_interval = q.parse_interval(p.get("last_modified"), self.now())
        approvals = q.csv_values(p.get("approval_status"))

        def keep(row: Row) -> bool:
            return q.within(row.last_modified, lm_interval) and (not approvals or row.approval_status in approvals)

        def render(item: tuple[Series, Row]) -> dict:
            return self._data_feature(item[0], item[1], names, skip)

        return series, keep, render, lm_interval

    def _daily(self: FakeUSGS, ctx: q.Context) -> dict:
        series, keep, render, lm_interval = self._data_common(ctx, "daily")
        interval = q.parse_interval(ctx.params.get("time") or ctx.params.get("datetime"), self.now())
        start_day = end_day = None
        if interval is not None:
            start_day = interval[0] and _first_day_at_or_after(interval[0])
            end_day = interval[1] and interval[1].date()
        rows = []
        for s in series:
            for t in self._candidate_times(s, start_day, end_day, lm_interval):
                row = s.row(t, self.today)
                if keep(row):
                    rows.append((s, row))
        # Pages come in feature-UUID order, not time order: the real daily collection does exactly this, for one
        # series or many (rows of many series interleave). Every page sorts the whole answer, not the catalog.
        rows.sort(key=lambda item: item[1].feature_id)
        items = q.after_cursor(rows, lambda item: item[1].feature_id, ctx.params.get("cursor"))
        return self.page(ctx, items, lambda item: item[1].feature_id, render)

    def _continuous(self: FakeUSGS, ctx: q.Context) -> dict:
        series, keep, render, lm_interval = self._data_common(ctx, "continuous")
        now = self.now()
        interval = q.parse_interval(ctx.params.get("time") or ctx.params.get("datetime"), now)
        if interval is None:
            start, end = now - timedelta(days=365), now  # no time: only the most recent year
        else:
            start, end = interval[0], interval[1] or now
            # An open start is an unbounded envelope; the real service measures the envelope the same way.
            if start is None or end - start > timedelta(days=q.CONTINUOUS_MAX_DAYS):
                raise q.QueryError(400, q.TIME_ENVELOPE_BODY)
        cursor = ctx.params.get("cursor")
        if len(series) > 1:
            return self._continuous_interleaved(ctx, series, keep, render, lm_interval, start, end, cursor)
        after_id, after_time = "", None
        if cursor:
            after_id, _, stamp = q.decode_cursor(cursor).partition("|")
            try:
                after_time = q.parse_instant(stamp)
            except ValueError as exc:
                raise q.bad_value("Invalid cursor") from exc

        def rows() -> Iterator[tuple[Series, Row]]:
            # One series: ordered by time, cursor "series id|time" as recorded from v1; generated lazily.
            for s in series:
                if s.id < after_id:
                    continue
                lo = start
                if s.id == after_id and after_time is not None:
                    lo = max(start, after_time + timedelta(microseconds=1))
                for t in self._candidate_times(s, lo, end, lm_interval):
                    row = s.row(t, self.today)
                    if keep(row):
                        yield s, row

        def cursor_of(item: tuple[Series, Row]) -> str:
            return f"{item[0].id}|{item[1].time.isoformat(sep=' ')}"

        return self.page(ctx, rows(), cursor_of, render)

    def _continuous_interleaved(self: FakeUSGS, ctx, series, keep, render, lm_interval, start, end, cursor) -> dict:
        """Many series: rows of all of them interleaved, ordered by (time, series id), cursor "time|series id".

        The real service promises no order for multi-site answers; this one is the hardest plausible for a client
        (every page mixes series, no series' rows are contiguous). heapq.merge keeps it lazy: a page computes its
        own rows plus one look-ahead row per series.
        """
        after: tuple[datetime, str] | None = None
        lo = start
        if cursor:
            stamp, _, after_id = q.decode_cursor(cursor).rpartition("|")
            try:
                after = (q.parse_instant(stamp), after_id)
            except ValueError as exc:
                raise q.bad_value("Invalid cursor") from exc
            lo = max(start, after[0])

        def rows_of(s: Series) -> Iterator[tuple[datetime, str, Series, Row]]:
            for t in self._candidate_times(s, lo, end, lm_interval):
                if after is not None and (t, s.id) <= after:
                    continue
                row = s.row(t, self.today)
                if keep(row):
                    yield t, s.id, s, row

        merged = (item[2:] for item in heapq.merge(*(rows_of(s) for s in series), key=lambda i: (i[0], i[1])))

        def cursor_of(item: tuple[Series, Row]) -> str:
            return f"{item[1].time.isoformat(sep=' ')}|{item[0].id}"

        return self.page(ctx, merged, cursor_of, render)

    def _candidate_times(self: FakeUSGS, s: Series, lo, hi, lm_interval) -> Iterator:
        """The times of ``s`` in [lo, hi] that can pass a ``last_modified`` filter starting at lm_interval[0], oldest
        first (a superset: the filter itself is applied to each row).

        An untouched provisional row is stamped within a day (daily: the next morning) or an hour (continuous) of
        its time, an approved one APPROVAL_LAG_DAYS + 1 days later (data.Series.row): so a sweep needs the recent
        times, the approved times stamped since, and whatever was revised. Keeps the revision pass of thousands of
        series over long windows cheap, as the real service's index does."""
        until = self.now()
        lm_start = lm_interval[0] if lm_interval else None
        if lm_start is None or any(stamp >= lm_start for _, stamp in s.approvals):
            return s.times(lo, hi, self.today, until)
        lag = timedelta(days=APPROVAL_LAG_DAYS + 2)
        if s.kind == "daily":
            recent, approved_from = lm_start.date() - timedelta(days=2), lm_start.date() - lag
            approved_to = self.today - timedelta(days=APPROVAL_LAG_DAYS + 1)
        else:
            recent, approved_from = lm_start - timedelta(hours=2), lm_start - lag
            approved_to = utc_midnight(self.today - timedelta(days=APPROVAL_LAG_DAYS)) - timedelta(microseconds=1)
        spans = [(approved_from, approved_to), (recent, hi)]
        spans = [(a if lo is None else max(a, lo), b if hi is None else min(b, hi)) for a, b in spans]
        spans = [(a, b) for a, b in spans if b is None or a <= b]
        if len(spans) == 2 and spans[1][0] <= spans[0][1]:
            spans = [(spans[0][0], spans[1][1])]

        def inside(t) -> bool:
            return any(a <= t and (b is None or t <= b) for a, b in spans)

        revised = sorted(
            t for t in s.revisions if (lo is None or lo <= t) and (hi is None or t <= hi) and not inside(t)
        )
        return heapq.merge(revised, *(s.times(a, b, self.today, until) for a, b in spans))

    def _latest(self: FakeUSGS, ctx: q.Context, kind: str) -> dict:
        series, keep, render, _ = self._data_common(ctx, kind)
        rows = []
        for s in series:
            last = s.last_time(self.today, self.now())
            if last >= s.first_time():
                row = s.row(last, self.today)
                if keep(row):
                    rows.append((s, row))
        items = q.after_cursor(rows, lambda item: item[0].id, ctx.params.get("cursor"))
        return self.page(ctx, items, lambda item: item[0].id, render)

    # -- metadata and locations

    def _series_properties(self: FakeUSGS, s: Series) -> dict:
        st = s.station
        offset = timedelta(hours=UTC_OFFSET_HOURS.get(st.time_zone_abbreviation, 5))
        first, last = s.first_time(), s.last_time(self.today, self.now())
        if s.kind == "daily":
            first, last = datetime.combine(first, time(0)), datetime.combine(last, time(0))
        else:
            first, last = (first - offset).replace(tzinfo=None), (last - offset).replace(tzinfo=None)
        stamp = datetime.combine(self.today, time(7, 12, 3, 5607))
        return {
            "id": s.id,
            "monitoring_location_id": st.monitoring_location_id,
            "parameter_code": s.parameter_code,
            "parameter_name": s.parameter.name,
            "parameter_description": s.parameter.description,
            "statistic_id": s.data_statistic if s.kind == "daily" else None,  # Points series carry no statistic
            "computation_identifier": (
                COMPUTATION[s.data_statistic]
                if s.kind == "daily"
                else ("Decumulated" if s.parameter_code == "00045" else "Instantaneous")
            ),
            "computation_period_identifier": "Daily" if s.kind == "daily" else "Points",
            "primary": "Primary" if s.primary else None,
            "unit_of_measure": s.parameter.unit,
            # As recorded: begin/end are naive local times, begin_utc/end_utc carry the offset.
            "begin": first.isoformat(timespec="microseconds"),
            "end": last.isoformat(timespec="microseconds"),
            "begin_utc": (first + offset).replace(tzinfo=UTC).isoformat(),
            "end_utc": (last + offset).replace(tzinfo=UTC).isoformat(),
            "last_modified": stamp.isoformat(),
            "hydrologic_unit_code": st.huc,
            "state_name": st.state_name,
            "sublocation_identifier": None,
            "parent_time_series_id": None,
            "web_description": None,
            "data_gap_interval": None if s.kind == "daily" else f"PT{3 * (st.continuous_interval or 15)}M",
            "thresholds": [],
        }

    def _metadata(self: FakeUSGS, ctx: q.Context) -> dict:
        p = ctx.params
        names = q.requested_properties(p.get("properties"), METADATA_ALLOWED)
        skip = p.get("skipGeometry", "false").lower() == "true"
        rows = []
        for s in self._select_series(None, p):
            props = self._series_properties(s)
            if any(
                (wanted := q.csv_values(p.get(name))) and props[name] not in wanted
                for name in (
                    "statistic_id",
                    "computation_period_identifier",
                    "computation_identifier",
                    "primary",
                )
            ):
                continue
            rows.append((s, props))
        items = q.after_cursor(rows, lambda item: item[0].id, p.get("cursor"))

        def render(item: tuple[Series, dict]) -> dict:
            s, props = item
            geometry = None if skip else _point(s.station)
            return {"type": "Feature", "properties": _pick(props, names, s.id, s.station), "id": s.id,
                    "geometry": geometry}  # fmt: skip

        return self.page(ctx, items, lambda item: item[0].id, render)

    def _locations(self: FakeUSGS, ctx: q.Context) -> dict:
        p = ctx.params
        names = q.requested_properties(p.get("properties"), LOCATION_ALLOWED)
        skip = p.get("skipGeometry", "false").lower() == "true"
        ids = q.csv_values(p.get("id")) or q.csv_values(p.get("monitoring_location_id"))
        bbox = q.csv_values(p.get("bbox"))
        if bbox is not None:
            try:
                west, south, east, north = (float(v) for v in bbox[:4])
            except ValueError as exc:
                raise q.bad_value("bbox must be minLon,minLat,maxLon,maxLat") from exc
        stations = []
        for st in self.stations_sorted:
            if ids and st.monitoring_location_id not in ids:
                continue
            if bbox is not None and not (west <= st.longitude <= east and south <= st.latitude <= north):
                continue
            if self._station_matches(st, p):
                stations.append(st)
        items = q.after_cursor(stations, lambda st: st.monitoring_location_id, p.get("cursor"))

        def render(st: FakeStation) -> dict:
            props = _pick(location_properties(st), names, st.monitoring_location_id, st)
            return {"type": "Feature", "properties": props, "id": st.monitoring_location_id,
                    "geometry": None if skip else _point(st)}  # fmt: skip

        return self.page(ctx, items, lambda st: st.monitoring_location_id, render)

    def _location_item(self: FakeUSGS, location_id: str, p: dict, link_base: str, headers: dict) -> Response:
        from tests.fakeusgs.server import _json

        st = self.by_id.get(location_id)
        if st is None:
            return _json(404, q.NOT_FOUND_BODY, headers)
        skip = p.get("skipGeometry", "false").lower() == "true"
        href = f"{link_base}/collections/monitoring-locations/items/{location_id}?f=json"
        feature = {
            "type": "Feature",
            "properties": location_properties(st),
            "id": location_id,
            "geometry": None if skip else _point(st),
            "links": [
                {
                    "rel": "self",
                    "type": "application/geo+json",
                    "title": "This document as JSON",
                    "href": href,
                }
            ],
        }
        return _json(200, feature, headers)
