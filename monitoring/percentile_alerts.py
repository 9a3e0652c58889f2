"""Alerts on WaterWatch classes (issue 24), through the alert machinery of monitoring/alerts.py (ALERT_EMAILS and
the channels' rules, once per condition, a recovery notice when it clears):

- drought watch (PERCENTILE_ALERT_LOW_DAYS = N, default 3): a station's newest N daily values, on N consecutive
  days, are all below the 10th percentile of their calendar days (much below normal or a record low);
- high flow (PERCENTILE_ALERT_HIGH_DAYS = N, default 1): its newest N daily values all above the 90th (much above
  normal or a record high).

Each clears when the newest values no longer are so (a newer value ranks higher / lower, or cannot be ranked).
Judged per station of an enabled configuration, on the series its page ranks (monitoring.percentiles: the primary
daily discharge series), against the stored normals; the alert names the station's first enabled configuration
(by name) for the channel rules. When: every hour (beat) and after each run (for the stations it stored). A
station whose check fails is logged and the others go on; nothing here raises into a run.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlencode

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from acquisition.models import DailyValue, NormalsFetch, PullRun, PullRunStation, SeriesNormal
from pulls.models import PullConfigurationStation
from stations.models import TimeSeries

from .alerts import absolute_url, clear_alert, open_alert
from .models import AlertState
from .percentile_views import ordinal
from .percentiles import Ranking, normal_for, rank, station_series

logger = logging.getLogger(__name__)

KINDS = (AlertState.Kind.DROUGHT_WATCH, AlertState.Kind.HIGH_FLOW)
LOW_KEYS = ("much_below", "record_low")
HIGH_KEYS = ("much_above", "record_high")


def enabled() -> bool:
    return bool(settings.PERCENTILE_ALERT_LOW_DAYS or settings.PERCENTILE_ALERT_HIGH_DAYS)


def newest_rankings(series: TimeSeries, n: int) -> list[Ranking]:
    """The rankings of the series' newest `n` daily values (newest first), or fewer when they are not n
    consecutive days."""
    rows = list(
        DailyValue.objects.filter(series=series, value__isnull=False).order_by("-date").values_list("date", "value")[:n]
    )
    consecutive = [rows[0]] if rows else []
    for day, value in rows[1:]:
        if consecutive[-1][0] - day != dt.timedelta(days=1):
            break
        consecutive.append((day, value))
    normals = {(m.month, m.day): m for m in SeriesNormal.objects.filter(series=series)} if consecutive else {}
    fetched = NormalsFetch.objects.filter(series=series).first()
    return [rank(series, day, value, normal_for(normals, day), fetched) for day, value in consecutive]


def check(location_ids: list[int] | None = None) -> dict[str, int]:
    """Judge the stations of enabled configurations (only `location_ids` among them, when given)."""
    result = {"checked": 0, "opened": 0, "cleared": 0}
    if not enabled():
        return result
    members = PullConfigurationStation.objects.filter(configuration__enabled=True)
    if location_ids is not None:
        members = members.filter(location_id__in=location_ids)
    configs: dict[int, object] = {}
    for member in members.select_related("configuration").order_by("configuration__name", "pk"):
        configs.setdefault(member.location_id, member.configuration)
    chosen = station_series(list(configs))
    judged = set()
    for location_id, series in chosen.items():
        judged.add(series.pk)
        try:
            with transaction.atomic():  # one station's database error rolls back only its own
                opened, cleared = _check(series, configs[location_id])
        except Exception:  # noqa: BLE001 - one station's failure must not stop the others
            logger.exception("Percentile alert check failed for series %s", series.pk)
            continue
        result["checked"] += 1
        result["opened"] += opened
        result["cleared"] += cleared
    if location_ids is None:  # series no enabled configuration pulls any more: their alerts clear
        for state in AlertState.objects.filter(kind__in=KINDS, active=True):
            if int(state.key.split(":")[1]) not in judged:
                result["cleared"] += clear_alert(state.key)
    return result


def _check(series: TimeSeries, config) -> tuple[int, int]:
    series = TimeSeries.objects.select_related("location").get(pk=series.pk)
    low_n, high_n = settings.PERCENTILE_ALERT_LOW_DAYS, settings.PERCENTILE_ALERT_HIGH_DAYS
    recent = newest_rankings(series, max(low_n, high_n))
    opened = cleared = 0
    for kind, n, keys in ((AlertState.Kind.DROUGHT_WATCH, low_n, LOW_KEYS), (AlertState.Kind.HIGH_FLOW, high_n,
                                                                              HIGH_KEYS)):  # fmt: skip
        if not n:
            continue
        key = f"{kind}:{series.pk}"
        window = recent[:n]
        if len(window) == n and all(r.key in keys for r in window):
            subject = _subject(series, kind, n)
            opened += open_alert(key, kind, subject, lambda w=window, k=kind: _body(series, k, w), config=config,
                            location=series.location)  # fmt: skip
        else:
            cleared += clear_alert(key)
    return opened, cleared


def _subject(series: TimeSeries, kind: str, n: int) -> str:
    site = series.location.monitoring_location_id
    days = f"{n} day{'s' if n != 1 else ''}"
    if kind == AlertState.Kind.DROUGHT_WATCH:
        return f"[Streamflow] Drought watch: {site} below the 10th percentile for {days}"[:255]
    return f"[Streamflow] High flow: {site} above the 90th percentile for {days}"[:255]


def _body(series: TimeSeries, kind: str, window: list[Ranking]) -> str:
    location = series.location
    lines = [
        f"Station: {location.monitoring_location_id} {location.name}",
        f"Series: daily mean {series.parameter_code} (series {series.time_series_id})",
        "",
        "Newest daily values against USGS's statistics of their calendar day (approved years):",
    ]
    for r in window:
        where = f"{ordinal(r.percentile)} percentile" if r.percentile is not None else r.label.lower()
        lines.append(f"- {r.date:%Y-%m-%d}: {r.value:g} {series.unit}, {where} ({r.label})")
    threshold = "below the 10th" if kind == AlertState.Kind.DROUGHT_WATCH else "above the 90th"
    start = window[-1].date - dt.timedelta(days=60)
    path = reverse("monitoring:station_data", args=[location.monitoring_location_id])
    query = urlencode({"kind": "daily", "start": start.isoformat(), "end": window[0].date.isoformat()})
    lines += [
        "",
        f"Hydrograph with the percentile bands: {absolute_url(f'{path}?{query}')}",
        "",
        f"You will not get another message about this until the newest value is no longer {threshold} percentile.",
    ]
    return "\n".join(lines)


# --- Entry points -------------------------------------------------------------------------------------------


def run_finished(run: PullRun) -> None:
    """Queue the check of a finished run's stations once the caller commits. Never raises into the run."""
    if not enabled():
        return
    try:
        if run.status in (*PullRun.ACTIVE_STATUSES, PullRun.Status.SKIPPED) or not run.stations_succeeded:
            return
        transaction.on_commit(lambda: _enqueue(run.pk))
    except Exception:  # noqa: BLE001 - an alert problem is logged, never propagated into the run
        logger.exception("Could not queue the percentile alert check of run %s", run.pk)


def _enqueue(run_id: int) -> None:
    try:
        check_run_task.delay(run_id)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the run; the hourly check still runs
        logger.exception("Could not queue the percentile alert check of run %s", run_id)


@shared_task(name="monitoring.percentile_alerts.check", ignore_result=True)
def check_task() -> dict[str, int]:
    """Hourly (CELERY_BEAT_SCHEDULE)."""
    return check()


@shared_task(name="monitoring.percentile_alerts.check_run", ignore_result=True)
def check_run_task(run_id: int) -> dict[str, int]:
    stored = PullRunStation.objects.filter(run_id=run_id, status=PullRunStation.Status.SUCCEEDED)
    return check(list(stored.values_list("location_id", flat=True)))
