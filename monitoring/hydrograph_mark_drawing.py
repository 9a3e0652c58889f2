"""The marks of a hydrograph (monitoring.charts): gaps, values with qualifiers, screening flags; each an SVG element
with a <title>, at most MAX_MARKS of a kind (see charts' module docstring for what is drawn where)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.utils.html import escape

MAX_MARKS = 100  # marks drawn per kind, at most (see the module docstring)
MARK_STYLE = {  # kind: (legend label, fill colour)
    "gap": ("Gap", "#adb5bd"),
    "qualified": ("Qualifiers", "#7048e8"),
    "negative": ("Negative", "#e03131"),
    "zero": ("Zero", "#f08c00"),
    "flat": ("Flat line", "#8d6e63"),
    "spike": ("Spike", "#e03131"),
}
STRIP = 6  # height of the qualifier and flag bands


@dataclass
class Mark:
    """Something the chart marks over [start, end] (epoch seconds, both included: the first and last time marked)."""

    kind: str  # gap | qualified | negative | zero | flat | spike
    start: float
    end: float
    values: int  # values marked (a gap: missing values)
    value: float | None = None  # spike, zero, flat line: the value
    note: str = ""  # qualified: the qualifiers, "ICE, ESTIMATED"
    merged: int = 1  # marks of the data this one stands for (when there were too many to draw)


@dataclass
class Plot:
    left: float
    top: float
    width: float
    height: float
    start: float
    xscale: float
    ymin: float
    yscale: float
    log: bool
    daily: bool
    tz: dt.tzinfo
    unit: str
    step: float = 0.0  # seconds between stored values, on average over the range (0: unknown)

    def x(self, t: float) -> float:
        return min(max(self.left + (t - self.start) * self.xscale, self.left), self.left + self.width)

    def y(self, value: float) -> float:
        if self.log:
            value = math.log10(value) if value > 0 else self.ymin
        y = self.top + self.height - (value - self.ymin) * self.yscale
        return min(max(y, self.top), self.top + self.height)

    def when(self, t: float) -> str:
        if self.daily:
            return _fmt(t, "%Y-%m-%d", dt.UTC)
        return _fmt(t, "%Y-%m-%d %H:%M %Z", self.tz)

    def amount(self, value: float | None) -> str:
        return "" if value is None else f"{value:,.6g} {self.unit}"


def _merged(marks: list[Mark], min_px: float, plot: Plot) -> list[Mark]:
    """Neighbours closer than `min_px` as one mark: at most plot width / min_px + 1 marks."""
    out: list[Mark] = []
    for mark in sorted(marks, key=lambda m: m.start):
        last = out[-1] if out else None
        if last is not None and plot.x(mark.start) - plot.x(last.end) < min_px:
            notes = dict.fromkeys([*last.note.split(", "), *mark.note.split(", ")])
            out[-1] = Mark(
                last.kind,
                last.start,
                max(last.end, mark.end),
                last.values + mark.values,
                last.value if last.value == mark.value else None,
                ", ".join(n for n in notes if n),
                last.merged + mark.merged,
            )
        else:
            out.append(mark)
    return out


def coverage(mark: Mark, plot: Plot) -> float | None:
    """The share of the values in the mark's span that it marks (None where the step is unknown)."""
    if plot.step <= 0 or mark.kind == "spike":
        return None
    expected = max((mark.end - mark.start) / plot.step + 1, mark.values, 1)
    return mark.values / expected


def _pooled(mark: Mark, plot: Plot) -> bool:
    """Marks merged to fit the chart, or a band over pixel columns that holds fewer than all of its span's values:
    either way the band is wider than what it marks."""
    share = coverage(mark, plot)
    return mark.merged > 1 or (share is not None and share < 0.95)


def _title(mark: Mark, plot: Plot) -> str:
    span = plot.when(mark.start) + ("" if mark.end == mark.start else f" → {plot.when(mark.end)}")
    many = f"{mark.merged:,} " if mark.merged > 1 else ""
    count = f"{mark.values:,} value{'s' if mark.values != 1 else ''}"
    share = coverage(mark, plot)
    if _pooled(mark, plot) and share is not None:
        expected = round(mark.values / share)
        count = f"{mark.values:,} of about {expected:,} values, {_percent(share)} of the span"
        span = f"{span}; marks merged to fit the chart"
    if mark.kind == "gap":
        return f"{'Gaps' if many else 'Gap'}: {many}{span} ({mark.values:,} missing)"
    if mark.kind == "qualified":
        return f"Qualifiers {mark.note or '?'}: {span} ({count})"
    if mark.kind == "spike":
        return f"Spike: {plot.amount(mark.value)} at {span}" if not many else f"{many}spikes: {span}"
    what = {"negative": "Negative values", "zero": "Zero flow", "flat": "Flat line"}[mark.kind]
    at = f" at {plot.amount(mark.value)}" if mark.kind == "flat" and mark.value is not None else ""
    return f"{what}{at}: {many and f'{many}runs, '}{span} ({count})"


def bands(plot: Plot, marks: list[Mark]) -> list[str]:
    if not marks:
        return []
    if len(marks) > MAX_MARKS:
        marks = _merged(marks, plot.width / MAX_MARKS, plot)
    parts = []
    for mark in marks:
        kind, (_, color) = mark.kind, MARK_STYLE[mark.kind]
        title = f"<title>{escape(_title(mark, plot))}</title>"
        x0, x1 = plot.x(mark.start), plot.x(mark.end)
        if kind == "spike" and mark.merged == 1 and mark.value is not None:
            parts.append(
                f'<circle class="mark spike" cx="{x0:.1f}" cy="{plot.y(mark.value):.1f}" r="4" fill="none" '
                f'stroke="{color}" stroke-width="1.5">{title}</circle>'
            )
            continue
        w = max(x1 - x0, 2.0)
        x0 = min(x0, plot.left + plot.width - w)
        if kind == "gap":
            y, h, extra = plot.top, plot.height, ' fill-opacity="0.3"'
        elif kind == "qualified":
            # A band that marks a few values of a long span is drawn faint, so it does not read as solid.
            share = coverage(mark, plot) if _pooled(mark, plot) else None
            opacity = 0.75 if share is None else 0.2 + 0.55 * share
            y, h, extra = plot.top + plot.height - STRIP, STRIP, f' fill-opacity="{opacity:.2f}"'
            if share is not None:
                extra += f' data-coverage="{share:.3f}"'
        else:
            y, h, extra = plot.top, STRIP, ""
        parts.append(
            f'<rect class="mark {kind}" x="{x0:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{color}"{extra}>{title}</rect>'
        )
    return parts


def _percent(share: float) -> str:
    if share < 0.01:
        return "under 1 %"
    return f"{share * 100:.0f} %"


def _fmt(t: float, fmt: str, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime(fmt)
