"""Hydrograph benchmark: server-side render time of a year of 5-minute values (105,000) on PostgreSQL.

    .venv/bin/python bench/chart.py [--values 105000] [--database-url postgres://postgres@127.0.0.1:5432/sf_mon_bench]

Loads one continuous series with COPY (provisional for the last month, a few gaps), then times the station data
page's HTMX chart fragment through the Django test client, split into its parts: reading the rows, building the SVG.
Reports the number of points in the SVG. Goal (issue 6): < 300 ms, at most a few thousand points.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import statistics
import sys
import time

from common import bench_parser, percentiles, start, viewer_client

SITE = "USGS-99000099"
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def load(count: int):
    from django.db import connection

    from acquisition.models import ContinuousValue
    from stations.models import MonitoringLocation, TimeSeries

    location, _ = MonitoringLocation.objects.get_or_create(
        monitoring_location_id=SITE, defaults={"site_number": "99000099", "name": "BENCH CHART CREEK"}
    )
    series, _ = TimeSeries.objects.get_or_create(
        location=location, kind=TimeSeries.Kind.CONTINUOUS, defaults={"time_series_id": "bench-chart", "primary": True}
    )
    ContinuousValue.objects.filter(series=series).delete()
    started = time.perf_counter()
    provisional_from = count - 30 * 288
    with connection.cursor() as cursor:
        columns = "series_id, time, value, qualifiers, approval_status"
        with cursor.connection.cursor() as pg, pg.copy(f"COPY acquisition_continuousvalue ({columns}) FROM STDIN") as c:
            for i in range(count + 300):
                if 50_000 <= i < 50_300:
                    continue  # a day of missing data: a gap
                value = None if i % 10_000 == 7 else 200 + (i % 288) * 0.5 + (i // 288) % 17
                status = "Provisional" if i >= provisional_from else "Approved"
                c.write_row((series.pk, START + dt.timedelta(minutes=5 * i), value, "[]", status))
        cursor.execute("VACUUM ANALYZE acquisition_continuousvalue")
    print(f"Loaded {ContinuousValue.objects.filter(series=series).count():,} values with COPY "
          f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return series


def main() -> int:
    parser = bench_parser(__doc__, "sf_mon_bench")
    parser.add_argument("--values", type=int, default=105_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = start(parser)
    from monitoring import charts
    from monitoring.export import chart_data

    series = load(args.values)
    end_day = (START + dt.timedelta(minutes=5 * (args.values + 300))).date()
    client = viewer_client("bench-chart")
    params = {"kind": "continuous", "start": START.date().isoformat(), "end": end_day.isoformat()}

    view_times, cpu_times, read_times, svg_times = [], [], [], []
    for i in range(args.repeat + 2):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(f"/monitoring/stations/{SITE}/data/", params, headers={"HX-Request": "true"})
        view = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu_started) * 1000
        started = time.perf_counter()
        lo = START.timestamp()
        hi = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min, dt.UTC).timestamp()
        data = chart_data(series, START.date(), end_day, start_epoch=lo, span=hi - lo, width=1000)
        read = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        spec = charts.HydrographSpec(start=lo, end=hi, daily=False, unit="ft^3/s", stored=charts.Stored(gap=data.gap))
        charts.hydrograph(data.rows, spec)
        svg = (time.perf_counter() - started) * 1000
        if i >= 2:
            view_times.append(view)
            cpu_times.append(cpu)
            read_times.append(read)
            svg_times.append(svg)
    assert response.status_code == 200 and b"<html" not in response.content
    body = response.content.decode()
    values = int(re.search(r'data-values="(\d+)"', body).group(1))
    counted = int(re.search(r'data-points="(\d+)"', body).group(1))
    drawn = sum(len(p.split()) for p in re.findall(r' points="([^"]*)"', body)) + body.count("<circle")
    v50, v95 = percentiles(view_times)
    cpu, read, svg = (statistics.median(t) for t in (cpu_times, read_times, svg_times))
    print(f"\n{values:,} values in range; {args.repeat} renders; load average {os.getloadavg()[0]:.2f}")
    print(f"view (HTMX fragment, whole request): p50 {v50:.0f} ms, p95 {v95:.0f} ms, py CPU {cpu:.0f} ms")
    print(f"  of which: min/max per pixel column in PostgreSQL p50 {read:.0f} ms, build SVG p50 {svg:.0f} ms")
    print(f"SVG: {drawn:,} points drawn ({counted:,} by the chart's count), {len(body):,} bytes of HTML")
    ok = v95 < 300 and drawn <= 5000
    print(f"goal: < 300 ms and at most a few thousand points -> {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
