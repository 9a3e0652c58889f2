"""Build static/map/us-states.geojson, the offline background of the maps, from a US Census TIGER/Line shapefile.

Source: U.S. Census Bureau, TIGER/Line Shapefiles 2010, states (tl_2010_us_state10.shp/.dbf). TIGER/Line products
are not copyrighted (free to use; the Census Bureau is to be acknowledged as the source, which the map's
attribution does). A copy ships in the PyPI sdist `latimes-pluggablemaps-usstates` 0.1 (us_states/data/).

    python scripts/state_outlines.py path/to/tl_2010_us_state10.shp > static/map/us-states.geojson

The outlines are simplified (Douglas-Peucker, ~2 km), tiny islands dropped and coordinates rounded to 0.01°:
a background to find one's way by, about 100 KB, not a boundary of record. No dependencies beyond Python.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

TOLERANCE = 0.02  # degrees, ~2 km
MIN_RING_AREA = 0.01  # square degrees: islands smaller than ~10 km across are left out
DIGITS = 2


def read_dbf(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    count, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields, offset = [], 32
    while data[offset] != 0x0D:
        name = data[offset : offset + 11].split(b"\0")[0].decode()
        fields.append((name, data[offset + 16]))
        offset += 32
    rows = []
    for i in range(count):
        start = header_len + i * record_len + 1  # the first byte is the deletion flag
        row, pos = {}, start
        for name, length in fields:
            row[name] = data[pos : pos + length].decode("latin-1").strip()
            pos += length
        rows.append(row)
    return rows


def read_polygons(path: Path) -> list[list[list[tuple[float, float]]]]:
    """Each record's rings (outer and holes alike, as the shapefile lists them)."""
    data = path.read_bytes()
    shapes, offset = [], 100
    while offset < len(data):
        _, words = struct.unpack(">ii", data[offset : offset + 8])
        content = data[offset + 8 : offset + 8 + 2 * words]
        offset += 8 + 2 * words
        shape_type = struct.unpack("<i", content[:4])[0]
        if shape_type != 5:  # polygon
            shapes.append([])
            continue
        parts_n, points_n = struct.unpack("<ii", content[36:44])
        parts = list(struct.unpack(f"<{parts_n}i", content[44 : 44 + 4 * parts_n]))
        coords = struct.unpack(f"<{2 * points_n}d", content[44 + 4 * parts_n : 44 + 4 * parts_n + 16 * points_n])
        points = list(zip(coords[0::2], coords[1::2], strict=True))
        bounds = [*parts, points_n]
        shapes.append([points[bounds[k] : bounds[k + 1]] for k in range(parts_n)])
    return shapes


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker, iterative (state outlines have rings of 100,000+ points)."""
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        worst, index = 0.0, None
        for i in range(first + 1, last):
            x, y = points[i]
            d = abs(dy * (x - x1) - dx * (y - y1)) / norm if norm else ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
            if d > worst:
                worst, index = d, i
        if index is not None and worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def area(ring: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))) / 2


def main(shp: str) -> None:
    shp_path = Path(shp)
    rows = read_dbf(shp_path.with_suffix(".dbf"))
    features = []
    for row, rings in zip(rows, read_polygons(shp_path), strict=True):
        lines = []
        for ring in rings:
            if area(ring) < MIN_RING_AREA:
                continue
            if row["STUSPS10"] == "AK":  # the Aleutians cross 180°: keep Alaska in one piece west of it
                ring = [(x - 360 if x > 0 else x, y) for x, y in ring]
            small = simplify(ring, TOLERANCE)
            if len(small) >= 4:
                lines.append([[round(x, DIGITS), round(y, DIGITS)] for x, y in small])
        if lines:
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": row["STUSPS10"], "name": row["NAME10"]},
                    # Outlines only (drawn as lines): rings are not sorted into polygons and holes.
                    "geometry": {"type": "MultiLineString", "coordinates": lines},
                }
            )
    features.sort(key=lambda f: f["properties"]["code"])
    collection = {
        "type": "FeatureCollection",
        "source": "U.S. Census Bureau, TIGER/Line Shapefiles 2010 (states), simplified; not copyrighted",
        "features": features,
    }
    json.dump(collection, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1])
