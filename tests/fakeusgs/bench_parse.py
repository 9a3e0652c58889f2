"""Parse-rate benchmark: ``python -m tests.fakeusgs.bench_parse [--values 1000000]``.

Builds real response bodies with the fake (daily pages of up to 50,000 values, with the property list and
skipGeometry the client sends), then times ``acquisition.usgs.parsers.parse_readings_text`` over all of them: bytes in,
``Reading`` tuples out, JSON decoding included. Prints values/second, best of three runs.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from acquisition.usgs import READING_PROPERTIES
from acquisition.usgs.parsers import load_json, parse_daily_page, parse_readings_text
from tests.fakeusgs import FakeStation, FakeUSGS

PER_STATION = (date(2026, 11, 20) - date(1900, 1, 1)).days + 1


def build_pages(values: int, distinct: int = 4) -> list[bytes]:
    """Full daily records (1900 onwards, ~46,000 values each) of ``distinct`` stations, repeated up to ``values``.

    Generating fake rows is much slower than parsing them, so a few distinct bodies are reused.
    """
    count = -(-values // PER_STATION)
    stations = [
        FakeStation(f"USGS-0{n:07d}", f"BENCH RIVER {n} NEAR ANYWHERE, MD", daily_begin=date(1900, 1, 1),
                    continuous_interval=None)
        for n in range(min(count, distinct))
    ]  # fmt: skip
    fake = FakeUSGS(stations, today=date(2026, 11, 20))
    pages = []
    for st in stations:
        query = (
            f"monitoring_location_id={st.monitoring_location_id}&parameter_code=00060&statistic_id=00003"
            f"&properties={READING_PROPERTIES}&skipGeometry=true&limit=50000&f=json"
        )
        pages.append(fake.handle("GET", f"/ogcapi/v1/collections/daily/items?{query}", {}).body)
    return [pages[i % len(pages)] for i in range(count)]


def _rates(run, total: int) -> tuple[float, float]:
    """(values per wall-clock second, values per CPU second): the second is steadier on a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return total / (time.perf_counter() - wall), total / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pages = build_pages(args.values)
    total = sum(len(parse_readings_text(body, "daily")) for body in pages)
    decoded: list = []

    def parse_all() -> None:
        for body in pages:
            parse_readings_text(body, "daily")

    def decode_all() -> None:
        decoded[:] = [load_json(body) for body in pages]

    def convert_all() -> None:
        for obj in decoded:
            parse_daily_page(obj)

    best = {"parse": (0.0, 0.0), "decode": (0.0, 0.0), "convert": (0.0, 0.0)}
    for _ in range(args.runs):
        for name, run in (("parse", parse_all), ("decode", decode_all), ("convert", convert_all)):
            wall, cpu = _rates(run, total)
            best[name] = (max(best[name][0], wall), max(best[name][1], cpu))
    size = sum(len(p) for p in pages)
    print(f"{total:,} daily values in {len(pages)} pages ({size / 1e6:.0f} MB of JSON), best of {args.runs}:")
    labels = {"parse": "parse_readings_text (bytes -> Readings)", "decode": "  orjson decode alone",
              "convert": "  dicts -> Readings alone"}  # fmt: skip
    for name, (wall, cpu) in best.items():
        print(f"{labels[name]:<42} {wall:>11,.0f} values/s wall  {cpu:>11,.0f} values/s CPU")


if __name__ == "__main__":
    main()
