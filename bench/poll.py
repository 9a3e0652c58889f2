"""Run-log poll benchmark: p50/p95 of the run page's poll (?after=<id>) with 1,000,000 log lines on PostgreSQL.

    .venv/bin/python bench/poll.py [--lines 1000000] [--stations 40] [--database-url postgres://…/sf_mon_bench]

Loads the log table with COPY (lines spread over 100 runs; the polled run is active with --stations stations and
10,000 lines), then times the HTMX poll through the Django test client (session, auth, the run + stations + new-lines
queries, template) beside the raw SQL of the new-lines query, for "5 new lines" (5 stations moved) and "nothing new",
each asked with the poll URL the page itself gives (cursor, status and counters digest). "bytes" is the response
body size, the main cost of a poll over a slow link.
Goal (DESIGN §9, issue 6): p95 < 20 ms. --reuse keeps a table that already holds the lines.
"""

from __future__ import annotations

import html
import os
import re
import statistics
import sys
import time
from urllib.parse import parse_qsl, urlsplit

from common import bench_parser, percentiles, start, viewer_client

RUNS = 100


def load(lines: int, stations: int):
    """A configuration with `stations` stations, RUNS runs (the last one active), and `lines` log lines,
    interleaved by run the way concurrent runs write them. Returns the active run."""
    from django.db import connection

    from acquisition.models import PullRun, PullRunStation
    from pulls.models import PullConfiguration
    from stations.models import MonitoringLocation

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE monitoring_pulllogentry, monitoring_pullrunstation, monitoring_pullrun CASCADE")
    # bulk_create: no schedule-sync signal, the benchmark needs no beat task.
    config = (
        PullConfiguration.objects.filter(name="bench-poll").first()
        or PullConfiguration.objects.bulk_create(
            [PullConfiguration(name="bench-poll", start_date="2020-01-01", enabled=False)]
        )[0]
    )
    locations = [
        MonitoringLocation.objects.get_or_create(
            monitoring_location_id=f"USGS-99{i:06d}", defaults={"site_number": f"99{i:06d}", "name": f"BENCH {i}"}
        )[0]
        for i in range(stations)
    ]
    runs = [
        PullRun.objects.create(
            configuration=config if i == RUNS - 1 else None,
            configuration_name="bench-poll",
            status=PullRun.Status.RUNNING if i == RUNS - 1 else PullRun.Status.SUCCEEDED,
            data_type="daily_mean",
            strategy="append",
            stations_total=stations,
        )
        for i in range(RUNS)
    ]
    active = runs[-1]
    for loc in locations:
        PullRunStation.objects.create(
            run=active, location=loc, status="running", windows_total=10, windows_done=4, values_received=12_000
        )
    polled_lines = 10_000
    other = [r.pk for r in runs[:-1]]
    mine_count = 0
    with connection.cursor() as cursor:
        raw = cursor.connection
        columns = "run_id, created_at, level, location_id, message"
        with raw.cursor() as pg, pg.copy(f"COPY monitoring_pulllogentry ({columns}) FROM STDIN") as copy:
            for i in range(lines):
                # The polled run's lines are spread through the table, like a long run beside others.
                mine = i % (lines // polled_lines) == 0
                run_id = active.pk if mine else other[i % len(other)]
                loc = locations[(mine_count if mine else i) % stations].pk
                mine_count += mine
                copy.write_row(
                    (
                        run_id,
                        "2026-01-01T00:00:00Z",
                        20,
                        loc,
                        f"Fetched page {i % 40 + 1} of window {i % 7}: 5000 values",
                    )
                )
        cursor.execute("VACUUM ANALYZE monitoring_pulllogentry")
    print(f"Loaded {lines:,} log lines with COPY in {time.perf_counter() - started:.1f} s", flush=True)
    return active


def main() -> int:
    parser = bench_parser(__doc__, "sf_mon_bench")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--stations", type=int, default=40, help="stations of the polled run")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep the table if it already holds --lines rows")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the new-lines query")
    args = start(parser)
    from django.db import connection

    from acquisition.models import PullLogEntry, PullRun

    active = PullRun.objects.filter(configuration_name="bench-poll", status=PullRun.Status.RUNNING).first()
    if not (
        args.reuse
        and active
        and PullLogEntry.objects.count() == args.lines
        and active.stations.count() == args.stations
    ):
        active = load(args.lines, args.stations)

    client = viewer_client("bench-poll")
    url = f"/monitoring/runs/{active.pk}/"
    page = client.get(url)
    # The poller's own URL (older pages polled with ?after= alone): its extra parameters say what the page shows.
    found = re.search(r'id="run-live"[^>]* hx-get="([^"]+)"', page.content.decode())
    poller = urlsplit(html.unescape(found.group(1))) if found else None
    query = dict(parse_qsl(poller.query)) if poller else {}
    poll_url = poller.path if poller else f"/monitoring/runs/{active.pk}/poll/"
    ids = list(PullLogEntry.objects.filter(run=active).order_by("-pk").values_list("pk", flat=True)[:6])
    cases = {"5 new lines": ids[5], "nothing new": ids[0]}
    total = PullLogEntry.objects.count()
    mine = PullLogEntry.objects.filter(run=active).count()

    stations = active.stations.count()
    print(
        f"\n{total:,} log lines in the table ({mine:,} of the polled run, {stations} stations); full page "
        f"{len(page.content):,} bytes; {args.repeat} polls per case"
    )
    print(f"Load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"{'poll':16} {'view p50':>9} {'view p95':>9} {'py CPU':>9} {'SQL p50':>9} {'SQL p95':>9} {'bytes':>7}  lines"
    )
    worst = 0.0
    for label, after in cases.items():
        view_times, cpu_times = [], []
        for i in range(args.repeat + 10):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(poll_url, {**query, "after": after}, headers={"HX-Request": "true"})
            if i >= 10:
                view_times.append((time.perf_counter() - started) * 1000)
                cpu_times.append((time.process_time() - cpu_started) * 1000)
        assert response.status_code == 200 and b"<html" not in response.content, response.status_code
        returned = response.content.count(b'class="log-line')
        sql, params = (
            PullLogEntry.objects.filter(run=active, pk__gt=after).order_by("pk")[:1000].query.sql_with_params()
        )
        sql_times = []
        with connection.cursor() as cursor:
            for i in range(args.repeat + 10):
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                if i >= 10:
                    sql_times.append((time.perf_counter() - started) * 1000)
            if args.explain:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
                print("\n".join("      " + row[0] for row in cursor.fetchall()))
        v50, v95 = percentiles(view_times)
        s50, s95 = percentiles(sql_times)
        worst = max(worst, v95)
        cpu, size = statistics.median(cpu_times), len(response.content)
        print(f"{label:16} {v50:9.2f} {v95:9.2f} {cpu:9.2f} {s50:9.3f} {s95:9.3f} {size:7,}  {returned}")
    print(f"\nworst view p95: {worst:.1f} ms (goal: < 20 ms); load average after: {os.getloadavg()[0]:.2f}")
    print("py CPU: median CPU time of this process per poll (view + template + test client), not PostgreSQL's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
