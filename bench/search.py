"""Station search benchmark: p50/p95 of the search view's HTMX response over N locations on PostgreSQL.

    .venv/bin/python bench/search.py [--n 1000000] [--database-url postgres://postgres@127.0.0.1:5432/sf_stations_bench]

Loads N locations with COPY (names recombined from the 9,322 real GAGES-II names when the fixture is present), then
times each search kind through the Django test client (the whole view: session, auth, search, template) and,
in the same run, the raw SQL of the same count + page queries. --explain prints the plans; --reuse keeps a table
that already holds N rows.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time

from common import ROOT, bench_parser, percentiles, start, viewer_client

GAGES2 = ROOT.parent / "shared" / "fixtures" / "stations" / "gages2_9322.tsv"
CASES = {
    "name word (rare: potomac)": {"q": "potomac"},
    "name word (common: creek)": {"q": "creek"},
    "name words (big creek)": {"q": "big creek"},
    "abbreviations (trinity river)": {"q": "trinity river"},
    "abbreviations (st marys nr)": {"q": "st marys nr"},
    "directions (northwest branch)": {"q": "northwest branch"},
    "directions typed short (nw br)": {"q": "nw br"},
    "site-number prefix (0164)": {"q": "0164"},
    "state + HUC prefix (MD, 0207)": {"state": "MD", "huc": "0207"},
    "state only (CA)": {"state": "CA"},
    "unfiltered first page + count": {},
}
LINKS = (" NEAR ", " NR ", " AT ", " A ", " AB ", " BL ", " BELOW ", " ABOVE ")


def real_names_and_states() -> tuple[list[str], list[str]]:
    if not GAGES2.exists():
        return ["POTOMAC RIVER NEAR WASH, DC", "BIG CREEK AT SOMEWHERE, CA", "SENECA CREEK AT DAWSONVILLE, MD"], ["MD"]
    names, states = [], []
    for line in GAGES2.read_text().splitlines()[1:]:
        cols = line.split("\t")
        names.append(cols[1].upper())
        states.append(cols[14])
    return names, states


def generate_rows(n: int, seed: int = 42):
    """Realistic rows: a real river part joined to another real name's place part, real state frequencies."""
    from stations.names import search_name
    from stations.states import lookup

    rng = random.Random(seed)
    names, states = real_names_and_states()
    heads, tails = [], []
    for name in names:
        for link in LINKS:
            if link in name:
                head, _, tail = name.partition(link)
                heads.append(head)
                tails.append(link + tail)
                break
        else:
            heads.append(name)
    site_numbers = sorted(rng.sample(range(1_000_000, 15_000_000), n))
    fips = {s: (lookup(s).fips if lookup(s) else "") for s in set(states)}
    for i, number in enumerate(site_numbers):
        site = f"{number:08d}"
        if i < len(names) and rng.random() < 0.5:
            name = names[rng.randrange(len(names))]
        else:
            name = rng.choice(heads) + (rng.choice(tails) if tails else "")
        state = rng.choice(states)
        region = f"{rng.randint(1, 18):02d}"
        if state == "MD":
            region = "02"
        huc = f"{region}{rng.randint(1, 12):02d}{rng.randint(1, 9):02d}{rng.randint(1, 12):02d}{rng.randint(1, 99):04d}"
        yield (
            f"USGS-{site}", "USGS", site, name[:255], search_name(name[:255]), state, fips.get(state, ""), "", "", huc,
            round(rng.lognormvariate(4, 1.5), 1), round(rng.uniform(25, 49), 5), round(rng.uniform(-124, -67), 5),
            "ST", "EST", True, rng.random() < 0.7, rng.random() < 0.4,
        )  # fmt: skip


def load(n: int) -> None:
    from django.db import connection

    columns = (
        "monitoring_location_id, agency_code, site_number, name, search_name, state_code, state_fips, county_code, "
        "county_name, huc, drainage_area_sqmi, latitude, longitude, site_type, tz_abbreviation, uses_dst, has_daily, "
        "has_continuous, created_at, updated_at"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE stations_monitoringlocation CASCADE")
        raw = cursor.connection
        with raw.cursor() as pg, pg.copy(f"COPY stations_monitoringlocation ({columns}) FROM STDIN") as copy:
            for i, row in enumerate(generate_rows(n)):
                copy.write_row((*row, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
                if i and i % 250_000 == 0:
                    print(f"  … {i:,} rows", flush=True)
    print(f"Loaded {n:,} locations with COPY in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE stations_monitoringlocation")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)


def search_sql(params: dict) -> list[tuple[str, tuple]]:
    """The SQL the view runs for the search (capped count, then the page), with parameters."""
    from stations.search import COUNT_CAP, PAGE_SIZE, WORD_COUNT_CAP, parse_query, search_queryset

    qs = search_queryset(**{"q": "", "state": "", "huc": "", "series": "", **params})
    cap = WORD_COUNT_CAP if parse_query(params.get("q", ""))[0] == "words" else COUNT_CAP
    inner, inner_params = qs.order_by().values("pk")[: cap + 1].query.sql_with_params()
    page_sql, page_params = qs[: PAGE_SIZE + 1].query.sql_with_params()
    return [(f"SELECT COUNT(*) FROM ({inner}) subquery", inner_params), (page_sql, page_params)]


def main() -> int:
    parser = bench_parser(__doc__, "sf_stations_bench")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="keep the table if it already holds --n rows")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each query")
    args = start(parser)
    from django.db import connection

    from stations.models import MonitoringLocation
    from stations.search import run_search

    if not (args.reuse and MonitoringLocation.objects.count() == args.n):
        load(args.n)

    client = viewer_client("bench-search")

    print(f"\n{args.n:,} locations, {args.repeat} requests per kind (after 5 warm-ups); times in ms")
    print(f"Load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other work inflates wall times)")
    header = ["view p50", "view p95", "py CPU", "SQL p50", "SQL p95"]
    print(f"{'search':34} " + " ".join(f"{h:>9}" for h in header) + f"  {'bytes':>7}  result")
    worst = 0.0
    for label, params in CASES.items():
        view_times, sql_times, cpu_times = [], [], []
        for i in range(args.repeat + 5):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get("/stations/", params, headers={"HX-Request": "true"})
            elapsed = (time.perf_counter() - started) * 1000
            if i >= 5:
                view_times.append(elapsed)
                cpu_times.append((time.process_time() - cpu_started) * 1000)
        assert response.status_code == 200 and b"<html" not in response.content
        result = run_search({"q": "", "state": "", "huc": "", "series": "", **params})
        statements = search_sql(params)
        with connection.cursor() as cursor:
            for i in range(args.repeat + 5):
                started = time.perf_counter()
                for sql, sql_params in statements:
                    cursor.execute(sql, sql_params)
                    cursor.fetchall()
                if i >= 5:
                    sql_times.append((time.perf_counter() - started) * 1000)
            if args.explain:
                for sql, sql_params in statements:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, sql_params)
                    print("\n".join("      " + row[0] for row in cursor.fetchall()))
        v50, v95 = percentiles(view_times)
        s50, s95 = percentiles(sql_times)
        worst = max(worst, v95)
        count = f"more than {result.count:,}" if result.capped else f"{result.count:,}"
        print(
            f"{label:34} {v50:9.1f} {v95:9.1f} {statistics.median(cpu_times):9.1f} {s50:9.1f} {s95:9.1f}  "
            f"{len(response.content):7,}  "
            f"{count} matches, {len(result.locations)} on page"
        )
    print(f"\nworst view p95: {worst:.1f} ms (goal: < 50 ms); load average after: {os.getloadavg()[0]:.2f}")
    print("py CPU: median CPU time of this process per request (view + template + client), not PostgreSQL's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
