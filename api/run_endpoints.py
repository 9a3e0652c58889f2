"""Runs: the history with the Runs page's filters (its RunFilterForm), one run with its stations and batches,
and its log after a cursor so a script can tail a live run."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Path, Query, Router

from acquisition.models import PullLogEntry, PullRun
from monitoring.views import RunFilterForm, filter_runs

from .auth import require
from .errors import FieldErrors
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, next_url, page_url
from .schemas import AUTH_ERRORS, Error, LogPage, RunDetail, RunPage

router = Router(tags=["runs"])

RUN_ID = Path(..., ge=1, le=2**62, example=1)
RUN_FIELDS = [
    "trigger",
    "status",
    "data_type",
    "strategy",
    "range_start",
    "range_end",
    "created_at",
    "started_at",
    "finished_at",
    "stations_total",
    "stations_succeeded",
    "stations_failed",
    "requests_made",
    "values_inserted",
    "values_updated",
    "values_unchanged",
    "message",
    "triggered_by",
]
STATION_FIELDS = [
    "status",
    "windows_total",
    "windows_done",
    "values_received",
    "values_inserted",
    "values_updated",
    "values_unchanged",
    "attempts",
    "error",
    "started_at",
    "finished_at",
]
BATCH_FIELDS = [
    "number",
    "status",
    "stations",
    "values_expected",
    "values_received",
    "windows_total",
    "windows_done",
    "pages_fetched",
    "requests_made",
    "attempts",
    "phase",
    "started_at",
    "finished_at",
]
LEVELS = dict(PullLogEntry.Level.choices)


def run_json(request: HttpRequest, run: PullRun) -> dict:
    return {
        "id": run.pk,
        "configuration_id": run.configuration_id,
        "configuration_name": run.current_configuration_name,
        "configuration_name_at_run": run.configuration_name,
        **{name: getattr(run, name) for name in RUN_FIELDS},
        "url": request.build_absolute_uri(reverse("api:run", args=[run.pk])),
        "log_url": request.build_absolute_uri(reverse("api:run_log", args=[run.pk])),
    }


@router.get(
    "/runs",
    response={200: RunPage, 422: Error, **AUTH_ERRORS},
    url_name="runs",
    summary="List runs, newest first",
    description="The Runs page's filters; `date_from` / `date_to` are days (both included) in the site's time "
    "zone. Follow `next` for older runs.",
)
def list_runs(
    request: HttpRequest,
    status: str = Query("", max_length=10, example="failed"),
    configuration: int | None = Query(None, ge=1, le=2**62, description="A configuration's id."),
    trigger: str = Query("", max_length=10, example="manual"),
    date_from: str = Query("", max_length=10, example="2026-01-01"),
    date_to: str = Query("", max_length=10, example="2026-01-31"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=400),
):
    require(request, "acquisition.view_pullrun")
    data = {"status": status, "configuration": configuration or "", "trigger": trigger}
    form = RunFilterForm({**data, "date_from": date_from, "date_to": date_to})
    if not form.is_valid():
        raise FieldErrors.from_form(form, "The filter")
    qs = filter_runs(form).order_by("-pk")
    if key := decode_cursor(cursor, 1):
        qs = qs.filter(pk__lt=int(key[0]))
    rows = list(qs[: limit + 1])
    following = next_url(request, rows, limit, lambda run: [run.pk])
    return {"items": [run_json(request, run) for run in rows], "next": following}


@router.get(
    "/runs/{run_id}",
    response={200: RunDetail, 404: Error, **AUTH_ERRORS},
    url_name="run",
    summary="One run with its stations and batches",
)
def get_run(request: HttpRequest, run_id: int = RUN_ID):
    require(request, "acquisition.view_pullrun")
    run = get_object_or_404(PullRun.objects.select_related("configuration"), pk=run_id)
    stations = run.stations.select_related("location", "batch", "time_series").order_by("pk")
    return {
        **run_json(request, run),
        "stations": [
            {
                "station": s.location.monitoring_location_id,
                "batch": s.batch.number if s.batch else None,
                "time_series_id": s.time_series.time_series_id if s.time_series else None,
                **{name: getattr(s, name) for name in STATION_FIELDS},
            }
            for s in stations
        ],
        "batches": [{name: getattr(b, name) for name in BATCH_FIELDS} for b in run.batches.order_by("number")],
    }


@router.get(
    "/runs/{run_id}/log",
    response={200: LogPage, 404: Error, **AUTH_ERRORS},
    url_name="run_log",
    summary="A run's log lines after a cursor",
    description="Lines with an id above `after`, oldest first. To tail a live run, ask `next` again every few "
    "seconds while `active` is true.",
)
def run_log(
    request: HttpRequest,
    run_id: int = RUN_ID,
    after: int = Query(0, ge=0, le=2**62, description="The id of the last line already read."),
    level: int = Query(0, ge=0, le=50, description="Only lines at this level or above (20 INFO, 30 WARNING)."),
    limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT),
):
    require(request, "acquisition.view_pullrun")
    run = get_object_or_404(PullRun, pk=run_id)
    entries = PullLogEntry.objects.filter(run=run, pk__gt=after).select_related("location").order_by("pk")
    if level:
        entries = entries.filter(level__gte=level)
    lines = list(entries[:limit])
    cursor = lines[-1].pk if lines else after
    return {
        "items": [
            {
                "id": e.pk,
                "created_at": e.created_at,
                "level": LEVELS.get(e.level, "INFO"),
                "station": e.location.monitoring_location_id if e.location else None,
                "message": e.message,
            }
            for e in lines
        ],
        "next": page_url(request, after=cursor),
        "active": run.is_active,
    }
