from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from acquisition import partitions
from monitoring.heartbeats import recent_heartbeats
from streamflow import __version__
from streamflow.celery import WORKER_HEARTBEAT_SECONDS, app

HEARTBEAT_GRACE = dt.timedelta(seconds=4 * WORKER_HEARTBEAT_SECONDS)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": f"database unreachable: {exc}"}


def _check_broker() -> dict:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": app.conf.broker_url.split("://", 1)[0]}
    except Exception as exc:
        return {"ok": False, "error": f"broker unreachable: {exc}"}


def _check_heartbeats(prefix: str, what: str) -> dict:
    try:
        beats = recent_heartbeats(prefix, HEARTBEAT_GRACE)
    except Exception as exc:
        return {"ok": False, "error": f"cannot read heartbeats: {exc}"}
    if not beats:
        return {"ok": False, "error": f"no {what} seen in the last {int(HEARTBEAT_GRACE.total_seconds())} s"}
    newest = max(b.seen_at for b in beats)
    result = {
        "ok": True,
        "last_seen": newest.isoformat(),
        "age_seconds": round((timezone.now() - newest).total_seconds()),
    }
    if prefix == "worker:":
        result["workers"] = sorted(b.name.removeprefix("worker:") for b in beats)
    return result


def _check_partitions() -> dict:
    """PostgreSQL: this month and the next have their continuous values partition (a write there would fail)."""
    try:
        missing = partitions.missing_ahead()
    except Exception as exc:
        return {"ok": False, "error": f"cannot read partitions: {exc}"}
    if missing:
        months = ", ".join(f"{m:%Y-%m}" for m in missing)
        return {"ok": False, "error": f"no partition of continuous values for {months} (beat creates them ahead)"}
    return {"ok": True}


@login_not_required
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker, beat and at least one worker are alive (and, on PostgreSQL, the coming
    month has its partition of continuous values); 503 when not.

    Staff get each check (what fails and why, worker host names, the version); anyone else the status alone, which
    is all a load balancer needs and tells an outsider nothing about the hosts or their errors.
    """
    checks = {"database": _check_database(), "broker": _check_broker()}
    if checks["database"]["ok"]:
        checks["beat"] = _check_heartbeats("beat", "beat tick")
        checks["workers"] = _check_heartbeats("worker:", "live worker")
        if connection.vendor == "postgresql":
            checks["partitions"] = _check_partitions()
    failing = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if not failing else "failing"}
    if request.user.is_staff:
        body.update({"failing": failing, "version": __version__, "checks": checks})
    return JsonResponse(body, status=200 if not failing else 503)
