"""The USGS Statistics API (``/statistics/v0``) and the ``time-series-revisions`` collection: queries and parsers,
without Django (``shared/usgs/STATISTICS-PARAMETERS.md`` §A, §B).

observationNormals is not an OGC API: multi-valued parameters are **repeated keys** (never comma lists), a page
counts monitoring locations (``page_size``, default 1000), and the next page is the same request plus
``next_token=<"next" of the previous page>`` until ``next`` is null, missing or empty — through empty pages too.
Values are strings; a percentile the record is too short for is the string ``"nan"`` (→ None here).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from acquisition.usgs.errors import USGSError
from acquisition.usgs.parsers import parse_instant
from acquisition.usgs.transport import Transport

DEFAULT_STATISTICS_URL = "https://api.waterdata.usgs.gov/statistics/v0"
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)  # the fixed set the API returns (§A.3)
NORMAL_COMPUTATIONS = ("minimum", "maximum", "percentile")  # min/max do not come with percentiles (§A.7)
MAX_URL_BYTES = 8000
PAGE_SIZE = 1000  # locations a page: the documented default


@dataclass
class DayNormal:
    """The statistics of one parent series for one time of year (a DOY "MM-DD" or a MOY "MM")."""

    monitoring_location_id: str
    parent_time_series_id: str
    parameter_code: str | None
    parent_statistic_id: str | None
    unit: str | None
    time_of_year: str
    kind: str  # "day_of_year" | "month_of_year"
    percentiles: dict[int, float | None] = field(default_factory=dict)  # 5 → value (None where "nan")
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    median: float | None = None
    sample_count: int | None = None  # the percentiles' count (else the largest count seen)


@dataclass(frozen=True)
class RevisionNote:
    """A row of time-series-revisions: USGS's note about a revised period of one series (begin/end UTC)."""

    id: str
    monitoring_location_id: str | None
    time_series_id: str
    note: str
    begin: datetime | None
    end: datetime | None


def number(raw: Any) -> float | None:
    """A statistics value ("411.413", "nan", null, 12) as a finite float or None."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _count(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None


def parse_normals_page(obj: Any) -> list[DayNormal]:
    """Every (location, parent series, time of year) of a page, its computations merged into one DayNormal."""
    if not isinstance(obj, dict):
        raise ValueError("an observationNormals answer must be a JSON object")
    out: dict[tuple[str, str, str, str], DayNormal] = {}
    for feature in obj.get("features") or ():
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            continue
        site = str(props.get("monitoring_location_id") or "")
        for entry in props.get("data") or ():
            if not isinstance(entry, dict) or not entry.get("parent_time_series_id"):
                continue
            parent = str(entry["parent_time_series_id"])
            for row in entry.get("values") or ():
                if not isinstance(row, dict):
                    continue
                kind, when = row.get("time_of_year_type"), row.get("time_of_year")
                if kind not in ("day_of_year", "month_of_year") or not isinstance(when, str):
                    continue
                key = (site, parent, kind, when)
                normal = out.get(key)
                if normal is None:
                    normal = out[key] = DayNormal(
                        site, parent, entry.get("parameter_code"), entry.get("parent_statistic_id"),
                        entry.get("unit_of_measure"), when, kind,
                    )  # fmt: skip
                computation, count = row.get("computation"), _count(row.get("sample_count"))
                if computation == "percentile":
                    labels, values = row.get("percentiles") or [], row.get("values") or []
                    for label, value in zip(labels, values, strict=False):
                        pct = number(label)
                        if pct is not None and int(pct) in PERCENTILES:
                            normal.percentiles[int(pct)] = number(value)
                    normal.sample_count = count  # the count behind the percentiles wins
                    continue
                attr = {"minimum": "minimum", "maximum": "maximum", "arithmetic_mean": "mean", "median": "median"}
                if computation in attr:
                    setattr(normal, attr[computation], number(row.get("value")))
                    if count is not None and normal.sample_count is None:
                        normal.sample_count = count
    return list(out.values())


def parse_revisions_page(obj: Any) -> list[RevisionNote]:
    out = []
    for feature in (obj or {}).get("features") or ():
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict) or not props.get("time_series_id") or not props.get("revision_note"):
            continue
        try:
            begin, end = parse_instant(props.get("begin")), parse_instant(props.get("end"))
        except ValueError:
            begin = end = None
        out.append(RevisionNote(str(props.get("id") or feature.get("id") or ""), props.get("monitoring_location_id"),
                                str(props["time_series_id"]), str(props["revision_note"]), begin, end))  # fmt: skip
    return out


class StatisticsClient(Transport):
    """GETs against the Statistics API (its own base URL, the same key, retries and quota as the data client)."""

    def __init__(self, base_url: str = DEFAULT_STATISTICS_URL, api_key: str | None = None, **options: Any) -> None:
        self.page_size = options.pop("page_size", PAGE_SIZE)
        super().__init__(base_url, api_key, **options)

    def _url(self, service: str, params: list[tuple[str, str]]) -> str:
        return f"{self.base_url}/{service}?" + urlencode(params, safe=":")

    def location_chunks(self, ids: Iterable[str], fixed: list[tuple[str, str]]) -> Iterator[list[str]]:
        """Location ids split so every request URL (with a next_token) stays under MAX_URL_BYTES."""
        budget = MAX_URL_BYTES - 200 - len(self._url("observationNormals", fixed).encode())
        chunk: list[str] = []
        size = 0
        for value in dict.fromkeys(ids):
            add = len(urlencode([("monitoring_location_id", value)])) + 1
            if chunk and size + add > budget:
                yield chunk
                chunk, size = [], 0
            chunk.append(value)
            size += add
        if chunk:
            yield chunk

    def normals_pages(
        self,
        monitoring_location_ids: Iterable[str],
        *,
        parameter_codes: Iterable[str] = (),
        computation_types: Iterable[str] = NORMAL_COMPUTATIONS,
        normal_type: str | None = "DOY",
    ) -> Iterator[list[DayNormal]]:
        """observationNormals of many locations, page by page as parsed (repeated keys, next_token paging)."""
        fixed: list[tuple[str, str]] = [("parameter_code", p) for p in parameter_codes]
        fixed += [("computation_type", c) for c in computation_types]
        if normal_type:
            fixed.append(("normal_type", normal_type))
        fixed.append(("page_size", str(self.page_size)))
        for chunk in self.location_chunks(monitoring_location_ids, fixed):
            base = [("monitoring_location_id", site) for site in chunk] + fixed
            seen: set[str] = set()
            token: str | None = None
            for number_ in range(1, self.max_pages + 1):
                url = self._url("observationNormals", base + ([("next_token", token)] if token else []))
                page = self._get_json(url)
                features = page.get("features") or []
                self._event(
                    "page",
                    f"observationNormals page {number_}: {len(features)} locations",
                    {"url": url, "status": 200, "attempt": self._attempts, "page": number_,
                     "features": len(features), "ratelimit_remaining": self.ratelimit_remaining},
                )  # fmt: skip
                yield parse_normals_page(page)
                token = page.get("next") or None
                if token is None:
                    break
                if not isinstance(token, str) or token in seen:
                    raise USGSError(
                        f"USGS sent the paging token {str(token)[:60]!r} twice (or not as text) for {url}; stopping "
                        "rather than looping. Try again later; if it persists, report it to USGS.",
                        code="CURSOR_REPEATED",
                        url=url,
                    )
                seen.add(token)
            else:
                raise USGSError(
                    f"USGS kept sending next tokens after {self.max_pages} pages of observationNormals; stopped.",
                    code="TOO_MANY_PAGES",
                    url=url,
                )


def revisions_pages(client: Any, monitoring_location_ids: list[str]) -> Iterator[list[RevisionNote]]:
    """time-series-revisions of many sites through the OGC data client (comma lists, next links; rare small rows:
    fetch everything for the site and test overlap on our side, §B.3)."""
    for chunk in client._chunks("time-series-revisions", {}, "monitoring_location_id", monitoring_location_ids):
        for page in client.get_pages("time-series-revisions", {"monitoring_location_id": chunk}):
            yield parse_revisions_page(page)
