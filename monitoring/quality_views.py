"""Quality pages: a station series' quality (heat map, gaps, flags, shares) and a configuration's roll-up."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from pulls.models import PullConfiguration
from stations.models import MonitoringLocation, TimeSeries
from streamflow.htmx import wants_fragment
from streamflow.responses import plain_error

from .csv_safe import csv_stream
from .heavy_pages import heavy_page
from .quality import MONTHS, Quality, Thresholds, extent, series_quality
from .quality_rollup import SORTS, configuration_rollup

WORST_SHOWN = 5
ROLLUP_PER_PAGE = 100  # the roll-up page's table
COLUMNS = [
    ("station", "Station"),
    ("last_30", "Last 30 days"),
    ("last_water_year", "Last water year"),
    ("record", "Whole record"),
    ("provisional", "Provisional"),
    ("longest_gap", "Longest gap (365 d)"),
    ("flags", "Flags (365 d)"),
    ("newest", "Newest value"),
]
MONTH_NAMES = ("Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep")
# Drawn for a phone (362 units, shown at about its own width there, 12-px type) and shown up to 1.25 × on a desk.
CELL_W, CELL_H, LABEL_W, HEAD_H, HEATMAP_FONT = 25, 18, 62, 20, 12


class BadRange(ValueError):
    """The range asked for cannot be read; the message says why."""


def _date_param(request: HttpRequest, name: str) -> dt.date | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadRange(f"“{text}” is not a date: use YYYY-MM-DD.") from None
    if not 1800 <= day.year <= 2200:
        raise BadRange(f"{text} is outside any gage record: use a year between 1800 and 2200.")
    return day


@require_GET
@vary_on_headers("HX-Request")
@permission_required("stations.view_monitoringlocation", raise_exception=True)
@heavy_page
def station_quality(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    location = get_object_or_404(MonitoringLocation, monitoring_location_id=monitoring_location_id)
    kinds = sorted(set(location.series.values_list("kind", flat=True)))
    default = TimeSeries.Kind.CONTINUOUS if kinds == [TimeSeries.Kind.CONTINUOUS] else TimeSeries.Kind.DAILY
    kind = request.GET.get("kind") or default
    if kind not in TimeSeries.Kind.values:
        return plain_error("Unknown kind: use daily or continuous.")
    # No series yet (never pulled): the page says what to pull.
    series = location.series.filter(kind=kind).order_by("-primary", "pk").first()
    try:
        start, end = _date_param(request, "start"), _date_param(request, "end")
    except BadRange as exc:
        return plain_error(str(exc))
    if start and end and start > end:
        return plain_error("The start date is after the end date: swap them.")
    record = extent(series) if series is not None else None
    quality = None
    if record is not None:
        start, end = start or record[0], end or record[1]
        if start > end:
            return plain_error("The start date is after the end of the record: choose an earlier start.")
        quality = series_quality(series, start, end)
    context = {
        "location": location,
        "series": series,
        "kind": kind,
        "kinds": kinds,
        "record": record,
        "start": start,
        "end": end,
        "quality": quality,
        "heatmap": heatmap(quality) if quality and quality.present else "",
        "thresholds": Thresholds.from_settings(),
    }
    template = "monitoring/quality.html"
    if wants_fragment(request):
        template += "#quality-body"
    return render(request, template, context)


def _color(percent: float | None) -> str:
    if percent is None:
        return "#e9ecef"
    if percent >= 99.5:
        return "#198754"
    if percent >= 90:
        return "#75b798"
    if percent >= 50:
        return "#ffc107"
    return "#dc3545"


def heatmap(quality: Quality) -> SafeString:
    """Water years (rows) × months October–September (columns): one cell per month of the range."""
    years = quality.water_years
    width, height = LABEL_W + 12 * CELL_W, HEAD_H + len(years) * CELL_H
    head = format_html_join(
        "",
        '<text x="{}" y="14" text-anchor="middle" font-size="{}">{}</text>',
        ((LABEL_W + i * CELL_W + CELL_W // 2, HEATMAP_FONT, name) for i, name in enumerate(MONTH_NAMES)),
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="end" font-size="{}">WY {}</text>',
        ((LABEL_W - 4, HEAD_H + r * CELL_H + CELL_H - 5, HEATMAP_FONT, wy) for r, wy in enumerate(years)),
    )
    row_of = {wy: r for r, wy in enumerate(years)}
    # Every part of a cell is a number this function computed or one of its own constants: nothing to escape, and
    # escaping 12 arguments of 900 cells (75 water years) was a third of the page's time.
    cells = mark_safe(  # noqa: S308 - numbers and constants only, see above
        "".join(
            f'<rect class="qcell" data-month="{m.water_year}-{m.month:02d}" '
            f'x="{LABEL_W + MONTHS.index(m.month) * CELL_W}" y="{HEAD_H + row_of[m.water_year] * CELL_H}" '
            f'width="{CELL_W - 1}" height="{CELL_H - 1}" fill="{_color(m.percent)}">'
            f"<title>WY {int(m.water_year)} {MONTH_NAMES[MONTHS.index(m.month)]}: "
            f"{'—' if m.percent is None else f'{m.percent:.1f} %'} ({int(m.present)} of {int(m.expected)})"
            "</title></rect>"
            for m in quality.months.values()
        )
    )
    return format_html(
        '<svg id="quality-heatmap" role="img" aria-label="Completeness by water year and month" '
        'viewBox="0 0 {} {}" width="100%" style="max-width: {}px" font-family="sans-serif" '
        'xmlns="http://www.w3.org/2000/svg">{}{}{}</svg>',
        width,
        height,
        int(width * 1.25),
        head,
        labels,
        cells,
    )


# --- Configuration roll-up -------------------------------------------------------------------------------


def _rollup_context(request: HttpRequest, config: PullConfiguration) -> dict:
    rows = configuration_rollup(config, timezone.now())
    sort = request.GET.get("sort", "worst")
    if sort not in SORTS:
        sort = "worst"
    descending = request.GET.get("dir") == "desc"
    if sort != "worst":
        rows.sort(key=SORTS[sort], reverse=descending)
    return {"configuration": config, "rows": rows, "sort": sort, "descending": descending, "columns": COLUMNS}


def _paged(request: HttpRequest, context: dict) -> dict:
    """The page's rows, ROLLUP_PER_PAGE at a time (the CSV keeps them all): 12,000 stations made a 3.6 MB page."""
    page = Paginator(context["rows"], ROLLUP_PER_PAGE).get_page(request.GET.get("page"))
    return {**context, "rows": page.object_list, "page": page}


@require_GET
@vary_on_headers("HX-Request")
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
@heavy_page
def configuration_quality(request: HttpRequest, pk: int) -> HttpResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    context = _paged(request, _rollup_context(request, config))
    context["thresholds"] = Thresholds.from_settings()
    template = "monitoring/quality_rollup.html"
    if wants_fragment(request):
        template += "#rollup-table"
    return render(request, template, context)


@require_GET
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_quality_worst(request: HttpRequest, pk: int) -> HttpResponse:
    """The configuration page's "worst stations" box (loaded into it with hx-get)."""
    config = get_object_or_404(PullConfiguration, pk=pk)
    rows = configuration_rollup(config, timezone.now())[:WORST_SHOWN]
    return render(request, "monitoring/quality_rollup.html#quality-worst", {"configuration": config, "rows": rows})


@require_GET
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
@heavy_page
def configuration_quality_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    rows = _rollup_context(request, config)["rows"]
    header = [
        "monitoring_location_id",
        "name",
        "completeness_last_30_days_pct",
        "completeness_last_water_year_pct",
        "completeness_record_pct",
        "provisional_pct",
        "longest_gap_days_last_365",
        "flags_last_365",
        "newest",
        "newest_value",
    ]

    def lines():
        for r in rows:
            yield [
                r.location.monitoring_location_id,
                r.location.name,
                _rounded(r.last_30),
                _rounded(r.last_water_year),
                _rounded(r.record),
                _rounded(r.provisional),
                None if r.longest_gap is None else round(r.longest_gap.total_seconds() / 86400, 3),
                r.flags,
                None if r.newest is None else r.newest.isoformat(),
                r.newest_value,
            ]

    response = StreamingHttpResponse(csv_stream(header, lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="quality-{config.pk}.csv"'
    return response


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
