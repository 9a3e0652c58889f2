"""Requests benchmark: what a first and an incremental run of N stations cost in USGS requests, beside dataretrieval.

    .venv/bin/python bench/requests.py [--sizes 10,100,1000,10000] [--kinds daily,continuous] [--quick]
                                       [--latency 0.15] [--max-seconds 600] [--database-url postgres://…]

For each N and kind, against the fake USGS server (tests/fakeusgs) with N synthetic stations and --latency seconds
of injected latency a request (faults.slow_seconds):
  ours   the product's engine, `acquisition.smart_append.run_inline(config, client_factory=...)`, on a PullConfiguration
         of the N stations (strategy append, data type daily_mean or continuous, start --daily-days / --continuous-days
         before the fake's clock): a first run, then the fake's clock moves (+1 day for daily, +--continuous-step
         minutes for continuous) and an incremental run. Requests are counted from the fake's request log (and shown
         beside run.requests_made when they differ); values are inserted + updated + unchanged of the run.
  peer   dataretrieval 1.4 (bench-only extra, `WaterdataConfiguration(base_url=...)` pointed at the fake) fetching the
         same windows for the same sites: the first window, then on the incremental run the new window
         (`time=<last>/..`) plus the values modified since the first run (`last_modified=<then - 1h>/..`).
A run of ours that passes --max-seconds is stopped at its next station (the client factory refuses to build more
clients) and printed as "timed out" (the requests column then shows those made until then); its incremental run is
skipped. The peer's calls get the same budget. Before batching lands the engine makes about two requests a station,
so 10,000 stations at 150 ms cannot finish in the default budget.
The fake's clock is set just behind the real one (the engine asks continuous windows up to its own now). The database
is created if missing and migrated; runs, configurations, series and values are emptied before each size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# This file is named like the HTTP library: take bench/ off the path so `import requests` (the product's client,
# dataretrieval) finds the library, and load bench/common.py by its path instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))  # tests.fakeusgs
_spec = importlib.util.spec_from_file_location("bench_common", BENCH / "common.py")
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)
ensure_database, setup_django = common.ensure_database, common.setup_django

QUICK_SIZES = [10, 50]


class Deadline(BaseException):  # noqa: N818 - not an error: a stop signal the engine must not catch as a failure
    """Raised by the bench's client factory once a run has used its time budget: ends run_inline at once."""


@dataclass
class Result:
    requests: int | None = None
    wall: float | None = None
    values: int | None = None
    note: str = ""  # "timed out", "n/a", "failed: ..."
    engine_requests: int | None = None  # run.requests_made, when it differs from the fake's count
    extra: dict = field(default_factory=dict)


def setup(database_url: str) -> None:
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/requests.py measures against PostgreSQL: pass --database-url postgres://…")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(database_url)
    setup_django(database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    logging.getLogger("tests.fakeusgs").setLevel(logging.WARNING)  # one line a request drowns the table
    logging.getLogger("dataretrieval").setLevel(logging.ERROR)  # "Geopandas not installed" mid-table


def empty_tables() -> None:
    """Runs, configurations, progress, series and values of earlier sizes (TRUNCATE … CASCADE); locations stay."""
    from django.db import connection

    from acquisition.models import PullRun
    from pulls.models import PullConfiguration
    from stations.models import TimeSeries

    tables = ", ".join(m._meta.db_table for m in (PullRun, PullConfiguration, TimeSeries))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


def make_configuration(fake, n: int, kind: str, start: dt.date):
    """N catalog rows for the fake's first N stations (created once) and a configuration of them."""
    from pulls.models import PullConfiguration, PullConfigurationStation
    from stations.models import MonitoringLocation

    stations = fake.stations[:n]
    MonitoringLocation.objects.bulk_create(
        [
            MonitoringLocation(
                monitoring_location_id=st.monitoring_location_id,
                agency_code=st.agency_code,
                site_number=st.site_number,
                name=st.name,
                tz_abbreviation=st.time_zone_abbreviation,
            )
            for st in stations
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    ids = dict(
        MonitoringLocation.objects.filter(
            monitoring_location_id__in=[st.monitoring_location_id for st in stations]
        ).values_list("monitoring_location_id", "pk")
    )
    data_type = PullConfiguration.DataType.DAILY_MEAN if kind == "daily" else PullConfiguration.DataType.CONTINUOUS
    # bulk_create: no schedule-sync signal (the bench needs no beat task); disabled so no scheduler picks it up.
    (config,) = PullConfiguration.objects.bulk_create(
        [
            PullConfiguration(
                name=f"bench-requests-{kind}-{n}",
                data_type=data_type,
                strategy=PullConfiguration.Strategy.APPEND,
                start_date=start,
                timezone="UTC",
                enabled=False,
            )
        ]
    )
    PullConfigurationStation.objects.bulk_create(
        [PullConfigurationStation(configuration=config, location_id=ids[st.monitoring_location_id]) for st in stations],
        batch_size=2000,
    )
    return config


def run_ours(fake, config, max_seconds: float) -> Result:
    from acquisition.smart_append import run_inline
    from acquisition.throttled_client import build_client

    deadline = time.monotonic() + max_seconds

    def client_factory(**kwargs):
        if time.monotonic() > deadline:
            raise Deadline
        return build_client(**kwargs)

    fake.clear_requests()
    started = time.perf_counter()
    try:
        # As a worker runs it: the quality tallies the set commits changed are left to the refresh_quality task,
        # timed on their own below (not in the run's wall time).
        run = run_inline(config, client_factory=client_factory, refresh_quality=False)
    except Deadline:
        from django.db import connection

        connection.close()  # whatever the engine had open; the next size truncates the half-done run
        return Result(requests=len(fake.requests), wall=time.perf_counter() - started, note="timed out")
    wall = time.perf_counter() - started
    from acquisition.tallies import refresh_backlog

    refresh_started = time.perf_counter()
    refreshed = refresh_backlog()
    tallies_seconds = time.perf_counter() - refresh_started
    values = run.values_inserted + run.values_updated + run.values_unchanged
    result = Result(requests=len(fake.requests), wall=wall, values=values)
    result.extra["tallies"] = f"{refreshed:,} series' quality tallies refreshed afterwards in {tallies_seconds:.1f} s"
    if run.requests_made != result.requests:
        result.engine_requests = run.requests_made
    if run.status != "succeeded":
        result.note = f"{run.status}: {run.stations_failed} stations failed"
    return result


def run_peer(fake, calls: list[dict], kind: str, max_seconds: float) -> Result:
    """dataretrieval's get_daily / get_continuous, one call per dict of `calls` (it splits site lists itself)."""
    try:
        import dataretrieval
        from dataretrieval import waterdata
        from dataretrieval.waterdata import WaterdataConfiguration
    except ImportError:
        return Result(note="n/a: dataretrieval is not installed")
    getter = waterdata.get_daily if kind == "daily" else waterdata.get_continuous
    root = fake.base_url.removesuffix("/ogcapi/v1")
    outcome: dict = {}

    def work() -> None:
        try:
            # configure() is per thread (a ContextVar), so it is entered here, in the thread that calls.
            with dataretrieval.configure(WaterdataConfiguration(base_url=root, api_version="v1")):
                rows = 0
                for call in calls:
                    df, _ = getter(**call)
                    rows += len(df)
                outcome["rows"] = rows
        except Exception as exc:  # the peer's failure is a figure too, not a crash of the bench
            outcome["error"] = f"{type(exc).__name__}: {exc}"[:120]

    fake.clear_requests()
    started = time.perf_counter()
    thread = threading.Thread(target=work, name="peer", daemon=True)
    thread.start()
    thread.join(max_seconds)
    wall = time.perf_counter() - started
    requests_made = len(fake.requests)
    if thread.is_alive():
        return Result(requests=requests_made, wall=wall, note="timed out")
    if "error" in outcome:
        return Result(requests=requests_made, wall=wall, note=f"failed: {outcome['error']}")
    return Result(requests=requests_made, wall=wall, values=outcome["rows"])


def peer_calls(kind: str, sites: list[str], window_start: str, since: str | None = None, revisions_from=None):
    common = {"monitoring_location_id": sites, "parameter_code": "00060", "limit": 50000}
    if kind == "daily":
        common.update(statistic_id="00003", skip_geometry=True)
    else:
        common.update(statistic_id="00011")
    calls = [{**common, "time": f"{window_start}/.."}]
    if since is not None:
        revision = {**common, "last_modified": f"{since}/.."}
        if revisions_from is not None:  # continuous without `time` is only the latest year; say it as ours does
            revision["time"] = f"{revisions_from}/.."
        calls.append(revision)
    return calls


def iso_z(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def measure(n: int, kind: str, args) -> list[tuple[str, Result, Result]]:
    from django.conf import settings

    from tests.fakeusgs import FakeUSGS, synthetic_catalog

    empty_tables()
    now = dt.datetime.now(dt.UTC)
    fake = FakeUSGS(synthetic_catalog(n))
    # The fake's clock just behind the real one: the engine asks continuous windows up to its own (real) now and
    # stamps last successes with it, so the fake's new values must already lie in the past after the step.
    step = dt.timedelta(days=1) if kind == "daily" else dt.timedelta(minutes=args.continuous_step)
    if kind == "daily":
        fake.today = now.date() - dt.timedelta(days=1)
    else:
        fake.clock = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) - step
    fake.faults.slow_seconds = args.latency
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = 100_000_000  # the shared quota bucket never waits: requests are the figure
    days = args.daily_days if kind == "daily" else args.continuous_days
    start = fake.today - dt.timedelta(days=days)
    config = make_configuration(fake, n, kind, start)
    sites = [st.monitoring_location_id for st in fake.stations[:n]]
    rows = []
    try:
        first_window = start.isoformat() if kind == "daily" else iso_z(dt.datetime.combine(start, dt.time(0), dt.UTC))
        before_first = dt.datetime.now(dt.UTC)
        peer_first = run_peer(fake, peer_calls(kind, sites, first_window), kind, args.max_seconds)
        ours_first = run_ours(fake, config, args.max_seconds)
        rows.append(("first", ours_first, peer_first))
        previous_newest = fake.today if kind == "daily" else fake.clock - dt.timedelta(minutes=15)
        fake.clock += step
        since = iso_z(before_first - dt.timedelta(hours=1))
        window = previous_newest.isoformat() if kind == "daily" else iso_z(previous_newest)
        calls = peer_calls(kind, sites, window, since, None if kind == "daily" else first_window)
        peer_next = run_peer(fake, calls, kind, args.max_seconds)  # the peer keeps no state: it runs regardless
        if ours_first.note == "timed out":
            ours_next = Result(note="skipped (our first run timed out)")
        else:
            ours_next = run_ours(fake, config, args.max_seconds)
        rows.append(("incremental", ours_next, peer_next))
    finally:
        fake.stop()
    return rows


def fmt_requests(r: Result) -> str:
    if r.requests is None:
        return "n/a"
    text = f"{r.requests:,}"
    if r.engine_requests is not None:
        text += f" ({r.engine_requests:,})"
    return text


def fmt_wall(r: Result) -> str:
    for prefix in ("timed out", "skipped", "n/a"):
        if r.note.startswith(prefix):
            return prefix
    return "n/a" if r.wall is None else f"{r.wall:.1f}"


def fmt_rate(r: Result) -> str:
    if r.values is None or not r.wall:
        return "n/a"
    return f"{r.values / r.wall:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/streamflow_bench"),
    )
    parser.add_argument("--sizes", default="10,100,1000,10000", help="station counts N, comma-separated")
    parser.add_argument("--kinds", default="daily,continuous", help="daily, continuous or both")
    parser.add_argument("--latency", type=float, default=0.15, help="seconds the fake waits before each answer")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="time budget of one run (ours or peer's)")
    parser.add_argument("--daily-days", type=int, default=30, help="first daily window: this many days back")
    parser.add_argument("--continuous-days", type=int, default=2, help="first continuous window: days back")
    parser.add_argument("--continuous-step", type=int, default=60, help="minutes the clock moves between runs")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: N = {QUICK_SIZES}, 20 ms latency")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else [int(v) for v in args.sizes.split(",") if v.strip()]
    if args.quick:
        args.latency = min(args.latency, 0.02)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not set(kinds) <= {"daily", "continuous"}:
        parser.error("--kinds takes daily and/or continuous")
    if args.continuous_step % 15 or args.continuous_step <= 0:
        parser.error("--continuous-step must be a positive multiple of 15 minutes (the fake's 15-minute series)")

    setup(args.database_url)
    print(
        f"Fake USGS with {args.latency * 1000:.0f} ms a request; first windows {args.daily_days} days (daily), "
        f"{args.continuous_days} days (continuous); incremental after +1 day / +{args.continuous_step} min; "
        f"budget {args.max_seconds:.0f} s a run. Load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs.",
        flush=True,
    )
    header = f"{'N':>6}  {'kind':10}  {'run':11}  {'our requests':>14}  {'our wall s':>10}  {'values/s':>9}  "
    header += f"{'values':>9}  {'peer requests':>13}  {'peer wall s':>11}  {'peer values':>11}"
    print(header)
    notes: set[str] = set()
    for n in sizes:
        for kind in kinds:
            for label, ours, peer in measure(n, kind, args):
                print(
                    f"{n:>6,}  {kind:10}  {label:11}  {fmt_requests(ours):>14}  {fmt_wall(ours):>10}  "
                    f"{fmt_rate(ours):>9}  {'n/a' if ours.values is None else f'{ours.values:,}':>9}  "
                    f"{fmt_requests(peer):>13}  {fmt_wall(peer):>11}  "
                    f"{'n/a' if peer.values is None else f'{peer.values:,}':>11}",
                    flush=True,
                )
                for who, r in (("ours", ours), ("peer", peer)):
                    if r.note and not r.note.startswith("skipped"):
                        notes.add(f"{who}, N={n} {kind} {label}: {r.note}")
                if "tallies" in ours.extra:
                    notes.add(f"ours, N={n} {kind} {label}: {ours.extra['tallies']} (the refresh_quality task)")
    print("\nrequests: counted in the fake's request log (in brackets: run.requests_made where it differs).")
    print("values: inserted + updated + unchanged of our run; values/s: values / our wall time; peer values: rows of")
    print("      its data frames (the boundary value and values both windows return count twice there).")
    print("peer: the same windows by dataretrieval.waterdata.get_daily / get_continuous with the site list (it splits")
    print("      it by URL size itself); incremental = the new window plus last_modified since the first run - 1 h.")
    print("      It stores nothing, so its wall time has no database in it; requests are the comparable figure.")
    for note in sorted(notes):
        print(f"note: {note}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
