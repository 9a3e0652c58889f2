"""Committing one member of a batch: its values, its progress and its run row in one transaction (DESIGN.md §4.3).

Called once every page of the batch has arrived. The member's claim is checked first (fencing: the attempt number
it was claimed with must still be its own, so an attempt the janitor gave up on cannot store over a newer one);
then its staged rows are merged and its run row finished, all or nothing, and its progress moved as its plan says
(acquisition.planning.MemberPlan): an append or overwrite moves the newest committed time forward, records the
start date it covers from and USGS's clock as the next revision pass's cutoff; a re-pull moves none of it. One
member failing here does not touch the others: each commits on its own.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from acquisition import run_bookkeeping
from acquisition.fetching import Member
from acquisition.models import PullRun, PullRunStation
from acquisition.runlog import when
from acquisition.staging import BatchStage
from acquisition.storage import StoreCounts
from acquisition.tallies import refresh_tallies
from pulls.models import PullConfiguration, PullConfigurationStation, StationProgress
from stations.models import TimeSeries


class StationError(Exception):
    """A station cannot be pulled for a reason the operator can act on; the message says what to do."""


class StationSkipped(Exception):
    """The station left the configuration during the run: nothing to pull, nothing failed."""


class Superseded(Exception):
    """Another attempt (or the janitor) owns this station now; this attempt stores nothing."""


def removed_message(run_station: PullRunStation, run: PullRun) -> str:
    return (
        f"{run_station.location.monitoring_location_id} was removed from “{run.configuration_name}” during this "
        "run; it was skipped and nothing was stored for it."
    )


def _typed(value, daily: bool):
    # SQLite hands the newest staged time back as text.
    if isinstance(value, str):
        if daily:
            return dt.date.fromisoformat(value[:10])
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return value


def commit(run: PullRun, member: Member, stage: BatchStage, started: dt.datetime, cutoff: dt.datetime) -> StoreCounts:
    """The member's values, progress and run row together; raises StationSkipped / StationError / Superseded.

    `started` is when this attempt began (the last success shown to people); `cutoff` is USGS's clock then, where
    the next revision pass starts."""
    series, plan, run_station = member.series, member.plan, member.run_station
    daily = series.kind == TimeSeries.Kind.DAILY
    if plan.replace and not member.staged and _stored_in(series, plan.replace):
        # The series may be shared with other configurations: an empty answer (an outage, a series renamed
        # upstream) must not wipe what they rely on.
        raise StationError(
            f"USGS returned nothing for {when(plan.replace[0])} → {when(plan.replace[1])}; the stored values were "
            "kept. Run it again later; if USGS keeps answering nothing, check the station on waterdata.usgs.gov."
        )
    with transaction.atomic():
        owned = PullRunStation.objects.select_for_update().filter(
            pk=run_station.pk, status=PullRunStation.Status.RUNNING, attempts=member.attempt
        )
        if not owned.exists():
            raise Superseded(
                "Another attempt of this station (or the janitor) finished it first; this attempt stored nothing."
            )
        progress = StationProgress.objects.select_for_update().filter(pk=member.progress.pk).first()
        if (
            progress is None
            or not PullConfigurationStation.objects.filter(
                configuration_id=run.configuration_id, location_id=run_station.location_id
            ).exists()
        ):
            if not PullConfiguration.objects.filter(pk=run.configuration_id).exists():
                raise StationError(run_bookkeeping.CONFIGURATION_DELETED)
            raise StationSkipped(removed_message(run_station, run))
        counts = stage.store(series.pk, replace=plan.replace, run_id=run.pk, answered_at=cutoff)
        if counts.inserted or counts.updated or counts.deleted:
            # The quality tallies of what changed, in the same transaction (acquisition.tallies).
            low, high = _typed(counts.oldest, daily), _typed(counts.newest, daily)
            if plan.replace:
                low = plan.replace[0] if low is None else min(low, plan.replace[0])
                high = plan.replace[1] if high is None else max(high, plan.replace[1])
            if low is not None:
                refresh_tallies(series.kind, series.pk, low, high)
        progress.last_attempt_at = timezone.now()
        if plan.moves_progress:
            newest = _typed(counts.newest, daily)
            field = "newest_date" if daily else "newest_time"
            old = getattr(progress, field)
            if newest is not None and (old is None or newest > old):
                setattr(progress, field, newest)
            progress.time_series = series
            progress.no_series_at = None  # the catalog now lists one
            progress.covered_from = plan.covers_from
            progress.revisions_checked_at = cutoff
            if plan.deep:  # the whole range was asked for: a deep check too
                progress.deep_revisions_checked_at = cutoff
            progress.last_success_at = started
            progress.last_error = ""
            progress.consecutive_failures = 0
        progress.save()
        run_bookkeeping.mark_station_succeeded(
            run_station.pk,
            attempt=member.attempt,
            values_received=counts.received,
            values_inserted=counts.inserted,
            values_updated=counts.updated,
            values_unchanged=counts.unchanged,
        )
    return counts


def _stored_in(series: TimeSeries, replace: tuple) -> bool:
    model = series.daily_values if series.kind == TimeSeries.Kind.DAILY else series.continuous_values
    key = "date" if series.kind == TimeSeries.Kind.DAILY else "time"
    return model.filter(**{f"{key}__range": replace}).exists()
