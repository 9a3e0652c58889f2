"""Commit-phase benchmark: each member's commit of a 200-member continuous batch after an approval wave, against the
size of the batch's stage (issue 21, item 8: per-member time must not grow with the stage).

    .venv/bin/python bench/commit_phase.py --database-url postgres://postgres@127.0.0.1:5432/sf_commit_bench

Data: --members continuous (15-minute) series with --stored-days of stored values each (400 days: 38,400 rows a
series, 7.7M in all), all Provisional. The approval wave: the newest --rows / --members values of every series come
back with their approval flipped and nothing else changed (--rows 5,200,000: 26,000 a member, ~270 days), so every
member's commit updates every one of its rows and records the revisions, as a real wave does.

Measured, for each stage size (--sizes, then the whole batch): the batch's stage is filled through the engine's own
stage (`open_stage`: acquisition.staging.BatchStage, `add` per member, COPY), with the first N members' waves; then
members spread over those N commit one after another, each `BatchStage.store` inside its own transaction.atomic()
(what acquisition.committing.commit does around it is a few single-row statements), and the stage is discarded.
At the whole batch every member commits: the whole commit phase. The baseline, measured first in the same run, is a
stage holding one member's wave only: what a member's commit costs with no other member staged. Flat in the stage
size means every size's per-member p50 stays near the baseline's (ratio ~1); today's temporary stage has no index,
so each member's read scans the whole stage and the ratio grows with it.

The value table is vacuumed before each size; members' approvals alternate between sizes (the wave is always the
opposite of what is stored), so every commit measured changes all its rows; the script checks that it did.
The database is created if missing and migrated; the value table and the bench's runs are emptied at the start.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import math
import os
import sys
import time

from common import ensure_database, migrate, percentiles, setup_django  # noqa: E402 - bench/ is the script's own directory

MEMBERS = 200
ROWS = 5_200_000  # staged at the whole batch: 26,000 a member
STORED_DAYS = 400
SIZES = (500_000, 2_000_000)
SAMPLE = 20  # members committed at each size below the whole batch
BASELINE_SAMPLE = 5
STEP = dt.timedelta(minutes=15)
T0 = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
LAST_MODIFIED = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
SITE_PREFIX = "BENCH-COMMIT-"


def setup(database_url: str) -> None:
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/commit_phase.py measures PostgreSQL: pass --database-url postgres://…")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    ensure_database(database_url)
    setup_django(database_url)

    migrate()


# --- The engine-facing part: the only lines that name the stage's API -------------------------------------------


def open_stage(batch):
    """The batch's stage, as acquisition.smart_append opens it: the batch attempt's rows of the staging table."""
    from acquisition.staging import BatchStage

    return BatchStage("continuous", batch_id=batch.pk, attempt=batch.attempts)


def commit_member(stage, series_pk: int, run_id: int):
    """One member's commit of its staged rows: its own transaction (acquisition.committing.commit)."""
    from django.db import transaction

    with transaction.atomic():
        return stage.store(series_pk, replace=None, run_id=run_id)


# --- Data --------------------------------------------------------------------------------------------------------


def build(members: int, stored_per_series: int):
    """`members` continuous series with `stored_per_series` Provisional values each; a run and a batch to own the
    stage. Returns (series pks, run, batch)."""
    from django.db import connection

    from acquisition.models import ContinuousValue, PullRun, PullRunBatch, RevisionSet
    from stations.models import MonitoringLocation, TimeSeries

    table = ContinuousValue._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}, {RevisionSet._meta.db_table}")
    PullRun.objects.filter(configuration_name="bench commit phase").delete()
    MonitoringLocation.objects.filter(monitoring_location_id__startswith=SITE_PREFIX).delete()
    locations = MonitoringLocation.objects.bulk_create(
        MonitoringLocation(
            monitoring_location_id=f"{SITE_PREFIX}{i:04d}", site_number=f"9{i:07d}", name=f"BENCH COMMIT CREEK {i}"
        )
        for i in range(members)
    )
    series = TimeSeries.objects.bulk_create(
        TimeSeries(location=loc, kind=TimeSeries.Kind.CONTINUOUS, time_series_id=f"bench-commit-{i}", primary=True)
        for i, loc in enumerate(locations)
    )
    pks = [s.pk for s in series]
    started = time.perf_counter()
    chunk = 20
    for i in range(0, len(pks), chunk):
        with connection.cursor() as cursor:
            # Values as value_of() computes them, so a wave can send back the very same value.
            cursor.execute(
                f"""
                INSERT INTO {table} (series_id, time, value, qualifiers, approval_status, last_modified)
                SELECT s.id, %s::timestamptz + g * interval '15 minutes',
                       ((s.id * 7919 + g) %% 10000)::numeric / 10, '[]'::jsonb, 'Provisional', %s
                  FROM unnest(%s::bigint[]) s(id), generate_series(0, %s - 1) g
                """,
                [T0, LAST_MODIFIED, pks[i : i + chunk], stored_per_series],
            )
        print(f"  stored {min(i + chunk, len(pks)) * stored_per_series:,} rows", end="\r", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"  stored {len(pks) * stored_per_series:,} rows in {time.perf_counter() - started:.0f} s (vacuumed)   ",
        flush=True,
    )
    run = PullRun.objects.create(
        configuration_name="bench commit phase", data_type="continuous", strategy="append", status="running"
    )
    batch = PullRunBatch.objects.create(run=run, number=1, status="running", stations=members, attempts=1)
    return pks, run, batch


def value_of(series_pk: int, g: int) -> float:
    return ((series_pk * 7919 + g) % 10000) / 10


def wave(series_pk: int, first: int, count: int, status: str, times: list[str]):
    """The readings of one member's approval wave: its values `first` .. `first + count - 1`, approval `status`."""
    from acquisition.usgs.parsers import Reading

    lm = LAST_MODIFIED + dt.timedelta(days=17)
    lm_text = lm.isoformat()
    tsid = f"bench-commit-{series_pk}"
    out = []
    for g in range(first, first + count):
        value = value_of(series_pk, g)
        out.append(Reading(tsid, None, value, [], status, lm, times[g], repr(value), lm_text))
    return out


# --- One stage size ----------------------------------------------------------------------------------------------


def measure(size_members: int, committed: list[int], ctx: dict, *, vacuum: bool = True) -> dict:
    """Stage the waves of the first `size_members` members, commit those of `committed` (indexes), discard."""
    from django.db import connection

    from acquisition.models import ContinuousValue

    pks, run, batch, per, first, times, state = (
        ctx[k] for k in ("pks", "run", "batch", "per", "first", "times", "state")
    )
    if vacuum:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {ContinuousValue._meta.db_table}")
    started = time.perf_counter()
    stage = open_stage(batch)
    for pk in pks[:size_members]:
        flipped = "Approved" if state[pk] == "Provisional" else "Provisional"
        stage.add(pk, wave(pk, first, per, flipped, times))
    staged_s = time.perf_counter() - started
    samples = []
    phase_started = time.perf_counter()
    for index in committed:
        pk = pks[index]
        t = time.perf_counter()
        counts = commit_member(stage, pk, run.pk)
        samples.append(time.perf_counter() - t)
        if counts.updated != per or counts.received != per:
            sys.exit(f"harness check failed: member {pk} received {counts.received}, updated {counts.updated} of {per}")
        state[pk] = "Approved" if state[pk] == "Provisional" else "Provisional"
    phase_s = time.perf_counter() - phase_started
    t = time.perf_counter()
    stage.discard()
    discard_s = time.perf_counter() - t
    p50, p95 = percentiles(samples)
    return {
        "rows": size_members * per,
        "members": size_members,
        "committed": len(committed),
        "staged_s": staged_s,
        "p50": p50,
        "p95": p95,
        "max": max(samples),
        "phase_s": phase_s,
        "discard_s": discard_s,
    }


def spread(n: int, k: int) -> list[int]:
    """k indexes spread evenly over range(n) (all of them when k >= n)."""
    if k >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="postgres://… (created)")
    parser.add_argument("--members", type=int, default=MEMBERS, help="series in the batch")
    parser.add_argument("--rows", type=int, default=ROWS, help="staged rows at the whole batch (the wave)")
    parser.add_argument("--stored-days", type=int, default=STORED_DAYS, help="days of 15-minute values stored")
    parser.add_argument(
        "--sizes", default=",".join(str(s) for s in SIZES), help="stage sizes (rows) below the whole batch"
    )
    parser.add_argument("--sample", type=int, default=SAMPLE, help="members committed at each smaller size")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script, measures nothing")
    args = parser.parse_args()
    if args.smoke:
        args.members, args.rows, args.stored_days, args.sizes, args.sample = 6, 6 * 600, 8, "1200,2400", 2
    per = args.rows // args.members
    stored = args.stored_days * 96
    if per < 1 or per > stored:
        sys.exit(f"--rows / --members ({per}) must be between 1 and the stored values a series ({stored})")
    sizes = sorted({min(args.members, math.ceil(int(s) / per)) for s in args.sizes.split(",") if s.strip()})
    sizes = [s for s in sizes if 1 < s < args.members]

    setup(args.database_url)
    from acquisition.staging import BatchStage

    stage_kind = "batch-keyed (issue 21)" if "batch_id" in inspect.signature(BatchStage).parameters else "temporary"
    print(
        f"commit phase: {args.members} members x {per:,} staged rows of an approval wave "
        f"({args.members * per:,} at the whole batch); 15-minute series with {stored:,} stored values each; "
        f"stage: {stage_kind}",
        flush=True,
    )
    pks, run, batch = build(args.members, stored)
    times = [(T0 + g * STEP).isoformat() for g in range(stored)]
    ctx = {
        "pks": pks,
        "run": run,
        "batch": batch,
        "per": per,
        "first": stored - per,
        "times": times,
        "state": dict.fromkeys(pks, "Provisional"),
    }

    results = []
    # Baseline: one member's wave alone on the stage, a few members in turn, after one such commit to warm up.
    measure_one(0, ctx)
    base = [measure_one(i, ctx, vacuum=False) for i in spread(args.members, min(BASELINE_SAMPLE, args.members))]
    results.append(combine(base))
    print_row("baseline", results[-1])
    for size in sizes:
        results.append(measure(size, spread(size, args.sample), ctx))
        print_row("", results[-1])
    whole = measure(args.members, list(range(args.members)), ctx)
    results.append(whole)
    print_row("whole", whole)

    baseline = results[0]["p50"]
    print()
    print(
        f"whole commit phase at {whole['rows']:,} staged rows: {whole['committed']} members in "
        f"{whole['phase_s']:.1f} s; per member p50 {whole['p50']:.3f} s, p95 {whole['p95']:.3f} s, "
        f"max {whole['max']:.3f} s; stage filled in {whole['staged_s']:.1f} s "
        f"({whole['rows'] / whole['staged_s']:,.0f} rows/s), discarded in {whole['discard_s']:.2f} s"
    )
    ratios = ", ".join(f"{r['rows']:,} rows x{r['p50'] / baseline:.2f}" for r in results[1:])
    print(f"per-member p50 against the baseline's ({baseline:.3f} s, one member staged): {ratios}")
    flat = whole["p50"] / baseline
    verdict = "flat" if flat <= 1.5 else "grows with the stage"
    print(f"flat in the stage size (goal: whole-batch p50 <= 1.5x baseline): x{flat:.2f} — {verdict}")


def measure_one(index: int, ctx: dict, *, vacuum: bool = True) -> dict:
    """The baseline: a stage holding member `index`'s wave only, that member committed."""
    pks = ctx["pks"]
    order = [pks[index]] + [pk for i, pk in enumerate(pks) if i != index]
    return measure(1, [0], {**ctx, "pks": order}, vacuum=vacuum)


def combine(parts: list[dict]) -> dict:
    samples = [p["p50"] for p in parts]  # one commit each
    p50, p95 = percentiles(samples)
    return {
        "rows": parts[0]["rows"],
        "members": 1,
        "committed": len(parts),
        "staged_s": sum(p["staged_s"] for p in parts) / len(parts),
        "p50": p50,
        "p95": p95,
        "max": max(samples),
        "phase_s": sum(p["phase_s"] for p in parts),
        "discard_s": sum(p["discard_s"] for p in parts) / len(parts),
    }


def print_row(label: str, r: dict) -> None:
    if label == "baseline":
        print(
            f"{'':10} {'staged rows':>12} {'members':>8} {'committed':>9} {'p50 s':>7} {'p95 s':>7} {'max s':>7} "
            f"{'phase s':>8} {'stage s':>8}"
        )
    print(
        f"{label:10} {r['rows']:>12,} {r['members']:>8} {r['committed']:>9} {r['p50']:>7.3f} {r['p95']:>7.3f} "
        f"{r['max']:>7.3f} {r['phase_s']:>8.1f} {r['staged_s']:>8.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
