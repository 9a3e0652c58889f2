"""Smart Append (DESIGN.md §4): pull one batch of a run, then commit each member's values and progress together.

1. Plan: each member's window comes from its progress (acquisition.planning); stations were put in batches that
   share requests when the run started.
2. Fetch: the batch's series are found (one time-series-metadata request for all members the catalog does not
   know, and for the run's other batches' unknown stations too), then one revision pass and one window for all
   members, every page staged as it arrives (acquisition.fetching, acquisition.staging). A request that fails after
   its retries fails this attempt of every member: nothing of theirs is stored, their progress stays, the next run
   retries their windows.
3. Commit: every page read, the members commit as a set in one transaction on PostgreSQL
   (acquisition.batch_commit); if that fails, or on SQLite, each member commits its values, progress and run row in
   its own transaction (acquisition.committing), so one member failing does not undo the others.
4. Idempotent: the upsert rewrites only rows whose value, qualifiers or approval changed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from contextlib import suppress

from django.db import InterfaceError, OperationalError, connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from acquisition import batch_commit, run_bookkeeping, tallies
from acquisition.committing import StationError, StationSkipped, Superseded, commit, removed_message
from acquisition.fetching import Member, count_windows, discover_series, fetch
from acquisition.models import PullRun, PullRunBatch, PullRunStation
from acquisition.planning import BatchPlan, local_midnight, plan_clock, plan_member
from acquisition.runlog import ERROR, INFO, WARNING, BatchEvents, plural, when
from acquisition.staging import BatchStage
from acquisition.throttled_client import build_client
from acquisition.usgs import USGSClient
from pulls.models import PullConfiguration, StationProgress
from stations.models import TimeSeries
from stations.parameters import DISCHARGE, parameter_name, series_label

logger = logging.getLogger(__name__)

__all__ = ["StationError", "StationSkipped", "pull_batch", "run_inline"]


def pull_batch(
    run_id: int,
    number: int,
    *,
    client_factory: Callable[..., USGSClient] = build_client,
    echo: Callable[[str], None] | None = None,
    worker: str = "",
    db_errors: bool = False,
) -> PullRunBatch | None:
    """Pull batch `number` of run `run_id`, record each member's outcome, finalize the run if it was the last.

    Returns the batch, or None when there was nothing to do (run over, batch finished or being pulled by another
    task). With `db_errors=True` (the Celery task) a database error is raised to the caller, which puts the batch
    back and retries on a fresh connection; otherwise it is recorded as the members' failure.
    """
    claimed = run_bookkeeping.claim_batch(run_id, number, worker=worker)
    if claimed is None:
        run_bookkeeping.finalize_run(run_id)  # a duplicate of the last batch's task: make sure the run is not left open
        return None
    batch, rows = claimed
    run = batch.run
    events = BatchEvents(batch, run.batches.count())
    events.echo = echo
    if batch.attempts > 1:
        events.say(
            f"{events.label}: attempt {batch.attempts}, pulling its {plural(len(rows), 'station')} again (earlier "
            f"attempts made {batch.requests_made} requests and stored nothing for them).",
            level=WARNING,
        )
    client = None
    started = timezone.now()
    try:
        client = events.client = client_factory(on_event=events, on_throttle_wait=events.throttled, sleep=events.sleep)
        members = _prepare(run, batch, rows, client, events)
        if members:
            _fetch_and_commit(run, batch, members, client, events, started)
    except Exception as exc:
        if db_errors and isinstance(exc, OperationalError | InterfaceError):
            run_bookkeeping.drop_unusable_connection()
            with suppress(OperationalError, InterfaceError):  # still down: the janitor resumes it later
                run_bookkeeping.release_batch(run_id, number, attempt=batch.attempts)
            exc.batch_attempt = batch.attempts  # the task's give-up fails only this attempt's members
            raise
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, StationError | OSError) and not type(exc).__module__.startswith("acquisition.usgs"):
            logger.exception("batch %s of run %s failed", number, run_id)
            message = f"{type(exc).__name__}: {message}"
        _fail_unfinished(run, batch, message, events)
    finally:
        if client is not None:
            client.close()
    run_bookkeeping.batch_finished(run_id, batch.pk, requests_made=events.requests(), attempt=batch.attempts)
    return PullRunBatch.objects.get(pk=batch.pk)


def _fail_unfinished(run: PullRun, batch: PullRunBatch, message: str, events: BatchEvents) -> None:
    """A batch request failed: every member not yet finished fails this attempt, its values and progress as they
    were. Each member's line names the cause (the run page filters the log by station)."""
    failed = 0
    for station in batch.members.filter(status__in=run_bookkeeping.UNFINISHED).select_related("location"):
        if run_bookkeeping.fail_station(
            station, message, configuration_id=run.configuration_id, attempt=batch.attempts
        ):
            failed += 1
            events.say(
                f"Failed: {message} Its stored values and progress are unchanged; the next run retries this window.",
                level=ERROR,
                location_id=station.location_id,
                site=station.location.monitoring_location_id,
            )
    if failed:
        events.say(
            f"{events.label} failed: its {plural(failed, 'station')} keep their stored values and progress; the next "
            "run retries their windows.",
            level=ERROR,
        )


def _prepare(run: PullRun, batch: PullRunBatch, rows: list[PullRunStation], client: USGSClient, events) -> list[Member]:
    """Members still in the configuration, with their progress, series and plan; the others finish here."""
    config = run.configuration
    if config is None or not PullConfiguration.objects.filter(pk=config.pk).exists():
        raise StationError(run_bookkeeping.CONFIGURATION_DELETED)
    current = set(config.memberships.filter(location_id__in=[r.location_id for r in rows]).values_list(
        "location_id", flat=True
    ))  # fmt: skip
    kind = TimeSeries.Kind.DAILY if run.data_type == PullConfiguration.DataType.DAILY_MEAN else "continuous"
    progress = _progress_rows(config, [r for r in rows if r.location_id in current])
    members = []
    for row in rows:
        if row.location_id not in current:
            message = removed_message(row, run)
            run_bookkeeping.fail_station(row, message, status=PullRunStation.Status.SKIPPED, attempt=row.attempts)
            events.say(message, level=WARNING, location_id=row.location_id, site=row.location.monitoring_location_id)
            continue
        members.append(Member(run_station=row, progress=progress[_key(row)], attempt=row.attempts))
    if not members:
        return []
    events.set_phase("series list")
    discover_series(members, kind, client, elsewhere=lambda: _undiscovered_elsewhere(run, batch, kind))
    clock = plan_clock(run)
    usable = []
    for m in members:
        if m.series is None:
            _no_such_series(m, kind, config, events, clock)
            continue
        m.plan = plan_member(run, run.start_date or config.start_date, m.progress, m.run_station.location, clock)
        usable.append(m)
    return usable


def _key(row: PullRunStation | StationProgress) -> tuple[int, str, str]:
    return (row.location_id, row.parameter_code, row.statistic_id)


def _progress_rows(config: PullConfiguration, members: list[PullRunStation]) -> dict[tuple, StationProgress]:
    """The members' progress rows by (location, parameter, statistic), created where missing (a parameter added to
    the configuration after its stations: its rows start empty, so it loads from the start date): three statements
    for any batch size."""
    rows = StationProgress.objects.select_related("time_series").filter(configuration=config)
    location_ids = {m.location_id for m in members}
    found = {_key(p): p for p in rows.filter(location_id__in=location_ids)}
    missing = [m for m in members if _key(m) not in found]
    if missing:
        StationProgress.objects.bulk_create(
            [
                StationProgress(
                    configuration=config, location_id=m.location_id, parameter_code=m.parameter_code,
                    statistic_id=m.statistic_id,
                )
                for m in missing
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        found.update((_key(p), p) for p in rows.filter(location_id__in={m.location_id for m in missing}))
    return found


def _undiscovered_elsewhere(run: PullRun, batch: PullRunBatch, kind: str) -> list:
    """Stations of the run's other unfinished batches whose series the catalog does not know yet (asked along with
    this batch's, once, instead of once a batch)."""
    known = TimeSeries.objects.filter(kind=kind, primary=True, parameter_code=OuterRef("parameter_code")).filter(
        location_id=OuterRef("location_id")
    )
    rows = (
        PullRunStation.objects.filter(run=run, status__in=run_bookkeeping.UNFINISHED)
        .exclude(batch=batch)
        .exclude(Exists(known))
        .select_related("location")
    )
    return list({row.location_id: row.location for row in rows}.values())


def _no_such_series(m: Member, kind: str, config: PullConfiguration, events: BatchEvents, now) -> None:
    """USGS lists no series of this kind for the station: it is skipped (not failed, so not retried as a failure
    forever); the first time it is said in the log, later runs skip it without asking USGS again."""
    code, stat = m.run_station.selection
    # "daily discharge", "continuous gage height", "water temperature, daily maximum"
    what = series_label(code, stat, kind).lower() if stat else f"{kind} {parameter_name(code).lower()}"
    if code == DISCHARGE:
        fix = f"Remove it from “{config.name}”, or pull its other data type."
    else:
        fix = (
            f"Its other parameters are pulled as usual; remove {parameter_name(code).lower()} from "
            f"“{config.name}” if none of its stations has it."
        )
    if m.progress.no_series_at is None:
        StationProgress.objects.filter(pk=m.progress.pk).update(no_series_at=now)
        message = (
            f"No such series: USGS lists no {what} series for {m.site}. {fix} Later runs skip it without "
            "asking again (until the catalog lists such a series)."
        )
        level = WARNING
    else:
        message = (
            f"No such series: USGS listed no {what} series for {m.site} on "
            f"{m.progress.no_series_at:%Y-%m-%d}; skipped without asking again. {fix}"
        )
        level = INFO
    run_bookkeeping.fail_station(m.run_station, message, status=PullRunStation.Status.SKIPPED, attempt=m.attempt)
    events.say(message, level=level, location_id=m.run_station.location_id, site=m.site)


def _fetch_and_commit(run, batch, members: list[Member], client, events: BatchEvents, started) -> None:
    plan = BatchPlan.of({m.run_station.pk: m.plan for m in members})
    batch.windows_total = count_windows(client, plan)
    for m in members:
        p = m.plan
        m.run_station.time_series = m.series
        m.run_station.window_start = local_midnight(p.start, None) if p.daily else p.start
        m.run_station.window_end = local_midnight(p.end + dt.timedelta(days=1), None) if p.daily else p.end
        m.run_station.windows_total = batch.windows_total
    _record_windows(members, batch.windows_total)
    PullRunBatch.objects.filter(pk=batch.pk, attempts=batch.attempts).update(windows_total=batch.windows_total)
    kind = members[0].series.kind
    asked = (
        f"{events.label}: asking {kind} values of {len(members)} series {when(plan.start)} → {when(plan.end)} "
        f"({plural(batch.windows_total, 'request chain')}"
    )
    if plan.revisions_since:
        asked += f", with values revised since {when(plan.revisions_since)} from {when(plan.revisions_from)}"
    if plan.replaces:
        asked += ", replacing the stored range"
    events.say(asked + ").")
    stage = BatchStage(kind, batch_id=batch.pk, attempt=batch.attempts)
    try:
        fetch(client, members, plan, stage, events)
        # The next revision pass starts from USGS's clock when this one began (the worker's, if that was earlier:
        # a clock behind USGS's only asks for a little more).
        server = client.first_server_date
        cutoff = started if server is None else min(server, started)
        _commit_members(run, batch, members, stage, started, cutoff, events)
    finally:
        with suppress(OperationalError, InterfaceError):  # the janitor sweeps what is left if this fails
            stage.discard()


def _record_windows(members: list[Member], windows_total: int) -> None:
    """Each member's series and window on its run row (the run page shows them while it runs): rows that share a
    window are one UPDATE each (a batch's caught-up members share one), then the series ids."""
    by_window: dict[tuple, list[int]] = defaultdict(list)
    for m in members:
        by_window[(m.run_station.window_start, m.run_station.window_end)].append(m.run_station.pk)
    for (start, end), pks in by_window.items():
        PullRunStation.objects.filter(pk__in=pks).update(
            window_start=start, window_end=end, windows_total=windows_total
        )
    if connection.vendor == "postgresql":
        batch_commit.record_series(members)
    else:  # one CASE of 2,000 branches costs quadratic time: slices of 250
        PullRunStation.objects.bulk_update([m.run_station for m in members], ["time_series"], batch_size=250)


def _commit_members(run, batch, members: list[Member], stage: BatchStage, started, cutoff, events) -> None:
    """All members together as a set where the database allows (acquisition.batch_commit), else, or for what the
    set left, each member on its own (rule 3 of DESIGN.md §4), the batch's heartbeat moving as they go; their
    success lines are written together at the end."""
    events.set_phase("committing")
    try:
        alone = _commit_as_set(run, batch, members, stage, started, cutoff, events) if len(members) > 1 else members
        for m in alone:
            _commit_one(run, batch, m, stage, started, cutoff, events)
            events.beat()
    finally:
        with suppress(Exception):  # a member's line must not hide what ended the loop
            events.flush()


def _commit_as_set(run, batch, members: list[Member], stage: BatchStage, started, cutoff, events) -> list[Member]:
    """Commit the members in one transaction; returns those left to commit one by one: every member when the set
    cannot commit (SQLite) or failed (rolled back: one bad member must not block the others), else the overwrites
    that came back empty (committing.commit refuses those with a sentence)."""
    empty_overwrites = [m for m in members if m.plan.replace and not m.staged]
    together = [m for m in members if not (m.plan.replace and not m.staged)]
    try:
        outcome = batch_commit.commit_set(run, together, stage, started, cutoff)
    except batch_commit.SetCommitUnavailable:
        return members
    except Exception as exc:
        logger.warning("batch %s of run %s could not commit as a set; member by member", batch.number, run.pk,
                       exc_info=True)  # fmt: skip
        events.say(
            f"{events.label}: committing its {plural(len(together), 'station')} together failed "
            f"({type(exc).__name__}: {exc}); committing them one by one, so one station's fault stops only itself.",
            level=WARNING,
        )
        return members
    events.beat()
    for m in outcome.skipped:
        message = removed_message(m.run_station, run)
        run_bookkeeping.fail_station(m.run_station, message, status=PullRunStation.Status.SKIPPED, attempt=m.attempt)
        events.say(message, level=WARNING, location_id=m.run_station.location_id, site=m.site)
    for m in outcome.superseded:
        events.say(
            "Another attempt of this station (or the janitor) finished it first; this attempt stored nothing.",
            level=WARNING,
            location_id=m.run_station.location_id,
            site=m.site,
        )
    for m in together:
        counts = outcome.committed.get(m.run_station.pk)
        if counts is not None:
            _say_stored(batch, m, counts, events)
    return empty_overwrites


def _say_stored(batch, m: Member, counts, events: BatchEvents) -> None:
    deleted = f", deleted {counts.deleted:,}" if counts.deleted else ""
    events.say_later(
        f"{plural(counts.received, 'value')} received (batch {batch.number}); inserted {counts.inserted:,}, "
        f"updated {counts.updated:,}, unchanged {counts.unchanged:,}{deleted}.",
        location_id=m.run_station.location_id,
        site=m.site,
    )


def _commit_one(run, batch, m: Member, stage: BatchStage, started, cutoff, events: BatchEvents) -> None:
    site, location_id = m.site, m.run_station.location_id
    try:
        counts = commit(run, m, stage, started, cutoff)
    except StationSkipped as exc:
        run_bookkeeping.fail_station(m.run_station, str(exc), status=PullRunStation.Status.SKIPPED, attempt=m.attempt)
        events.say(str(exc), level=WARNING, location_id=location_id, site=site)
        return
    except Superseded as exc:
        events.say(str(exc), level=WARNING, location_id=location_id, site=site)
        return
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, StationError):
            logger.exception("station %s of run %s failed to commit", site, run.pk)
            message = f"{type(exc).__name__}: {message}"
        run_bookkeeping.fail_station(m.run_station, message, configuration_id=run.configuration_id, attempt=m.attempt)
        events.say(
            f"Failed: {message} Its stored values and progress are unchanged; the next run retries this window.",
            level=ERROR,
            location_id=location_id,
            site=site,
        )
        return
    _say_stored(batch, m, counts, events)


def run_inline(
    configuration: PullConfiguration,
    *,
    trigger: str = PullRun.Trigger.MANUAL,
    triggered_by: str = "",
    range_start: dt.date | None = None,
    range_end: dt.date | None = None,
    echo: Callable[[str], None] | None = None,
    client_factory: Callable[..., USGSClient] = build_client,
    refresh_quality: bool = True,
) -> PullRun:
    """Run a configuration in this process, batch after batch (run_pull, tests): no broker involved. Then the
    quality tallies its set commits left in the backlog are refreshed (`refresh_quality=False`: left for the
    task, as the Celery path does)."""
    run = run_bookkeeping.start_run(
        configuration, trigger=trigger, triggered_by=triggered_by, range_start=range_start, range_end=range_end
    )
    if run.is_active:
        for number in run_bookkeeping.pending_batches(run.pk):
            pull_batch(run.pk, number, client_factory=client_factory, echo=echo)
    if refresh_quality:
        tallies.refresh_backlog()  # what the Celery path leaves to its refresh_quality task
    run.refresh_from_db()
    return run
