"""Alert emails (DESIGN §8): a run failed or ended partial, a configuration failed N times in a row, a station
went stale. One email per condition: an AlertState row opens with the first email and stays quiet until the
condition clears (a successful run, fresh data), so a long outage never becomes an alert storm.

Links in emails are absolute: settings.SITE_URL (e.g. "https://streamflow.example.org") + the page's path. No
django.contrib.sites: one deployment has one public address, and a setting says it plainly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from acquisition.models import PullRun, PullRunStation
from pulls.models import PullConfiguration

from . import channels, signals
from .models import AlertCondition, AlertState
from .staleness import StaleStation, stale_stations

logger = logging.getLogger(__name__)

MAX_STATIONS_LISTED = 20


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- Entry points -----------------------------------------------------------------------------------------


def run_finished(run: PullRun) -> None:
    """Called by acquisition after every run reaches a terminal status. Never raises: alerts must not fail a run."""
    try:
        _run_finished(run)
    except Exception:  # noqa: BLE001 - an alert problem is logged, never propagated into the run
        logger.exception("Alert handling failed for run %s of %r", run.pk, run.configuration_name)


def check_stale_stations() -> dict[str, int]:
    """Open an alert for each newly silent gage, clear the alerts of stations that have fresh data again.

    Failing pulls are not alerted here: the run alerts already speak for them."""
    stale = stale_stations()
    silent = {s.key: s for s in stale if not s.failing}
    opened = 0
    for key, station in silent.items():
        if open_alert(
            key,
            AlertState.Kind.STALE_STATION,
            _stale_subject(station),
            lambda s=station: _stale_body(s),
            location=station.location,
        ):
            opened += 1
    cleared = 0
    for state in AlertState.objects.filter(kind=AlertState.Kind.STALE_STATION, active=True).exclude(
        key__in=list(silent)
    ):
        cleared += clear_alert(state.key)
    return {"stale": len(silent), "opened": opened, "cleared": cleared}


# --- Run alerts -------------------------------------------------------------------------------------------


def _run_finished(run: PullRun) -> None:
    config = run.configuration
    if config is None or run.status in (*PullRun.ACTIVE_STATUSES, PullRun.Status.SKIPPED):
        # Skipped runs say nothing about the source; a run of a deleted configuration has nobody to recover it.
        return
    run_key, streak_key = f"run:{config.pk}", f"streak:{config.pk}"

    if run.status in (PullRun.Status.FAILED, PullRun.Status.PARTIAL):
        open_alert(
            run_key, AlertState.Kind.RUN_FAILED, _run_subject(run), lambda: _run_body(run), config=config, run=run
        )
    else:
        clear_alert(run_key)

    if run.status == PullRun.Status.FAILED and _failed_in_a_row(config):
        disabled = _auto_disable(config, run)
        open_alert(
            streak_key,
            AlertState.Kind.CONSECUTIVE_FAILURES,
            f"[Streamflow] {config.name} failed {settings.ALERT_CONSECUTIVE_FAILURES} runs in a row"
            + (" and was disabled" if disabled else ""),
            lambda: _streak_body(config, run, disabled),
            config=config,
            run=run,
        )
    elif run.status != PullRun.Status.FAILED:
        clear_alert(streak_key)


def _failed_in_a_row(config: PullConfiguration) -> bool:
    n = settings.ALERT_CONSECUTIVE_FAILURES
    if n <= 0:
        return False
    recent = list(
        PullRun.objects.filter(configuration=config)
        .finished()
        .exclude(status=PullRun.Status.SKIPPED)
        .order_by("-created_at", "-pk")
        .values_list("status", flat=True)[:n]
    )
    return len(recent) == n and all(status == PullRun.Status.FAILED for status in recent)


def _auto_disable(config: PullConfiguration, run: PullRun) -> bool:
    """Pause the configuration if it is still enabled; True when this call paused it.

    One conditional UPDATE of `enabled` and its reason, not a save() of the copy this worker loaded: an operator's
    edit made meanwhile stays, and a configuration paused (and perhaps resumed) meanwhile is left as they set it.
    The queryset's update() syncs the beat task, as the post_save signal would."""
    if not settings.ALERT_AUTO_DISABLE or not config.enabled:
        return False
    reason = (
        f"Paused automatically after {settings.ALERT_CONSECUTIVE_FAILURES} failed runs in a row "
        f"(last: run #{run.pk} on {timezone.localtime(run.finished_at or timezone.now()):%Y-%m-%d %H:%M}). "
        "Fix the cause, then enable it again."
    )[:255]
    paused = PullConfiguration.objects.filter(pk=config.pk, enabled=True).update(
        enabled=False, auto_disabled_reason=reason, updated_at=timezone.now()
    )
    if paused:
        config.enabled, config.auto_disabled_reason = False, reason
    return bool(paused)


def _run_subject(run: PullRun) -> str:
    verb = "failed" if run.status == PullRun.Status.FAILED else "ended partial"
    return f"[Streamflow] Run #{run.pk} of {run.configuration_name} {verb}"[:255]


def _run_body(run: PullRun) -> str:
    failed = list(
        run.stations.filter(status=PullRunStation.Status.FAILED).select_related("location")[: MAX_STATIONS_LISTED + 1]
    )
    lines = [
        f"Configuration: {run.configuration_name}",
        f"Run: #{run.pk} ({run.get_trigger_display().lower()}), status {run.get_status_display().lower()}",
        f"Stations: {run.stations_succeeded} succeeded, {run.stations_failed} failed of {run.stations_total}",
    ]
    if run.message:
        lines.append(f"Error: {run.message}")
    if failed:
        lines += ["", "Failed stations:"]
        for station in failed[:MAX_STATIONS_LISTED]:
            loc = station.location
            lines.append(f"- {loc.monitoring_location_id} {loc.name}: {station.error or 'no error recorded'}")
        if len(failed) > MAX_STATIONS_LISTED:
            lines.append(f"- … and {run.stations_failed - MAX_STATIONS_LISTED} more (see the run page)")
    lines += [
        "",
        f"Run page: {absolute_url(run.get_absolute_url())}",
        "",
        "You will not get another email about this configuration's failures until a run succeeds.",
    ]
    return "\n".join(lines)


def _streak_body(config: PullConfiguration, run: PullRun, disabled: bool) -> str:
    lines = [
        f"Configuration: {config.name}",
        f"The last {settings.ALERT_CONSECUTIVE_FAILURES} runs failed; the latest is run #{run.pk}.",
    ]
    if run.message:
        lines.append(f"Error: {run.message}")
    if disabled:
        lines.append("It has been paused automatically: it will not run on schedule until an operator resumes it.")
    lines += [
        "",
        f"Run page: {absolute_url(run.get_absolute_url())}",
        f"Configuration page: {absolute_url(config.get_absolute_url())}",
    ]
    return "\n".join(lines)


# --- Stale alerts -----------------------------------------------------------------------------------------


def _stale_subject(station: StaleStation) -> str:
    loc = station.location
    return f"[Streamflow] {loc.monitoring_location_id} has no new {station.data_type_label.lower()} data"[:255]


def _stale_body(station: StaleStation) -> str:
    loc = station.location
    hours = (
        settings.STALE_DAILY_HOURS
        if station.data_type == PullConfiguration.DataType.DAILY_MEAN
        else settings.STALE_CONTINUOUS_HOURS
    )
    newest = station.newest if station.newest is not None else "nothing stored yet"
    return "\n".join(
        [
            f"Station: {loc.monitoring_location_id} {loc.name}",
            f"Data: {station.data_type_label}",
            f"Newest stored value: {newest} (older than {hours} h)",
            "Our pulls of this station succeed: USGS has published nothing newer. The gage or its telemetry may be "
            "down; check the USGS station page.",
            "",
            f"Station data: {absolute_url(reverse('monitoring:station_data', args=[loc.monitoring_location_id]))}",
            "",
            "You will not get another email about this station until fresh data arrives.",
        ]
    )


# --- Alert state --------------------------------------------------------------------------------------------


def open_alert(key: str, kind: str, subject: str, body: Callable[[], str], **links) -> bool:
    """Turn the condition on; alert only if it was off. Returns True when an alert was due.

    Nothing is sent here, inside the caller's task and transaction: once it commits, the ALERT_EMAILS email goes
    out from monitoring.tasks.send_alert_email and each channel whose rules match gets a delivery
    (monitoring.channels), both with retries — so a rolled-back run alerts nobody, and a slow receiver holds up
    no station."""
    now = timezone.now()
    try:
        with transaction.atomic():
            state, created = AlertState.objects.select_for_update().get_or_create(key=key, defaults={"kind": kind})
            if state.active and not created:
                return False
            state.active, state.subject, state.opened_at, state.cleared_at = True, subject, now, None
            for name, value in links.items():
                # `config` is stored as the row's configuration: the recovery notice (clear_alert) needs it to reach
                # the channel rules that name the configuration.
                setattr(state, "configuration" if name == "config" else name, value)
            state.save()
    except IntegrityError:
        # Another process opened the same condition a moment ago: it sends the alert.
        return False
    text = body()
    condition = _condition(state)
    failures = settings.ALERT_CONSECUTIVE_FAILURES if kind == AlertState.Kind.CONSECUTIVE_FAILURES else None
    config = links.get("config")
    transaction.on_commit(lambda: _to_channels(condition, subject, text, config, failures=failures))
    if not settings.ALERT_EMAILS:
        logger.warning("Alert not emailed (ALERT_EMAILS is empty): %s", subject)
        return True
    transaction.on_commit(lambda: _enqueue(state.pk, subject, text))
    return True


def _condition(state: AlertState) -> str:
    """The channel rules' name for an alert state's condition."""
    if state.kind == AlertState.Kind.RUN_FAILED:
        partial = state.run is not None and state.run.status == PullRun.Status.PARTIAL
        return AlertCondition.RUN_PARTIAL if partial else AlertCondition.RUN_FAILED
    if state.kind == AlertState.Kind.CONSECUTIVE_FAILURES:
        return AlertCondition.CONSECUTIVE_FAILURES
    if state.kind == AlertState.Kind.NEW_GAP:
        return AlertCondition.NEW_GAP
    if state.kind == AlertState.Kind.FLAT_LINE:
        return AlertCondition.FLAT_LINE
    if state.kind in (AlertState.Kind.DROUGHT_WATCH, AlertState.Kind.HIGH_FLOW):
        return AlertCondition(state.kind)  # the percentile alerts (percentile_alerts.py): the same names
    return AlertCondition.STATION_STALE


def _to_channels(condition: str, subject: str, body: str, config, *, recovered: bool = False, failures=None) -> None:
    try:
        channels.notify(
            condition, subject=subject, body=body, configuration=config, recovered=recovered, failures=failures
        )
    except Exception:  # noqa: BLE001 - a broken channel must never fail the run or the check that raised it
        logger.exception("Could not queue the channel deliveries of %r", subject)


def _enqueue(state_id: int, subject: str, body: str) -> None:
    try:
        signals.ask(signals.alert_email_due, state_id=state_id, subject=subject, body=body)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the run that raised the alert
        give_up(state_id, subject)


def deliver(state_id: int, subject: str, body: str) -> None:
    """Send an alert email now (the send_alert_email task); raises when the mail server fails, so it is retried."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, list(settings.ALERT_EMAILS))
    AlertState.objects.filter(pk=state_id).update(notified_at=timezone.now())


def give_up(state_id: int, subject: str) -> None:
    """The email could not be sent: re-arm the alert so the next occurrence tries again, instead of it being lost."""
    AlertState.objects.filter(pk=state_id).update(active=False)
    logger.exception("Could not send the alert %r", subject)


def clear_alert(key: str) -> int:
    """Turn the condition off; each channel with recovery notices enabled is told it cleared."""
    cleared = 0
    for state in AlertState.objects.filter(key=key, active=True).select_related("configuration", "run"):
        if not AlertState.objects.filter(pk=state.pk, active=True).update(active=False, cleared_at=timezone.now()):
            continue  # another process cleared it a moment ago, and told the channels
        cleared += 1
        subject = f"[Streamflow] Recovered: {state.subject.removeprefix('[Streamflow] ')}"
        body = f"{state.subject} — cleared at {timezone.now():%Y-%m-%d %H:%M %Z}. No action is needed."
        condition, config = _condition(state), state.configuration
        transaction.on_commit(
            lambda c=condition, s=subject, b=body, cfg=config: _to_channels(c, s, b, cfg, recovered=True)
        )
    return cleared
