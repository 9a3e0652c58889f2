"""Parse-rate benchmark: ``python -m tests.fakeusgs.bench_parse [--values 1000000]``.

Builds real response bodies with the fake (daily pages of up to 50,000 values, with the property list and
skipGeometry the client sends), then times ``acquisition.parsers.parse_readings_text`` over all of them: bytes in,
``Reading`` tuples out, JSON decoding included. Prints values/second, best of three runs.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from acquisition.parsers import load_json, parse_daily_page, parse_readings_text
from acquisition.usgs import READING_PROPERTIES
from tests.fakeusgs import FakeStation, FakeUSGS

PER_STATION = (date(2026, 11, 20) - date(1900, 1, 1)).days + 1


def build_pages(values: int) -> list[bytes]:
    count = -(-values // PER_STATION)
    stations = [
        FakeStation(f"USGS-0{n:07d}", f"BENCH RIVER {n} NEAR ANYWHERE, MD", daily_begin=date(1900, 1, 1),
                    continuous_interval=None)
        for n in range(count)
    ]  # fmt: skip
    fake = FakeUSGS(stations, today=date(2026, 11, 20))
    pages = []
    for st in stations:
        query = (
            f"monitoring_location_id={st.monitoring_location_id}&parameter_code=00060&statistic_id=00003"
            f"&properties={READING_PROPERTIES}&skipGeometry=true&limit=50000&f=json"
        )
        pages.append(fake.handle("GET", f"/ogcapi/v1/collections/daily/items?{query}", {}).body)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    args = parser.parse_args()
    pages = build_pages(args.values)
    size = sum(len(p) for p in pages)
    total, best, best_decode, best_convert = 0, 0.0, 0.0, 0.0
    for _ in range(3):
        started = time.perf_counter()
        total = sum(len(parse_readings_text(body, "daily")) for body in pages)
        best = max(best, total / (time.perf_counter() - started))
        started = time.perf_counter()
        decoded = [load_json(body) for body in pages]
        best_decode = max(best_decode, total / (time.perf_counter() - started))
        started = time.perf_counter()
        for obj in decoded:
            parse_daily_page(obj)
        best_convert = max(best_convert, total / (time.perf_counter() - started))
        del decoded
    print(f"{total:,} daily values in {len(pages)} pages ({size / 1e6:.0f} MB of JSON)")
    print(f"parse_readings_text: {best:,.0f} values/s (bytes -> Readings, best of 3)")
    print(
        f"  of which orjson decode alone: {best_decode:,.0f} values/s; conversion alone: {best_convert:,.0f} values/s"
    )


if __name__ == "__main__":
    main()
