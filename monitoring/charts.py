"""Server-side SVG charts: a hydrograph downsampled to the plot width, and small bar charts for statistics.

The hydrograph draws the values themselves while a pixel column holds at most two of them; beyond that it keeps
two points (the minimum and the maximum, in time order) per pixel column of each line segment, so 100,000 values
become a few thousand points that look the same on screen: peaks and troughs survive, which averaging would flatten.
Lines break at gaps (a null value or a missing interval) and where the approval status changes, so provisional
values can be drawn differently from approved ones.

Marks (`Mark`, each with a <title> naming its kind, times and count, and a legend entry per kind present):
- gaps longer than the quality tolerance: light grey vertical bands over the plot's height;
- values carrying qualifiers (ESTIMATED, ICE, EQUIPMENT, …): a purple band along the bottom of the plot, one per run
  of consecutive values with the same qualifiers (one per run of pixel columns where the rows were reduced);
- screening flags (monitoring.quality's rules): runs of negative values, zeros and flat lines as bands along the top
  of the plot (red, orange, brown), a spike as a ring around its value.
The SVG stays bounded: a kind with more than MAX_MARKS marks is drawn as at most MAX_MARKS bands, neighbours closer
than plot width / MAX_MARKS merged into one (its title says how many it holds). A spike merged with others becomes
a band along the top.

Log axis (`log=True`): decades (1, 10, 100, …) with minor ticks at 2 and 5 where a decade is tall enough; values
≤ 0 cannot be drawn there, so they are left out of the line (it breaks as at a missing value) and counted.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.html import escape

from stations.parameters import unit_in_words

from . import normal_bands
from .hydrograph_mark_drawing import MARK_STYLE, STRIP, Mark, Plot, bands

APPROVED_STYLE = 'stroke="#1f6feb" stroke-width="1.5"'
PROVISIONAL_STYLE = 'stroke="#d9480f" stroke-width="1.5" stroke-dasharray="5 3"'
# The largest magnitude drawn. Any stored value beyond it (inf, -inf, 1.79e308) or not a number at all (NaN) is
# drawn as a gap, like a missing value: no river comes near it, and below it the axis arithmetic cannot overflow.
MAX_DRAWN = 1e300
MAX_TICKS = 20


@dataclass
class Segment:
    provisional: bool
    points: list[tuple[float, float]] = field(default_factory=list)  # (x px, y px)
    joined: bool = False  # starts with the previous segment's last point (not a value of its own)


@dataclass
class Hydrograph:
    svg: str
    points: int  # coordinates drawn
    values: int  # values in the range (nulls included)
    provisional: int
    log: bool = False
    nonpositive: int = 0  # values ≤ 0 left out of a log axis
    marks: dict[str, int] = field(default_factory=dict)  # kind: marks of the data (before merging)


def unit_label(unit: str) -> str:
    """The series' unit string in words (stations.parameters.unit_in_words: "degC" → "°C"), unknown ones as given."""
    return unit_in_words(unit)


@dataclass(frozen=True)
class Stored:
    """What the stored values of the range were, where the rows cannot tell: when the database reduced them to the
    minimum and maximum of each pixel column (`export.ChartData`). None: counted from the rows themselves."""

    values: int | None = None  # values in the range (nulls included)
    provisional: int | None = None
    nonpositive: int | None = None  # values <= 0
    gap: float | None = None  # seconds between rows that break the line; None: inferred from their usual step


@dataclass(frozen=True)
class Layout:
    """Type and margins for a drawing width: a phone's chart is drawn at about the pixels it shows, so its text
    keeps the size given here instead of shrinking with a 1000-unit drawing."""

    font: int  # user units; on screen about the same pixels, the SVG being shown near its own width
    left: int  # room for the y labels and the rotated axis title
    x_ticks: int  # at most this many time labels
    char_w: float  # an average character's width, to lay out the legend
    compact: bool = False  # y labels as 20k, 1.5M: a phone has no room for "1,500,000" beside the axis title

    @property
    def bottom(self) -> int:
        return 2 * self.font + 18  # tick labels and the axis title under the plot


WIDE = Layout(font=11, left=64, x_ticks=8, char_w=7)
PHONE = Layout(font=14, left=60, x_ticks=3, char_w=8.2, compact=True)
PHONE_WIDTH, PHONE_HEIGHT = 360, 320  # a 390-px phone shows the chart at 340-366 px: its text stays 13-14 px


def layout_for(width: int) -> Layout:
    return PHONE if width < 600 else WIDE


@dataclass(frozen=True)
class HydrographSpec:
    """How to draw a hydrograph's rows: the time range, the axes, the size, the marks."""

    start: float  # epoch seconds
    end: float
    daily: bool  # the time axis in dates (UTC midnights, as daily values are stored), not in times of `tz`
    unit: str
    axis_label: str = "Discharge"  # the parameter's name (stations.parameters), before the unit on the y axis
    width: int = 1000
    height: int = 360
    title: str = ""
    tz: dt.tzinfo = dt.UTC  # continuous data: the station's zone, named `zone_label` under the time axis
    zone_label: str = "UTC"
    marks: Sequence[Mark] = ()
    log: bool = False  # a log axis, unless no value is above 0 (then linear, and the result says `log=False`)
    stored: Stored = Stored()
    normals: Sequence[normal_bands.Day] = ()  # daily charts: the percentile bands of the days shown (issue 24)


def hydrograph(rows: Iterable[tuple[float, float | None, bool]], spec: HydrographSpec) -> Hydrograph:
    """rows: (epoch seconds, value or None, provisional) in time order, from `export.chart_data()`."""
    rows = rows if isinstance(rows, list) else list(rows)
    layout = layout_for(spec.width)
    left, right, top, bottom = layout.left, 16, 16, layout.bottom
    plot_w, plot_h = spec.width - left - right, spec.height - top - bottom
    span = max(spec.end - spec.start, 1.0)
    known = [v for _, v, _ in rows if v is not None]
    if not all(-MAX_DRAWN <= v <= MAX_DRAWN for v in known):  # False for NaN too
        rows = [(t, v if v is not None and -MAX_DRAWN <= v <= MAX_DRAWN else None, p) for t, v, p in rows]
        known = [v for _, v, _ in rows if v is not None]
    stored = spec.stored
    below = sum(1 for v in known if v <= 0) if stored.nonpositive is None else stored.nonpositive
    log = spec.log and any(v > 0 for v in known)
    if log:  # drawn in log10 space from here on; a value <= 0 is a break in the line, like a missing one
        rows = [(t, math.log10(v) if v is not None and v > 0 else None, p) for t, v, p in rows]
        known = [v for _, v, _ in rows if v is not None]
        ymin, ymax = _log_range(known + normal_bands.values(spec.normals, True))
    else:
        ymin, ymax = _y_range(known + normal_bands.values(spec.normals, False))
    xscale, yscale = plot_w / span, plot_h / (ymax - ymin)

    gap = stored.gap or _gap_threshold(rows, spec.daily)
    segments = _segments(rows, spec.start, xscale, left, top + plot_h, ymin, yscale, gap)
    values = len(rows) if stored.values is None else stored.values
    title = escape(spec.title or "Hydrograph")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {spec.width} {spec.height}" width="100%" role="img" '
        f'class="{"hydrograph-phone" if layout is PHONE else "hydrograph"}" aria-label="{title}" '
        f'font-size="{layout.font}" font-family="sans-serif" '
        f'data-values="{values}" data-points="{{points}}" '
        f'data-scale="{"log" if log else "linear"}">',
        f"<title>{title}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#ced4da"/>',
    ]
    y_axis = _log_axis if log else _y_axis
    unit = unit_label(spec.unit)
    details = [unit] if unit else []
    axis = f"{spec.axis_label} ({', '.join([*details, 'log scale'] if log else details)})"
    parts += y_axis(ymin, ymax, left, top, plot_w, plot_h, yscale, axis.removesuffix(" ()"), layout.compact)
    parts += _x_axis(spec, left, top + plot_h, plot_w, xscale, layout)
    step = 86400.0 if spec.daily else (span / values if values else 0.0)
    plot = Plot(left, top, plot_w, plot_h, spec.start, xscale, ymin, yscale, log, spec.daily, spec.tz, unit, step)
    by_kind: dict[str, list[Mark]] = {}
    for mark in spec.marks:
        by_kind.setdefault(mark.kind, []).append(mark)
    parts += bands(plot, by_kind.get("gap", []))
    parts += normal_bands.draw(plot, spec.normals)
    drawn = 0
    for segment in segments:
        style = PROVISIONAL_STYLE if segment.provisional else APPROVED_STYLE
        css = "series provisional" if segment.provisional else "series approved"
        drawn += len(segment.points) - segment.joined
        if len(segment.points) == 1:
            (x, y), color = segment.points[0], "#d9480f" if segment.provisional else "#1f6feb"
            parts.append(f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="1.5" fill="{color}"/>')
        else:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment.points)
            parts.append(f'<polyline class="{css}" fill="none" {style} points="{coords}"/>')
    if not known:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#6c757d">'
            "No values stored in this range.</text>"
        )
    for kind in ("qualified", "negative", "zero", "flat", "spike"):
        parts += bands(plot, by_kind.get(kind, []))
    kinds = [kind for kind in MARK_STYLE if kind in by_kind]
    kinds += list(normal_bands.BAND_LEGEND) if spec.normals else []
    if layout is PHONE:
        # A phone's plot is too small to share with the legend: it goes under the axis title, and the drawing
        # grows by its rows, so no entry covers the newest values.
        legend, legend_h = _legend(12, spec.height + 2, kinds, spec.width - 24, layout)
        height = spec.height + legend_h + 6
        parts[0] = parts[0].replace(f'viewBox="0 0 {spec.width} {spec.height}"', f'viewBox="0 0 {spec.width} {height}"')
        parts += legend
    else:
        parts += _legend(left + 8, top + STRIP + 4, kinds, plot_w - 16, layout)[0]
    parts.append("</svg>")
    parts[0] = parts[0].replace("{points}", str(drawn))
    provisional = sum(1 for _, _, p in rows if p) if stored.provisional is None else stored.provisional
    counts = {kind: sum(m.merged for m in found) for kind, found in by_kind.items()}
    return Hydrograph("".join(parts), drawn, values, provisional, log, below if log else 0, counts)


def _y_range(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if low >= 0 and low < 0.25 * high:
        low = 0.0  # discharge: show the zero line when the data come near it
    span = high - low
    # A flat line, or differences far below anything a discharge means (0 and 2e-308, 1e16 and 1e16 + 2), gets an
    # axis around its level, so the scale (pixels per unit) can neither overflow nor fall below float spacing.
    flat = span <= 1e-9 * max(abs(low), abs(high), 1.0)
    pad = max(abs(high) * 0.05, 1.0) if flat else span * 0.05
    return (low - pad if low != 0 else 0.0), high + pad


def _log_range(logs: Sequence[float]) -> tuple[float, float]:
    """Whole decades around the values (log10 of them): the axis starts and ends on a labelled tick."""
    if not logs:
        return 0.0, 1.0
    low, high = math.floor(min(logs) + 1e-9), math.ceil(max(logs) - 1e-9)
    return float(low), float(high if high > low else low + 1)


def _gap_threshold(rows: Sequence[tuple[float, float | None, bool]], daily: bool) -> float:
    if daily:
        return 1.5 * 86400
    if len(rows) < 3:
        return math.inf
    stride = max(1, len(rows) // 2000)  # a sample of steps is enough to find the usual interval
    steps = [rows[i + 1][0] - rows[i][0] for i in range(0, len(rows) - 1, stride)]
    return 2.5 * max(statistics.median(steps), 60.0)


def _segments(rows, start, xscale, x0, y0, ymin, yscale, gap) -> list[Segment]:
    """Split at gaps and status changes, keeping min and max per pixel column within each segment."""
    segments: list[Segment] = []
    current: Segment | None = None
    column = None
    lo = hi = None  # (t, value) of the column's minimum and maximum
    previous_t = None

    def flush():
        if current is None or lo is None:
            return
        # One value in the column is one point: min and max are the same (t, value) then.
        for t, v in ((lo, hi) if lo[0] <= hi[0] else (hi, lo)) if lo != hi else (lo,):
            current.points.append((x0 + (t - start) * xscale, y0 - (v - ymin) * yscale))

    for t, value, provisional in rows:
        if value is None:
            flush()
            current, column, lo, hi, previous_t = None, None, None, None, None
            continue
        broke = previous_t is not None and t - previous_t > gap
        if current is None or broke or provisional != current.provisional:
            flush()
            last = current.points[-1] if current and current.points and not broke else None
            current = Segment(provisional, joined=last is not None)
            segments.append(current)
            if last is not None:
                current.points.append(last)  # join a status change without a visual break
            column, lo, hi = None, None, None
        col = int((t - start) * xscale)
        if col != column:
            flush()
            column, lo, hi = col, (t, value), (t, value)
        else:
            if value < lo[1]:
                lo = (t, value)
            if value > hi[1]:
                hi = (t, value)
        previous_t = t
    flush()
    return segments


def _tick_label(tick: float, step: float, compact: bool = False) -> str:
    if compact and abs(tick) >= 1000 and abs(tick) < 1e15:
        for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(tick) >= size:
                return f"{tick / size:.3g}{suffix}"
    if abs(tick) >= 1e15:
        return f"{tick:.4g}"  # beyond any discharge: a short label rather than a row of digits
    return f"{tick:,.0f}" if step >= 1 else f"{tick:,.{max(0, -math.floor(math.log10(step)))}f}"


def _nice_step(raw: float) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _y_axis(ymin, ymax, left, top, plot_w, plot_h, yscale, axis, compact=False) -> list[str]:
    """`axis`: the axis title ("Water temperature (°C)")."""
    step = _nice_step((ymax - ymin) / 5)
    parts = []
    # Ticks by index, not by adding the step: where the step is below the spacing of floats at this magnitude
    # (1e16 and 1e16 + 2, step 0.5), `tick += step` would never move.
    first = math.ceil(ymin / step)
    last = min(math.floor(ymax / step + 1e-9), first + MAX_TICKS)
    for n in range(first, last + 1):
        tick = n * step
        y = top + plot_h - (tick - ymin) * yscale
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e9ecef"/>')
        label = _tick_label(tick, step, compact)
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#495057">{label}</text>')
    mid = top + plot_h / 2
    parts.append(
        f'<text x="14" y="{mid:.0f}" transform="rotate(-90 14 {mid:.0f})" text-anchor="middle" '
        f'fill="#212529">{escape(axis)}</text>'
    )
    return parts


def _log_axis(lmin, lmax, left, top, plot_w, plot_h, yscale, axis, compact=False) -> list[str]:
    """Decades of the log10 range [lmin, lmax] (whole numbers), minor ticks at 2 and 5 where a decade has room."""
    decade_px = yscale  # pixels per decade: the scale is per unit of log10
    every = max(1, math.ceil((lmax - lmin) / MAX_TICKS))
    minors = (2, 5) if decade_px >= 28 and every == 1 else ()  # not inside decades whose line is skipped
    parts = []
    for k in range(int(lmin), int(lmax) + 1):
        for factor in (1, *minors):
            if factor == 1 and (k - int(lmin)) % every:
                continue
            value = factor * 10.0**k
            if math.log10(value) > lmax + 1e-9:
                break
            y = top + plot_h - (math.log10(value) - lmin) * yscale
            major = factor == 1
            parts.append(
                f'<line class="{"decade" if major else "minor"}" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="{"#dee2e6" if major else "#f1f3f5"}"/>'
            )
            if major or decade_px >= 60:
                parts.append(
                    f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                    f'fill="{"#495057" if major else "#868e96"}">{_tick_label(value, 10.0**k, compact)}</text>'
                )
    mid = top + plot_h / 2
    parts.append(
        f'<text x="14" y="{mid:.0f}" transform="rotate(-90 14 {mid:.0f})" text-anchor="middle" '
        f'fill="#212529">{escape(axis)}</text>'
    )
    return parts


_DAY = 86400
_SPANS = [(3600 * h, "%m-%d %H:%M") for h in (1, 3, 6, 12)] + [(_DAY * d, "%Y-%m-%d") for d in (1, 2, 7, 14)]
_MONTHS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600)


def _x_ticks(start: float, end: float, tz: dt.tzinfo = dt.UTC, most: int = 8) -> list[tuple[float, str]]:
    """ISO-style labels on round local times: midnights and whole hours of `tz`, the first of a month."""
    span = end - start
    for seconds, fmt in _SPANS:
        if span / seconds <= most:
            offset = dt.datetime.fromtimestamp(start, tz).utcoffset().total_seconds()
            first = math.ceil((start + offset) / seconds) * seconds - offset
            return [(t, _fmt(t, fmt, tz)) for t in _range(first, end, seconds)]
    months = next((m for m in _MONTHS if span / (m * 30.44 * _DAY) <= most), _MONTHS[-1])
    fmt = "%Y" if months >= 12 else "%Y-%m"
    first = dt.datetime.fromtimestamp(start, tz)
    index = first.year * 12 + first.month - 1
    if (first.day, first.hour, first.minute, first.second) != (1, 0, 0, 0):
        index += 1
    index = math.ceil(index / months) * months  # calendar-aligned: every January for yearly ticks
    ticks = []
    while True:
        year, month = divmod(index, 12)
        t = dt.datetime(year, month + 1, 1, tzinfo=tz).timestamp()
        if t > end:
            return ticks
        ticks.append((t, _fmt(t, fmt, tz)))
        index += months


def _x_axis(spec: HydrographSpec, left, baseline, plot_w, xscale, layout: Layout = WIDE) -> list[str]:
    parts = [f'<line x1="{left}" x2="{left + plot_w}" y1="{baseline}" y2="{baseline}" stroke="#adb5bd"/>']
    label_y, title_y = baseline + layout.font + 5, baseline + 2 * layout.font + 10
    for t, label in _x_ticks(spec.start, spec.end, dt.UTC if spec.daily else spec.tz, layout.x_ticks):
        x = left + (t - spec.start) * xscale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{baseline}" y2="{baseline + 4}" stroke="#adb5bd"/>')
        # Labels near the plot's edges are anchored inward so they are not cut off.
        edge = layout.char_w * len(label) / 2
        anchor = "end" if x > left + plot_w - edge else "start" if x < left + edge else "middle"
        parts.append(f'<text x="{x:.1f}" y="{label_y}" text-anchor="{anchor}" fill="#495057">{label}</text>')
    axis = "Date" if spec.daily else f"Time ({escape(spec.zone_label)})"
    parts.append(f'<text x="{left + plot_w / 2}" y="{title_y}" text-anchor="middle" fill="#212529">{axis}</text>')
    return parts


def _range(first: float, end: float, step: float) -> list[float]:
    out, t = [], first
    while t <= end:
        out.append(t)
        t += step
    return out


def _fmt(t: float, fmt: str, tz: dt.tzinfo = dt.UTC) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime(fmt)


def _legend(
    x: int, y: int, kinds: Sequence[str] = (), room: float = 900, layout: Layout = WIDE
) -> tuple[list[str], float]:
    """One row of entries where they fit in `room` units, else as many rows as they need; and its height."""
    line = layout.font + 6
    swatch_w = 22
    entries, at, row, widest = [], 0.0, 0, 0.0
    for kind in ("approved", "provisional", *kinds):
        band = normal_bands.BAND_LEGEND.get(kind)
        label = {"approved": "Approved", "provisional": "Provisional"}.get(kind)
        label = label or (band[1] if band else MARK_STYLE[kind][0])
        width = swatch_w + 4 + layout.char_w * len(label)
        if at and at + width > room:
            at, row = 0.0, row + 1
        top, mid = row * line, row * line + line / 2 - 3
        if kind == "approved":
            swatch = f'<line x1="{at}" x2="{at + swatch_w}" y1="{mid}" y2="{mid}" {APPROVED_STYLE}/>'
        elif kind == "provisional":
            swatch = f'<line x1="{at}" x2="{at + swatch_w}" y1="{mid}" y2="{mid}" {PROVISIONAL_STYLE}/>'
        elif kind in normal_bands.BAND_LEGEND:
            swatch = normal_bands.legend_swatch(kind, at, mid)
        elif kind == "spike":
            color = MARK_STYLE[kind][1]
            swatch = f'<circle cx="{at + 11}" cy="{mid}" r="4" fill="none" stroke="{color}" stroke-width="1.5"/>'
        else:
            color, opacity = MARK_STYLE[kind][1], ' fill-opacity="0.4"' if kind == "gap" else ""
            swatch = f'<rect x="{at + 5}" y="{mid - 5}" width="12" height="10" fill="{color}"{opacity}/>'
        text = f'<text x="{at + swatch_w + 4}" y="{top + layout.font}">{label}</text>'
        marked = kind in MARK_STYLE or kind in normal_bands.BAND_LEGEND
        entries.append(f'<g class="legend-{kind}">{swatch}{text}</g>' if marked else swatch + text)
        at += width + 12
        widest = max(widest, at)
    height = (row + 1) * line + 4
    return [
        f'<g class="legend" transform="translate({x},{y})">',
        f'<rect x="-4" y="-3" width="{widest - 8:.0f}" height="{height}" fill="#fff" fill-opacity="0.85"/>',
        *entries,
        "</g>",
    ], height


# --- Small bar charts (configuration statistics) -----------------------------------------------------------


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    title: str,
    unit: str,
    color: str = "#1f6feb",
    width: int = 360,
    height: int = 140,
) -> str:
    # Drawn at its own size (one unit per CSS pixel, shrunk only on screens narrower than the chart), so the
    # 12-unit labels stay 12 px instead of scaling down with a half-width column.
    left, bottom, top = 60, 20, 22
    plot_w, plot_h = width - left - 8, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" role="img" aria-label="{escape(title)}" font-size="12" '
        f'font-family="sans-serif" class="bar-chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="15" fill="#212529">{escape(title)}</text>',
    ]
    top_value = max(values, default=0) or 1
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="#6c757d">{_short(top_value)}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="#6c757d">0 {escape(unit)}</text>')
    if values:
        slot = plot_w / len(values)
        for i, (value, label) in enumerate(zip(values, labels, strict=True)):
            h = plot_h * value / top_value
            x = left + i * slot
            parts.append(
                f'<rect x="{x + slot * 0.1:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(label)}: {_short(value)} {escape(unit)}</title></rect>'
            )
    else:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle">No runs yet.</text>')
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#adb5bd"/>')
    parts.append("</svg>")
    return "".join(parts)


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
