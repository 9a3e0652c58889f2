"""Scale benchmark (issue 26): the pages, an export and a batch commit on a big continuous values table, beside the
same on 1 million rows.

    .venv/bin/python bench/scale.py [--rows 100000000] [--baseline-rows 1000000] [--repeat 10]
        [--database-url postgres://postgres@127.0.0.1:5432/sf_scale_bench]      (--smoke: 60,000 / 30,000 rows)

For each size (the baseline first, then --rows) the value table is emptied and COPYed full of synthetic 15-minute
values of 10,000 series (--series) in the real schema (monthly partitions, acquisition/partitions.py), ending on
2026-11-20 (the fake USGS's today). What is measured is the same at both sizes; only the rest of the table grows:
  - the probe station: one year of values (35,040);
  - the roll-up: 200 stations of 30 days each (576,000 values) in one continuous configuration;
  - the filler: every other series, an equal share of the remaining rows, its window staggered over two years so
    that every month's partition holds its share (100 M rows: ~10,100 values, 105 days, a series).
The quality tallies of the probe and the roll-up are built (`rebuild_quality_tallies`), the table is vacuumed, and:
  hydrograph      the station data page of the probe's year (p50/p95 over --repeat, two warm-ups)
  quality page    the probe's station quality page (p50/p95)
  roll-up         the 200-station configuration quality page (p50/p95)
  dashboard       the dashboard (p50/p95)
  export          the probe's year as CSV, streamed through the view in a fresh process: seconds, and its RSS before
                  the request (Django set up) and at its peak
  batch commit    an incremental run of 200 continuous stations of the fake USGS (one batch, committed as a set:
                  acquisition.batch_commit), a day after their first load: the commit phase's seconds (--commits
                  runs, a day apart; median and max)
  bytes/row       heap + indexes (+ TOAST) of every partition over the rows, beside the same rows (the first 1 M)
                  in today's layout before this change (id bigint + unique (series, time)) and in a compact
                  candidate (approval and qualifiers as small codes)
The summary prints each figure at both sizes and their ratio (goal: within 1.5x). Disk: ~105 bytes a row
(measured at 10 M) plus WAL while loading: 100 M rows need about 11 GB. Here 10 M rows took 9-14 minutes in all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import time

from common import ROOT, ensure_database, percentiles, setup_django  # noqa: E402 - bench/ is the script's own dir

END = dt.datetime(2026, 11, 20, 23, 45, tzinfo=dt.UTC)  # the last 15-minute slot of the fake's today
STEP = dt.timedelta(minutes=15)
GRID = 2 * 35_040  # two years of 15-minute slots
YEAR = 35_040
ROLLUP, ROLLUP_VALUES = 200, 30 * 96
SITE = "USGS-9{:07d}"  # the bench's stations: USGS-90000000 (probe), -90000001.. (roll-up), then the filler
COMMIT_SITE = "USGS-8{:07d}"


def slot_text() -> list[str]:
    """ISO text of slot k (k slots of 15 minutes before END), for k in the two-year grid."""
    return [(END - k * STEP).isoformat() for k in range(GRID)]


def layout(rows: int, series: int) -> list[tuple[int, int]]:
    """(first slot, count) of each series' window: slot k is END - k * 15 min; a window covers `count` slots
    going back from `first + count - 1` to `first`."""
    fixed = YEAR + ROLLUP * ROLLUP_VALUES
    filler = series - 1 - ROLLUP
    if rows < fixed + filler:
        sys.exit(f"--rows must be at least {fixed + filler:,} (the probe, the roll-up and a value per filler series)")
    per, extra = divmod(rows - fixed, filler)
    if per + 1 > GRID:
        sys.exit(f"{per:,} values a series do not fit two years of 15-minute slots: use more --series")
    windows = [(0, YEAR)] + [(0, ROLLUP_VALUES)] * ROLLUP
    for j in range(filler):
        count = per + (1 if j < extra else 0)
        windows.append(((j * 7919) % (GRID - count + 1), count))
    return windows


def load(rows: int, series: int) -> tuple[list[int], float]:
    """Empty the value table and COPY the synthetic rows in; returns the series pks and the seconds it took."""
    from django.db import connection

    from acquisition import partitions
    from acquisition.models import ContinuousValue
    from pulls.models import PullConfigurationStation
    from stations.models import MonitoringLocation, TimeSeries

    table = ContinuousValue._meta.db_table
    windows = layout(rows, series)
    locations = MonitoringLocation.objects.filter(monitoring_location_id__startswith="USGS-9")
    if locations.count() != series:
        PullConfigurationStation.objects.filter(location__in=locations).delete()
        locations.delete()
        MonitoringLocation.objects.bulk_create(
            MonitoringLocation(monitoring_location_id=SITE.format(i), site_number=f"9{i:07d}", name=f"SCALE CREEK {i}")
            for i in range(series)
        )
        TimeSeries.objects.bulk_create(
            TimeSeries(location=loc, kind=TimeSeries.Kind.CONTINUOUS, time_series_id=f"scale-{loc.site_number}")
            for loc in MonitoringLocation.objects.filter(monitoring_location_id__startswith="USGS-9").order_by("pk")
        )
    pks = list(
        TimeSeries.objects.filter(location__monitoring_location_id__startswith="USGS-9")
        .order_by("location__monitoring_location_id")
        .values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    partitions.ensure(partitions.months(END - GRID * STEP, END + 90 * dt.timedelta(days=1)))
    texts = slot_text()
    provisional_from = 120 * 96  # the newest 120 days are Provisional
    started = time.perf_counter()
    written = 0
    copy_sql = f"COPY {table} (series_id, time, value, qualifiers, approval_status) FROM STDIN"
    with connection.cursor() as cursor, cursor.connection.cursor() as pg, pg.copy(copy_sql) as copy:
        for pk, (first, count) in zip(pks, windows, strict=True):
            lines = []
            # Oldest first: each partition's index grows at its right end.
            for k in range(first + count - 1, first - 1, -1):
                value = "\\N" if k % 997 == 5 else f"{100 + (pk * 31 + k) % 997 / 10}"
                quals = '["e"]' if k % 500 == 0 else "[]"
                status = "Provisional" if k < provisional_from else "Approved"
                lines.append(f"{pk}\t{texts[k]}\t{value}\t{quals}\t{status}\n")
            copy.write("".join(lines))
            written += count
            if written // 2_000_000 != (written - count) // 2_000_000:
                rate = written / (time.perf_counter() - started)
                print(f"  copied {written:,} rows ({rate:,.0f} rows/s)", end="\r", flush=True)
    seconds = time.perf_counter() - started
    print(f"  copied {written:,} rows in {seconds:.0f} s ({written / seconds:,.0f} rows/s)          ", flush=True)
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"  vacuumed in {time.perf_counter() - t:.0f} s", flush=True)
    return pks, seconds


def rollup_configuration(pks: list[int]):
    from pulls.models import PullConfiguration, PullConfigurationStation
    from stations.models import TimeSeries

    config, _ = PullConfiguration.objects.get_or_create(
        name="Bench scale roll-up",
        defaults={"start_date": END.date(), "data_type": PullConfiguration.DataType.CONTINUOUS, "enabled": False},
    )
    if config.stations.count() != ROLLUP:
        PullConfigurationStation.objects.filter(configuration=config).delete()
        locations = TimeSeries.objects.filter(pk__in=pks[1 : ROLLUP + 1]).values_list("location_id", flat=True)
        PullConfigurationStation.objects.bulk_create(
            PullConfigurationStation(configuration=config, location_id=loc) for loc in locations
        )
    return config


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for i in range(repeat + 2):
        started = time.perf_counter()
        fn()
        if i >= 2:  # two warm-ups
            samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def _peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM): unlike getrusage's ru_maxrss, it starts afresh at exec, so a spawned child
    does not report its parent's peak."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def _export(database_url: str, url: str, out) -> None:
    setup_django(database_url)
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-scale"))
    start_rss = _peak_rss_kb()
    started = time.perf_counter()
    response = client.get(url)
    size = sum(len(chunk) for chunk in response.streaming_content)
    out.put((response.status_code, time.perf_counter() - started, size, start_rss,
             _peak_rss_kb()))  # fmt: skip


def export(database_url: str, url: str) -> tuple[float, int, float, float]:
    """Seconds, bytes, and the RSS of the exporting process (a fresh one: Django set up, nothing else) before the
    request and at its peak (MB)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_export, args=(database_url, url, out))
    child.start()
    status, seconds, size, start_kb, peak_kb = out.get(timeout=1800)
    child.join()
    if status != 200 or size < 1000:
        sys.exit(f"the export answered {status} with {size} bytes")
    return seconds, size, start_kb / 1024, peak_kb / 1024


def batch_commits(runs: int) -> list[float]:
    """Seconds of the commit phase of `runs` incremental runs of 200 continuous stations of the fake USGS."""
    sys.path.insert(0, str(ROOT))
    from django.conf import settings

    from acquisition import smart_append
    from acquisition.models import PullRun
    from pulls.models import PullConfiguration
    from stations.models import MonitoringLocation
    from tests.acquisition_factories import FAST_QUOTA, make_configuration
    from tests.fakeusgs import FakeUSGS
    from tests.fakeusgs.data import FakeStation

    stations = [
        FakeStation(
            COMMIT_SITE.format(i), f"SCALE COMMIT CREEK {i}", daily_begin=None, continuous_begin=dt.date(2026, 1, 1)
        )
        for i in range(ROLLUP)
    ]
    fake = FakeUSGS(stations=stations, today=END.date() - dt.timedelta(days=runs))
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    settings.ACQUISITION_BATCH_VALUES = 10_000_000  # one batch of all 200 stations: one set commit a run
    PullConfiguration.objects.filter(name="Bench scale commit").delete()
    MonitoringLocation.objects.filter(monitoring_location_id__startswith="USGS-8").delete()
    config = make_configuration(
        fake,
        [s.monitoring_location_id for s in stations],
        start_date=fake.today - dt.timedelta(days=2),
        data_type=PullConfiguration.DataType.CONTINUOUS,
        name="Bench scale commit",
    )
    seconds: list[float] = []
    per_run: list[float] = []
    real = smart_append._commit_members

    def timing(*args, **kwargs):
        started = time.perf_counter()
        real(*args, **kwargs)
        seconds.append(time.perf_counter() - started)

    smart_append._commit_members = timing
    try:
        first = smart_append.run_inline(config, refresh_quality=False)  # the first load
        assert first.status == PullRun.Status.SUCCEEDED, first.message
        seconds.clear()
        for _ in range(runs):
            fake.today += dt.timedelta(days=1)
            run = smart_append.run_inline(config, refresh_quality=False)
            assert run.status == PullRun.Status.SUCCEEDED, run.message
            assert run.values_inserted >= ROLLUP * 96, run.values_inserted  # a new day a station
            assert run.batches.count() == 1, "the bench means one batch of 200 members"
            per_run.append(sum(seconds))
            seconds.clear()
    finally:
        smart_append._commit_members = real
        fake.stop()
    return per_run


def bytes_per_row() -> dict[str, float]:
    """Heap + indexes + TOAST of the partitioned table over its rows; and the same first million rows laid out as
    before this change and as a compact candidate."""
    from django.db import connection

    from acquisition.models import ContinuousValue

    table = ContinuousValue._meta.db_table
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        rows = cursor.fetchone()[0]
        cursor.execute(
            "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = %s::regclass", [table]
        )
        out["partitioned (series, time) key"] = cursor.fetchone()[0] / rows
        sample = f"(SELECT * FROM {table} ORDER BY series_id, time LIMIT 1000000) s"
        cursor.execute("DROP TABLE IF EXISTS bench_scale_before, bench_scale_compact")
        cursor.execute(
            """CREATE TABLE bench_scale_before (
                 id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, series_id bigint NOT NULL,
                 time timestamptz NOT NULL, value double precision, qualifiers jsonb NOT NULL,
                 approval_status varchar(12), last_modified timestamptz, UNIQUE (series_id, time))"""
        )
        cursor.execute(
            "INSERT INTO bench_scale_before (series_id, time, value, qualifiers, approval_status, last_modified) "
            f"SELECT series_id, time, value, qualifiers, approval_status, last_modified FROM {sample}"
        )
        # Approval as a one-byte code, qualifiers as a smallint code of a list (0 = none), the key reordered so
        # that the fixed-width columns pack without padding.
        cursor.execute(
            """CREATE TABLE bench_scale_compact (
                 series_id bigint NOT NULL, time timestamptz NOT NULL, value double precision,
                 last_modified timestamptz, qualifier_set smallint NOT NULL, approval "char",
                 PRIMARY KEY (series_id, time))"""
        )
        cursor.execute(
            "INSERT INTO bench_scale_compact "
            "SELECT series_id, time, value, last_modified, CASE WHEN qualifiers = '[]' THEN 0 ELSE 1 END, "
            f'left(approval_status, 1)::"char" FROM {sample}'
        )
        for name, label in (("bench_scale_before", "before: id + unique (series, time)"),
                            ("bench_scale_compact", "compact candidate (codes)")):  # fmt: skip
            cursor.execute(f"VACUUM ANALYZE {name}")
            cursor.execute(f"SELECT pg_total_relation_size('{name}'), (SELECT count(*) FROM {name})")
            size, n = cursor.fetchone()
            out[label] = size / n
        cursor.execute("DROP TABLE bench_scale_before, bench_scale_compact")
    return out


def measure(rows: int, args, client) -> dict:
    from django.core.management import call_command
    from django.urls import reverse

    print(f"\n== {rows:,} rows", flush=True)
    pks, load_s = load(rows, args.series)
    config = rollup_configuration(pks)
    started = time.perf_counter()
    call_command("rebuild_quality_tallies", series=pks[: ROLLUP + 1], verbosity=0)
    print(f"  tallies of {ROLLUP + 1} series built in {time.perf_counter() - started:.0f} s", flush=True)
    site = SITE.format(0)
    year = {"kind": "continuous", "start": (END.date() - dt.timedelta(days=364)).isoformat(), "end": END.date()}
    data_url = reverse("monitoring:station_data", args=[site])
    quality_url = reverse("monitoring:station_quality", args=[site]) + "?kind=continuous"
    rollup_url = reverse("monitoring:configuration_quality", args=[config.pk])
    csv_url = reverse("monitoring:station_data_csv", args=[site]) + (
        f"?kind=continuous&start={year['start']}&end={year['end']}"
    )

    def get(url, params=None, needle: bytes | None = None):
        def call():
            response = client.get(url, params or {})
            assert response.status_code == 200, (url, response.status_code)
            if needle is not None:
                assert needle in response.content, (url, needle)

        return call

    result = {"load_s": load_s}
    result["hydrograph of a year"] = timed(get(data_url, year, b"<svg"), args.repeat)
    result["station quality page"] = timed(get(quality_url, None, b"quality-heatmap"), args.repeat)
    result[f"roll-up, {ROLLUP} stations"] = timed(get(rollup_url), args.repeat)
    result["dashboard"] = timed(get(reverse("monitoring:dashboard")), args.repeat)
    for label in ("hydrograph of a year", "station quality page", f"roll-up, {ROLLUP} stations", "dashboard"):
        p50, p95 = result[label]
        print(f"  {label:<28} p50 {p50:7.0f} ms  p95 {p95:7.0f} ms", flush=True)
    seconds, size, start_mb, peak_mb = export(args.database_url, csv_url)
    result["export"] = (seconds, peak_mb, start_mb, size)
    print(f"  export of a year: {size:,} bytes in {seconds:.2f} s, RSS {start_mb:.0f} MB before, peak {peak_mb:.0f} MB")
    commits = batch_commits(args.commits)
    result["batch commit"] = (statistics.median(commits), max(commits))
    print(f"  incremental {ROLLUP}-member batch commit: {', '.join(f'{s:.2f}' for s in commits)} s", flush=True)
    result["bytes"] = bytes_per_row()
    for label, value in result["bytes"].items():
        print(f"  bytes a row, {label}: {value:.1f}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sf_scale_bench"),
    )
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10, help="timed requests of each page (after two warm-ups)")
    parser.add_argument("--commits", type=int, default=3, help="incremental runs timed")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script, measures nothing")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.baseline_rows, args.series, args.repeat, args.commits = 700_000, 650_000, 400, 1, 1
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark needs PostgreSQL (--database-url postgres://…)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client

    from acquisition import partitions
    from streamflow.roles import VIEWERS

    call_command("migrate", verbosity=0)
    if not partitions.is_partitioned():
        sys.exit("the continuous values table is not partitioned: is this PostgreSQL, migrated past 0015?")
    user, _ = get_user_model().objects.get_or_create(username="bench-scale")
    user.groups.add(Group.objects.get(name=VIEWERS))  # a Viewer: the timings include the permission checks
    client = Client()
    client.force_login(user)
    started = time.perf_counter()
    base = measure(args.baseline_rows, args, client)
    big = measure(args.rows, args, client)
    print(f"\n== summary: {args.rows:,} rows beside {args.baseline_rows:,} ({args.series:,} series; "
          f"{time.perf_counter() - started:.0f} s in all; load average {os.getloadavg()[0]:.2f})")  # fmt: skip
    print(f"{'':32} {args.baseline_rows:>14,} {args.rows:>14,}   ratio  (goal <= 1.5x)")
    worst = 0.0
    for label in ("hydrograph of a year", "station quality page", f"roll-up, {ROLLUP} stations", "dashboard"):
        ratio = big[label][1] / base[label][1]
        worst = max(worst, ratio)
        print(f"{label + ' p95 ms':<32} {base[label][1]:>14.0f} {big[label][1]:>14.0f}   x{ratio:.2f}")
    for label, index in (("export s", 0), ("export peak RSS MB", 1)):
        ratio = big["export"][index] / base["export"][index]
        worst = max(worst, ratio)
        print(f"{label:<32} {base['export'][index]:>14.2f} {big['export'][index]:>14.2f}   x{ratio:.2f}")
    ratio = big["batch commit"][0] / base["batch commit"][0]
    worst = max(worst, ratio)
    print(
        f"{'batch commit s (median)':<32} {base['batch commit'][0]:>14.2f} {big['batch commit'][0]:>14.2f}"
        f"   x{ratio:.2f}"
    )
    for label in big["bytes"]:
        print(f"{'bytes/row ' + label:<32.32} {base['bytes'][label]:>14.1f} {big['bytes'][label]:>14.1f}")
    print(f"load (COPY) s                    {base['load_s']:>14.0f} {big['load_s']:>14.0f}")
    print(f"worst ratio x{worst:.2f}: {'met' if worst <= 1.5 else 'MISSED'} (goal: every figure within 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
