"""Quality alerts (issue 14): a new gap in recent data, and a flat line. One alert per (condition, series) until
it clears, then a recovery notice, through the alert machinery of monitoring/alerts.py (ALERT_EMAILS and the
channels' rules). Both are off by default: QUALITY_ALERT_GAP_DAYS = QUALITY_ALERT_FLAT_DAYS = 0.

What is judged: the series the quality page shows for a station of an enabled configuration — its primary series
of the configuration's kind — with monitoring.quality's gaps and flags and their thresholds (QUALITY_GAP_*,
QUALITY_FLAT_*). Days are calendar dates (daily) or UTC days (continuous); "today" is the current UTC date.

- New gap (QUALITY_ALERT_GAP_DAYS = N): a gap — more than the tolerance missing in a row, a null value counting as
  missing — whose first missing value is within the last N days (today - N + 1 … today) and which a stored value
  follows, while the N days before those hold no gap (a record that begins in them has one there). The silence
  after the newest value is not a gap here: a gage that stops sending is the stale alert's. It clears when no such
  gap is left: the gap was filled or revised away, its start is now more than N days old, or the days before it
  are no longer complete.
- Flat line (QUALITY_ALERT_FLAT_DAYS = N): a flat flag — one non-zero value repeated for QUALITY_FLAT_DAILY_DAYS
  days / QUALITY_FLAT_CONTINUOUS_HOURS hours or more — that reaches the newest stored value, that value being
  within the last N days. It clears when a different value arrives (or the newest value is more than N days old:
  the stale alert speaks then). Runs of zeros are not alerted: ephemeral streams report zero flow for months on
  end; the quality page lists them.

When: after each run (acquisition's run_finished signal queues monitoring.tasks.check_quality_alerts), for the
stations the run stored, when its configuration is enabled — only a pull changes the stored values, so only a pull
opens one. Every hour monitoring.tasks.recheck_quality_alerts judges again the series with an active quality
alert, so one whose gap has left the window, or whose station is in no enabled configuration any more, clears
without waiting for a pull. With both settings 0 nothing is queried. A station that fails its check is logged and
the others go on; nothing here ever raises into a run.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from acquisition.models import PullRun, PullRunStation
from pulls.models import PullConfiguration, PullConfigurationStation
from stations.models import MonitoringLocation, TimeSeries

from . import signals
from .alerts import absolute_url, clear_alert, open_alert
from .models import AlertState
from .quality import Flag, Gap, Quality, Thresholds, extent, series_quality

logger = logging.getLogger(__name__)

MAX_GAPS_LISTED = 10
KINDS = (AlertState.Kind.NEW_GAP, AlertState.Kind.FLAT_LINE)


@dataclass(frozen=True)
class Windows:
    """The days judged, from the settings; a window is None when its alert is off."""

    today: dt.date
    gap_days: int
    flat_days: int

    @classmethod
    def from_settings(cls, now: dt.datetime | None = None) -> Windows:
        today = (now or timezone.now()).astimezone(dt.UTC).date()
        return cls(today, settings.QUALITY_ALERT_GAP_DAYS, settings.QUALITY_ALERT_FLAT_DAYS)

    @property
    def gap_start(self) -> dt.date | None:
        """First day of the last QUALITY_ALERT_GAP_DAYS days."""
        return self.today - dt.timedelta(days=self.gap_days - 1) if self.gap_days else None

    @property
    def flat_start(self) -> dt.date | None:
        return self.today - dt.timedelta(days=self.flat_days - 1) if self.flat_days else None

    def scan_start(self, daily: bool, th: Thresholds) -> dt.date:
        """First day of the one quality computation both judgments read: the gap window's N days before it, and
        the flat window with a flat line's length before it (so a flat line under way when it opens is whole)."""
        starts = []
        if self.gap_days:
            starts.append(self.gap_start - dt.timedelta(days=self.gap_days))
        if self.flat_days:
            flat = th.flat_daily_days if daily else math.ceil(th.flat_continuous_hours / 24)
            starts.append(self.flat_start - dt.timedelta(days=flat))
        return min(starts)


def enabled() -> bool:
    return bool(settings.QUALITY_ALERT_GAP_DAYS or settings.QUALITY_ALERT_FLAT_DAYS)


# --- Entry points -----------------------------------------------------------------------------------------


def run_finished(run: PullRun) -> None:
    """Queue the check of a finished run's stations once the caller commits. Never raises into the run."""
    if not enabled():
        return
    try:
        if run.status in (*PullRun.ACTIVE_STATUSES, PullRun.Status.SKIPPED) or not run.stations_succeeded:
            return
        transaction.on_commit(lambda: _enqueue(run.pk))
    except Exception:  # noqa: BLE001 - a quality alert problem is logged, never propagated into the run
        logger.exception("Could not queue the quality alert check of run %s of %r", run.pk, run.configuration_name)


def _enqueue(run_id: int) -> None:
    try:
        signals.ask(signals.quality_check_due, run_id=run_id)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the run; the hourly recheck still clears
        logger.exception("Could not queue the quality alert check of run %s", run_id)


def check_run(run_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Judge the stations run `run_id` stored (the check_quality_alerts task)."""
    if not enabled():
        return {"checked": 0, "opened": 0, "cleared": 0}
    run = PullRun.objects.select_related("configuration").filter(pk=run_id).first()
    config = run.configuration if run is not None else None
    if config is None or not config.enabled:
        return {"checked": 0, "opened": 0, "cleared": 0}
    stored = run.stations.filter(status=PullRunStation.Status.SUCCEEDED).values_list("location_id", flat=True)
    targets = [(series, config) for series in _series_of(list(stored), config.series_kind).values()]
    return _check_all(targets, Windows.from_settings(now))


def recheck_active(now: dt.datetime | None = None) -> dict[str, int]:
    """Judge again every series with an active quality alert (the hourly recheck_quality_alerts task), and clear
    the alerts of series no enabled configuration pulls any more."""
    if not enabled():
        return {"checked": 0, "opened": 0, "cleared": 0}
    states = list(AlertState.objects.filter(kind__in=KINDS, active=True).select_related("configuration"))
    by_series: dict[int, list[AlertState]] = {}
    for state in states:
        by_series.setdefault(int(state.key.split(":")[1]), []).append(state)
    series = TimeSeries.objects.filter(pk__in=by_series).select_related("location").in_bulk()
    in_scope = set(
        PullConfigurationStation.objects.filter(configuration__enabled=True, location__series__in=series.values())
        .values_list("location_id", "configuration__data_type")
        .distinct()
    )
    targets, cleared = [], 0
    for pk, series_states in by_series.items():
        s = series.get(pk)
        if s is None or (s.location_id, _data_type(s.kind)) not in in_scope:
            cleared += sum(clear_alert(state.key) for state in series_states)
        else:
            targets.append((s, series_states[0].configuration))
    result = _check_all(targets, Windows.from_settings(now))
    result["cleared"] += cleared
    return result


# --- Judging ------------------------------------------------------------------------------------------------


def new_gaps(
    quality: Quality, windows: Windows, newest: dt.date | dt.datetime, first: dt.date | None = None
) -> list[Gap]:
    """The gaps that start within the gap window and end before the newest stored value, if the N days before the
    window hold no gap; else none. A record that begins (its first present value's day: `first`) after the N days
    before the window began counts as a gap there: it was not complete before."""
    start = windows.gap_start
    before = start - dt.timedelta(days=windows.gap_days)
    if first is not None and first > before:
        return []
    if any(_day(g.start) < start and _day(g.end) >= before for g in quality.gaps):
        return []
    return [g for g in quality.gaps if _day(g.start) >= start and g.end < newest]


def flat_line(quality: Quality, windows: Windows, newest: dt.date | dt.datetime) -> Flag | None:
    """The flat flag that runs to the newest stored value, if that value is within the flat window."""
    if _day(newest) < windows.flat_start:
        return None
    return next((f for f in quality.flags if f.kind == "flat" and f.end >= newest), None)


def _check_all(targets: list[tuple[TimeSeries, PullConfiguration | None]], windows: Windows) -> dict[str, int]:
    result = {"checked": 0, "opened": 0, "cleared": 0}
    for series, config in targets:
        th = Thresholds.for_parameter(series.parameter_code)
        try:
            with transaction.atomic():  # a database error in one station's check rolls back only its own
                opened, cleared = _check(series, config, windows, th)
        except Exception:  # noqa: BLE001 - one station's failure must not stop the others
            logger.exception(
                "Quality alert check failed for %s (series %s) of configuration %r",
                series.location.monitoring_location_id,
                series.time_series_id,
                config.name if config else None,
            )
            continue
        result["checked"] += 1
        result["opened"] += opened
        result["cleared"] += cleared
    return result


def _check(series: TimeSeries, config: PullConfiguration | None, windows: Windows, th: Thresholds) -> tuple[int, int]:
    daily = series.kind == TimeSeries.Kind.DAILY
    newest = _newest_present(series, daily)
    gaps: list[Gap] = []
    flat: Flag | None = None
    recent = [s for s in (windows.gap_start, windows.flat_start) if s is not None]
    if newest is not None and _day(newest) >= min(recent):
        scan = windows.scan_start(daily, th)
        quality = series_quality(series, scan, windows.today, th)
        if windows.gap_days:
            record = extent(series)
            gaps = new_gaps(quality, windows, newest, record[0] if record else None)
        if windows.flat_days:
            flat = flat_line(quality, windows, newest)
    opened = cleared = 0
    location = series.location
    if windows.gap_days:
        key = f"{AlertState.Kind.NEW_GAP}:{series.pk}"
        if gaps:
            opened += open_alert(
                key,
                AlertState.Kind.NEW_GAP,
                _gap_subject(location, gaps[0]),
                lambda: _gap_body(series, gaps, windows),
                config=config,
                location=location,
            )
        else:
            cleared += clear_alert(key)
    if windows.flat_days:
        key = f"{AlertState.Kind.FLAT_LINE}:{series.pk}"
        if flat is not None:
            clipped = _day(flat.start) <= windows.scan_start(daily, th)
            opened += open_alert(
                key,
                AlertState.Kind.FLAT_LINE,
                _flat_subject(series, flat, clipped),
                lambda: _flat_body(series, flat, clipped, windows, th),
                config=config,
                location=location,
            )
        else:
            cleared += clear_alert(key)
    return opened, cleared


def _series_of(location_ids: list[int], kind: str) -> dict[int, TimeSeries]:
    """Each location's series of `kind`, primary first — the one the station's quality page shows."""
    chosen: dict[int, TimeSeries] = {}
    rows = TimeSeries.objects.filter(location__in=location_ids, kind=kind).select_related("location")
    for series in rows.order_by("location_id", "-primary", "pk"):
        chosen.setdefault(series.location_id, series)
    return chosen


def _newest_present(series: TimeSeries, daily: bool) -> dt.date | dt.datetime | None:
    values = series.daily_values if daily else series.continuous_values
    key = "date" if daily else "time"
    return values.filter(value__isnull=False).order_by(f"-{key}").values_list(key, flat=True).first()


def _day(t: dt.date | dt.datetime) -> dt.date:
    return t.astimezone(dt.UTC).date() if isinstance(t, dt.datetime) else t


def _data_type(kind: str) -> str:
    if kind == TimeSeries.Kind.DAILY:
        return PullConfiguration.DataType.DAILY_MEAN
    return PullConfiguration.DataType.CONTINUOUS


# --- Messages -----------------------------------------------------------------------------------------------


def _kind_label(series: TimeSeries) -> str:
    return PullConfiguration.DataType(_data_type(series.kind)).label.lower()


def _gap_subject(location: MonitoringLocation, gap: Gap) -> str:
    return f"[Streamflow] {location.monitoring_location_id} has a new gap: {gap.start_label} → {gap.end_label}"[:255]


def _gap_body(series: TimeSeries, gaps: list[Gap], windows: Windows) -> str:
    location, daily = series.location, series.kind == TimeSeries.Kind.DAILY
    tolerance = (
        f"more than {settings.QUALITY_GAP_DAILY_DAYS} day(s) missing in a row"
        if daily
        else f"more than {settings.QUALITY_GAP_CONTINUOUS_INTERVALS} intervals missing in a row"
    )
    before = windows.gap_start - dt.timedelta(days=windows.gap_days)
    lines = [
        f"Station: {location.monitoring_location_id} {location.name}",
        f"Data: {_kind_label(series)} (series {series.time_series_id})",
        "",
        f"New gap{'s' if len(gaps) > 1 else ''} in the last {windows.gap_days} days ({tolerance}):",
    ]
    for gap in gaps[:MAX_GAPS_LISTED]:
        lines.append(f"- {gap.start_label} → {gap.end_label}: {gap.missing} values missing ({_duration(gap.length)})")
    if len(gaps) > MAX_GAPS_LISTED:
        lines.append(f"- … and {len(gaps) - MAX_GAPS_LISTED} more (see the quality page)")
    lines += [
        f"The record was complete in the {windows.gap_days} days before ({before} – "
        f"{windows.gap_start - dt.timedelta(days=1)}). Values after the gap are stored, so this is a hole in the "
        "record, not a silent gage: USGS may have removed or not yet published those values; a later pull or a "
        "re-pull of the range fills it if they come back.",
        "",
        f"Quality page: {_quality_url(series, before, windows.today)}",
        "",
        "You will not get another message about gaps in this series until this clears (the gap is filled, or it is "
        f"more than {windows.gap_days} days old).",
    ]
    return "\n".join(lines)


def _flat_subject(series: TimeSeries, flag: Flag, clipped: bool) -> str:
    since = f"since {flag.start_label}{' or earlier' if clipped else ''}"
    return (
        f"[Streamflow] {series.location.monitoring_location_id} has been flat at {flag.value:g} {series.unit} {since}"
    )[:255]


def _flat_body(series: TimeSeries, flag: Flag, clipped: bool, windows: Windows, th: Thresholds) -> str:
    location, daily = series.location, series.kind == TimeSeries.Kind.DAILY
    threshold = f"{th.flat_daily_days} days" if daily else f"{th.flat_continuous_hours} hours"
    since = f"{flag.start_label}{' or earlier (before the days checked)' if clipped else ''}"
    return "\n".join(
        [
            f"Station: {location.monitoring_location_id} {location.name}",
            f"Data: {_kind_label(series)} (series {series.time_series_id})",
            "",
            f"Flat line: {flag.value:g} {series.unit}, the same value {flag.values} times in a row, from {since} "
            f"to the newest stored value ({flag.end_label}).",
            f"A flat line is one non-zero value repeated for {threshold} or more. A stuck sensor, an estimate held "
            "constant or a frozen gage can do this; check the USGS station page and the qualifiers.",
            "",
            f"Quality page: {_quality_url(series, windows.flat_start, windows.today)}",
            "",
            "You will not get another message about a flat line in this series until the values change.",
        ]
    )


def _quality_url(series: TimeSeries, start: dt.date, end: dt.date) -> str:
    path = reverse("monitoring:station_quality", args=[series.location.monitoring_location_id])
    query = urlencode({"kind": series.kind, "start": start.isoformat(), "end": end.isoformat()})
    return absolute_url(f"{path}?{query}")


def _duration(length: dt.timedelta) -> str:
    minutes = round(length.total_seconds() / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{mins} min" if mins else "")
    return " ".join(p for p in parts if p) or "0 min"
