"""The hydrograph's percentile bands (issue 24), as Water Data for the Nation draws them: for each day shown, the
10th–90th and the 25th–75th percentiles of that calendar day over USGS's approved years as two shaded bands, and
the median as a dashed line. Days without usable normals (none, a short record, "nan") break the bands.

Input: `Day` rows (epoch seconds of the day as the chart places daily values, then p10, p25, p50, p75, p90 or None).
Bands are drawn for ranges of at most MAX_BAND_DAYS days (longer ranges: the caption says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from .hydrograph_mark_drawing import Plot

MAX_BAND_DAYS = 1100  # about 3 years; a band over decades is a smear of 20,000 points
OUTER = ("p10_p90", "p10–p90", "#a5d8ff")  # (kind, legend label, colour); the titles say it in words
INNER = ("p25_p75", "p25–p75", "#74c0fc")
MEDIAN = ("median", "Median", "#495057")
TITLES = {
    "p10_p90": "10th to 90th percentile of each day (USGS, approved years)",
    "p25_p75": "25th to 75th percentile of each day (USGS, approved years)",
    "median": "Median of each day (USGS, approved years)",
}
BAND_LEGEND = {OUTER[0]: OUTER, INNER[0]: INNER, MEDIAN[0]: MEDIAN}


class Day(NamedTuple):
    t: float
    p10: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p90: float | None


def values(days: Sequence[Day], log: bool) -> list[float]:
    """The bands' values as the y axis must hold them (log10 of the positive ones on a log axis)."""
    out = [v for d in days for v in (d.p10, d.p90, d.p50) if v is not None]
    return [math.log10(v) for v in out if v > 0] if log else out


def _runs(days: Sequence[Day], low: str, high: str) -> list[list[Day]]:
    runs: list[list[Day]] = []
    current: list[Day] = []
    for d in days:
        if getattr(d, low) is None or getattr(d, high) is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(d)
    if current:
        runs.append(current)
    return runs


def _polygon(plot: Plot, run: list[Day], low: str, high: str) -> str:
    half = 43200 * plot.xscale if len(run) == 1 else 0.0  # a lone day: a day-wide block
    upper = [(plot.x(d.t) - half, plot.y(getattr(d, high))) for d in run]
    if half:
        upper.append((plot.x(run[0].t) + half, upper[0][1]))
    lower = [(plot.x(d.t) + (half if half else 0), plot.y(getattr(d, low))) for d in reversed(run)]
    if half:
        lower.append((plot.x(run[0].t) - half, lower[0][1]))
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower)


def draw(plot: Plot, days: Sequence[Day]) -> list[str]:
    """The bands and the median, under the data lines."""
    if not days:
        return []
    parts = ['<g class="normal-bands">']
    for (kind, _label, color), (low, high) in ((OUTER, ("p10", "p90")), (INNER, ("p25", "p75"))):
        for run in _runs(days, low, high):
            parts.append(
                f'<polygon class="band-{kind}" fill="{color}" fill-opacity="0.55" stroke="none" '
                f'points="{_polygon(plot, run, low, high)}"><title>{TITLES[kind]}</title></polygon>'
            )
    for run in _runs(days, "p50", "p50"):
        coords = " ".join(f"{plot.x(d.t):.1f},{plot.y(d.p50):.1f}" for d in run)
        parts.append(
            f'<polyline class="band-median" fill="none" stroke="{MEDIAN[2]}" stroke-width="1" '
            f'stroke-dasharray="2 2" points="{coords}"><title>{TITLES["median"]}</title></polyline>'
        )
    parts.append("</g>")
    return parts


def legend_swatch(kind: str, at: float, mid: float) -> str:
    _, _, color = BAND_LEGEND[kind]
    if kind == MEDIAN[0]:
        return f'<line x1="{at}" x2="{at + 22}" y1="{mid}" y2="{mid}" stroke="{color}" stroke-dasharray="2 2"/>'
    return f'<rect x="{at + 3}" y="{mid - 5}" width="16" height="10" fill="{color}" fill-opacity="0.55"/>'
