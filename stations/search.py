"""The station search: filters → a page of locations plus a count that stays cheap over millions of rows.

Counts are capped: counting every match of a very common word (or the whole catalog) costs a scan, so past
COUNT_CAP matches the page says "more than 10,000" instead of a number. The cap is shown as such, never passed
off as the total.

Name words are matched against `search_name`, where punctuation is gone and NWIS abbreviations are their words
("TRINITY RV" is " trinity river "); each query word is read the same way ("nr" → "near", "st" → "saint"), so
the short hand and the written-out word find each other both ways. The list, and how it was built from the
catalog's own names, is in stations/names.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection

from .models import MonitoringLocation
from .names import query_word, tokens

PAGE_SIZE = 50
COUNT_CAP = 10_000
# Name words are matched by a lossy trigram index: every counted row costs a heap visit and a recheck, so their
# count stops sooner (10,000 rechecks of a common word cost ~25 ms at 1M rows; 1,000 cost ~3 ms).
WORD_COUNT_CAP = 1_000
# Past a capped count the last page is unknown, so the page number is taken as asked, up to this: OFFSET stays a
# small number (an unbounded one overflows bigint, a 500) and deep pages cost no more than 50,000 skipped rows.
MAX_PAGE = 1_000
SITE_NUMBER_RE = re.compile(r"^\d{1,15}$")
LOCATION_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,9}-\d*$")
# A name word is searched only with a run of 3 letters or digits once read as its word (stations.names: "nw" is
# "northwest", "n" "north"): the trigram index has nothing to look up for shorter ones ("a", "_", "dc"), so each
# would scan every name (1-1.5 s over 1M stations). They are ignored, and the page says so. One rule for every
# word: an abbreviation is never ignored, whatever its length, and nothing else under 3 letters is searched.
USABLE_WORD_RE = re.compile(r"[^\W_]{3}")


@dataclass
class SearchResult:
    locations: list[MonitoringLocation]
    page: int
    count: int  # exact when not capped; COUNT_CAP otherwise
    capped: bool
    has_next: bool
    estimated_total: int | None = None  # the catalog's estimated size, for a capped unfiltered search
    filters: dict = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def start_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.locations else 0

    @property
    def end_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.locations)

    @property
    def num_pages(self) -> int | None:
        return None if self.capped else max(1, -(-self.count // PAGE_SIZE))


def parse_query(q: str) -> tuple[str, str | list[str]]:
    """What the free text means: ("site", "0164"), ("id", "USGS-0164"), ("words", [...]) or ("none", "")."""
    text = q.strip()
    if not text:
        return "none", ""
    if SITE_NUMBER_RE.match(text):
        return "site", text
    if LOCATION_ID_RE.match(text):
        return "id", text.upper()
    words = [query_word(token) for token in tokens(text)]
    words = list(dict.fromkeys(word for word in words if USABLE_WORD_RE.search(word)))
    return ("words", words) if words else ("none", "")


def short_words(q: str) -> list[str]:
    """The typed terms a name search ignores (too short to search, even read as an abbreviation), to tell the
    user."""
    if parse_query(q)[0] in ("site", "id"):
        return []
    return [term for term in q.split() if not any(USABLE_WORD_RE.search(query_word(t)) for t in tokens(term))]


def search_queryset(q: str = "", state: str = "", huc: str = "", series: str = "", bbox: str = "", parameter: str = ""):
    qs = MonitoringLocation.objects.in_state(state).huc_prefix(huc).with_series(series).has_parameter(parameter)
    if bbox:  # already checked by SearchForm.clean_bbox: "west,south,east,north"
        west, south, east, north = (float(part) for part in bbox.split(","))
        qs = qs.filter(longitude__gte=west, longitude__lte=east, latitude__gte=south, latitude__lte=north)
    kind, value = parse_query(q)
    if kind == "site":
        qs = qs.site_number_prefix(value)
    elif kind == "id":
        qs = qs.location_id_prefix(value)
    elif kind == "words":
        qs = qs.name_has_words(value)
    # site_number order: the (state_code, site_number) and site_number btrees return rows already sorted.
    return qs.order_by("site_number", "monitoring_location_id")


def capped_count(qs, cap: int | None = None) -> tuple[int, bool]:
    """min(count, cap + 1) in one query (COUNT over a LIMITed subquery); returns (count, capped)."""
    cap = COUNT_CAP if cap is None else cap
    n = qs.order_by()[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


def estimated_catalog_size() -> int | None:
    """PostgreSQL's own row estimate (kept by autovacuum/ANALYZE); None elsewhere or before the first ANALYZE."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [MonitoringLocation._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else None


def run_search(filters: dict, page: int = 1) -> SearchResult:
    qs = search_queryset(**filters)
    words = parse_query(filters.get("q", ""))[0] == "words"
    count, capped = capped_count(qs, WORD_COUNT_CAP if words else None)
    last_page = max(1, -(-count // PAGE_SIZE)) if not capped else MAX_PAGE
    page = min(max(page, 1), last_page, MAX_PAGE)
    offset = (page - 1) * PAGE_SIZE
    # One extra row says whether there is a next page without counting the rest.
    rows = list(qs[offset : offset + PAGE_SIZE + 1])
    estimated = None
    if capped and not any(filters.values()):
        estimated = estimated_catalog_size()
    return SearchResult(
        locations=rows[:PAGE_SIZE],
        page=page,
        count=count,
        capped=capped,
        has_next=len(rows) > PAGE_SIZE and page < MAX_PAGE,
        estimated_total=estimated,
        filters=filters,
    )
