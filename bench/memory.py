"""Peak memory of a worker's pull (DESIGN.md §9: under 400 MB for any pull), on PostgreSQL, against the fake USGS.

    .venv/bin/python bench/memory.py [--scenario overwrite|first-load|batch|all] [--years 10] [--stations 200]
        [--batch-stations 2000] [--database-url postgres://postgres@127.0.0.1:5432/sf_mem_bench]

Each measured pull runs in a fresh child process that sets up Django, runs the configuration with the product's
own engine (`run_inline`: plan, fetch into the stage, commit each member) and reports its own peak RSS
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) beside the peak it had once Django was set up (the baseline: Python,
Django, psycopg, migrations checked). The fake USGS server runs in another process, so its memory is not counted;
the overwrite's first load runs in a process of its own before it.

- overwrite: one station, `--years` of 5-minute continuous values (~105,000 a year), strategy overwrite, after a
  first load of the same range (so the overwrite replaces a full record).
- first-load: `--stations` stations, daily means from 2000 (~9,800 values each), first run.
- batch: `--batch-stations` stations (2,000: the default series cap of a batch, its list POSTed as CQL2), ten
  days of daily means each, first run: one batch of them all, committed as a set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sys
import time

from common import ROOT, ensure_database, setup_django

GOAL_MB = 400


def _serve(stations_spec: dict, today: dt.date, port_queue) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fakeusgs import FakeUSGS
    from tests.fakeusgs.data import FakeStation

    stations = [FakeStation(**spec) for spec in stations_spec["stations"]]
    fake = FakeUSGS(stations=stations, today=today)
    port_queue.put(fake.start())
    while True:
        time.sleep(3600)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pull(scenario: str, database_url: str, base_url: str, spec: dict, result_queue, *, prepare: bool) -> None:
    setup_django(database_url)
    from django.conf import settings
    from django.core.management import call_command

    from acquisition.models import ContinuousValue, DailyValue
    from acquisition.smart_append import run_inline
    from pulls.models import PullConfiguration, PullConfigurationStation
    from stations.models import MonitoringLocation

    call_command("migrate", verbosity=0)
    setup_mb = _rss_mb()
    settings.USGS_API_URL = base_url
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = 1_000_000
    continuous = scenario == "overwrite"
    if not prepare and continuous:
        # The overwrite replaces the record the preparing process stored.
        config = PullConfiguration.objects.get(name=f"memory bench {scenario}")
        config.strategy = PullConfiguration.Strategy.OVERWRITE
        config.save()
        _measure(config, setup_mb, result_queue)
        return
    DailyValue.objects.all().delete()
    ContinuousValue.objects.all().delete()
    PullConfiguration.objects.all().delete()
    config = PullConfiguration.objects.create(
        name=f"memory bench {scenario}",
        data_type=PullConfiguration.DataType.CONTINUOUS if continuous else PullConfiguration.DataType.DAILY_MEAN,
        strategy=PullConfiguration.Strategy.APPEND,
        start_date=spec["start"],
        timezone="UTC",
    )
    for st in spec["stations"]:
        site = st["monitoring_location_id"]
        location, _ = MonitoringLocation.objects.get_or_create(
            monitoring_location_id=site,
            defaults={"agency_code": "USGS", "site_number": site.split("-")[1], "name": st["name"]},
        )
        PullConfigurationStation.objects.create(configuration=config, location=location)
    if prepare:  # a full record to replace, stored by a process of its own
        first = run_inline(config)
        result_queue.put({"status": first.status, "message": first.message})
        return
    _measure(config, setup_mb, result_queue)


def _measure(config, setup_mb: float, result_queue) -> None:
    from acquisition.smart_append import run_inline

    started = time.perf_counter()
    run = run_inline(config)
    seconds = time.perf_counter() - started
    result_queue.put(
        {
            "status": run.status,
            "message": run.message,
            "values": run.values_inserted + run.values_updated + run.values_unchanged,
            "requests": run.requests_made,
            "seconds": seconds,
            "baseline_mb": setup_mb,
            "peak_mb": _rss_mb(),
        }
    )


def run_scenario(scenario: str, args) -> dict:
    today = dt.date(2026, 11, 20)
    if scenario == "overwrite":
        start = today - dt.timedelta(days=round(365.25 * args.years))
        stations = [
            {
                "monitoring_location_id": "USGS-01646500",
                "name": "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA",
                "continuous_begin": start,
                "continuous_interval": 5,
                "daily_begin": start,
            }
        ]
    else:
        many = scenario == "batch"
        start = today - dt.timedelta(days=9) if many else dt.date(2000, 1, 1)
        stations = [
            {"monitoring_location_id": f"USGS-{42000000 + i:08d}", "name": f"BENCH CREEK {i}", "daily_begin": start}
            for i in range(args.batch_stations if many else args.stations)
        ]
    spec = {"stations": stations, "start": start}
    ctx = multiprocessing.get_context("spawn")
    ports, results = ctx.Queue(), ctx.Queue()
    server = ctx.Process(target=_serve, args=({"stations": stations}, today, ports), daemon=True)
    server.start()
    try:
        base_url = ports.get(timeout=300)
        for prepare in (True, False) if scenario == "overwrite" else (False,):
            worker = ctx.Process(
                target=_pull, args=(scenario, args.database_url, base_url, spec, results), kwargs={"prepare": prepare}
            )
            worker.start()
            result = results.get(timeout=3600)
            worker.join(timeout=60)
            if result["status"] != "succeeded":
                break
    finally:
        server.kill()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["overwrite", "first-load", "batch", "all"], default="all")
    parser.add_argument("--years", type=float, default=10)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--batch-stations", type=int, default=2000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sf_mem_bench"),
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark needs PostgreSQL (--database-url postgres://…)")
    ensure_database(args.database_url)
    scenarios = ["overwrite", "first-load", "batch"] if args.scenario == "all" else [args.scenario]
    print(f"{'scenario':<12} {'values':>10} {'requests':>8} {'seconds':>8} {'baseline MB':>11} {'peak MB':>8}  goal")
    ok = True
    for scenario in scenarios:
        r = run_scenario(scenario, args)
        met = r["status"] == "succeeded" and r.get("peak_mb", GOAL_MB) < GOAL_MB
        if "peak_mb" not in r:
            print(f"{scenario:<12} could not prepare: {r['message']}")
            ok = False
            continue
        ok = ok and met
        print(
            f"{scenario:<12} {r['values']:>10,} {r['requests']:>8} {r['seconds']:>8.1f} {r['baseline_mb']:>11.0f} "
            f"{r['peak_mb']:>8.0f}  {'< 400 MB: met' if met else 'MISSED'} {r['message'] if not met else ''}",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
