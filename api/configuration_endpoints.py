"""Configurations: every write goes through the configuration form of the UI (pulls/forms.py), so the API refuses
what the page refuses, with the same sentences, and the post_save signal keeps beat's PeriodicTask in step."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Path, Query, Router, Status

from acquisition import enqueueing
from acquisition.models import PullRun
from pulls.forms import BackfillForm, PullConfigurationForm, default_start_date
from pulls.models import PullConfiguration
from stations.models import MONITORING_LOCATION_ID, MonitoringLocation

from .auth import require
from .errors import FieldErrors
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, next_url
from .run_endpoints import run_json
from .schemas import (
    AUTH_ERRORS,
    BODY_ERRORS,
    ConfigurationDetail,
    ConfigurationIn,
    ConfigurationPage,
    ConfigurationPatch,
    Error,
    QueuedRun,
    RepullIn,
    StationsIn,
)

logger = logging.getLogger(__name__)
router = Router(tags=["configurations"])

FORM_FIELDS = PullConfigurationForm.Meta.fields
CONFIG_ID = Path(..., ge=1, le=2**62, example=1)


def configuration_json(request: HttpRequest, config: PullConfiguration, stations: list[str] | None = None) -> dict:
    body = {
        "id": config.pk,
        **{name: getattr(config, name) for name in FORM_FIELDS},
        "parameters": config.parameter_codes,
        "auto_disabled_reason": config.auto_disabled_reason,
        "station_count": getattr(config, "station_count", None) or config.memberships.count(),
        "created_at": config.created_at,
        "updated_at": config.updated_at,
        "url": request.build_absolute_uri(reverse("api:configuration", args=[config.pk])),
        "runs_url": request.build_absolute_uri(reverse("api:runs") + f"?configuration={config.pk}"),
    }
    if stations is not None:
        body["stations"] = stations
    return body


def _detail(request: HttpRequest, config: PullConfiguration) -> dict:
    ids = list(config.memberships.values_list("location__monitoring_location_id", flat=True))
    config.station_count = len(ids)
    return configuration_json(request, config, ids)


def _get(pk: int) -> PullConfiguration:
    return get_object_or_404(PullConfiguration, pk=pk)


def _locations(ids: list[str]) -> list[MonitoringLocation]:
    """The stations for these ids, in order; a 422 naming `stations` for ids not in the catalog."""
    ids = list(dict.fromkeys(ids))
    valid = [i for i in ids if MONITORING_LOCATION_ID.fullmatch(i)]  # others cannot name a station; not looked up
    by_id = {
        loc.monitoring_location_id: loc for loc in MonitoringLocation.objects.filter(monitoring_location_id__in=valid)
    }
    missing = [i for i in ids if i not in by_id]
    if missing:
        shown = ", ".join(repr(i[:60]) for i in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise FieldErrors(
            {"stations": [f"Not in the catalog: {shown}. Search for stations with GET /api/v1/stations."]}
        )
    return [by_id[i] for i in ids]


def _save(request: HttpRequest, config: PullConfiguration | None, data: dict, stations: list[MonitoringLocation]):
    """Validate and save through the page's form, in one transaction with the stations and the beat task."""
    form = PullConfigurationForm(data, instance=config, stations=stations)
    if not form.is_valid():
        raise FieldErrors.from_form(form, "The configuration")
    with transaction.atomic():
        return form.save_with_stations(request.user)


def _current_data(config: PullConfiguration) -> dict:
    return {**{name: getattr(config, name) for name in FORM_FIELDS}, "parameters": config.parameter_codes}


def _current_stations(config: PullConfiguration) -> list[MonitoringLocation]:
    return [m.location for m in config.memberships.select_related("location")]


@router.get(
    "/configurations",
    response={200: ConfigurationPage, 422: Error, **AUTH_ERRORS},
    url_name="configurations",
    summary="List configurations",
    description="Ordered by id; follow `next` for the following page.",
)
def list_configurations(
    request: HttpRequest,
    enabled: bool | None = Query(None, description="Only active (true) or paused (false) ones."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=400),
):
    require(request, "pulls.view_pullconfiguration")
    qs = PullConfiguration.objects.with_station_count().order_by("pk")
    if enabled is not None:
        qs = qs.filter(enabled=enabled)
    if key := decode_cursor(cursor, 1):
        qs = qs.filter(pk__gt=int(key[0]))
    rows = list(qs[: limit + 1])
    following = next_url(request, rows, limit, lambda c: [c.pk])
    return {"items": [configuration_json(request, c) for c in rows], "next": following}


@router.post(
    "/configurations",
    response={201: ConfigurationDetail, **BODY_ERRORS, **AUTH_ERRORS},
    url_name="configuration_create",
    summary="Create a configuration",
    description="Validated by the configuration form: a bad cron expression, an unknown time zone or a taken "
    "name is a 422 with the form's message. Its beat schedule exists when this returns.",
)
def create_configuration(request: HttpRequest, payload: ConfigurationIn):
    require(request, "pulls.add_pullconfiguration")
    data = payload.dict()
    stations = _locations(data.pop("stations"))
    if data["start_date"] is None:
        data["start_date"] = default_start_date()
    config = _save(request, None, data, stations)
    logger.info("API: %s created configuration %s (%s)", request.user, config.pk, config.name)
    return Status(201, _detail(request, config))


@router.get(
    "/configurations/{config_id}",
    response={200: ConfigurationDetail, 404: Error, **AUTH_ERRORS},
    url_name="configuration",
    summary="One configuration with its stations",
)
def get_configuration(request: HttpRequest, config_id: int = CONFIG_ID):
    require(request, "pulls.view_pullconfiguration")
    return _detail(request, _get(config_id))


@router.patch(
    "/configurations/{config_id}",
    response={200: ConfigurationDetail, 404: Error, **BODY_ERRORS, **AUTH_ERRORS},
    url_name="configuration_update",
    summary="Change a configuration",
    description="Send only the fields to change. The whole result is validated by the configuration form.",
)
def update_configuration(request: HttpRequest, payload: ConfigurationPatch, config_id: int = CONFIG_ID):
    require(request, "pulls.change_pullconfiguration")
    config = _get(config_id)
    changes = payload.dict(exclude_unset=True)
    ids = changes.pop("stations", None)
    data = {**_current_data(config), **{k: v for k, v in changes.items() if v is not None}}
    data["keep_without_series"] = changes.get("keep_without_series", False)
    stations = _locations(ids) if ids is not None else _current_stations(config)
    config = _save(request, config, data, stations)
    return _detail(request, config)


@router.delete(
    "/configurations/{config_id}",
    response={204: None, 404: Error, **AUTH_ERRORS},
    url_name="configuration_delete",
    summary="Delete a configuration",
    description="Its beat schedule goes with it; its runs and the stored observations are kept.",
)
def delete_configuration(request: HttpRequest, config_id: int = CONFIG_ID):
    require(request, "pulls.delete_pullconfiguration")
    config = _get(config_id)
    with transaction.atomic():
        config.delete()  # post_delete removes the PeriodicTask
    return Status(204, None)


def _set_enabled(request: HttpRequest, config_id: int, enabled: bool) -> dict:
    require(request, "pulls.change_pullconfiguration")
    config = _get(config_id)
    config.enabled = enabled
    if enabled:
        config.auto_disabled_reason = ""
    config.updated_by = request.user
    config.save(update_fields=["enabled", "auto_disabled_reason", "updated_by", "updated_at"])  # post_save syncs
    return _detail(request, config)


@router.post(
    "/configurations/{config_id}/pause",
    response={200: ConfigurationDetail, 404: Error, **AUTH_ERRORS},
    url_name="configuration_pause",
    summary="Pause a configuration's schedule",
)
def pause_configuration(request: HttpRequest, config_id: int = CONFIG_ID):
    return _set_enabled(request, config_id, False)


@router.post(
    "/configurations/{config_id}/resume",
    response={200: ConfigurationDetail, 404: Error, **AUTH_ERRORS},
    url_name="configuration_resume",
    summary="Resume a configuration's schedule",
    description="No catch-up run fires for the slots missed while paused.",
)
def resume_configuration(request: HttpRequest, config_id: int = CONFIG_ID):
    return _set_enabled(request, config_id, True)


@router.post(
    "/configurations/{config_id}/stations",
    response={200: ConfigurationDetail, 404: Error, **BODY_ERRORS, **AUTH_ERRORS},
    url_name="configuration_add_stations",
    summary="Add stations to a configuration",
    description="Appended in the order given; stations already in it are left where they are.",
)
def add_stations(request: HttpRequest, payload: StationsIn, config_id: int = CONFIG_ID):
    require(request, "pulls.change_pullconfiguration")
    config = _get(config_id)
    current = _current_stations(config)
    have = {loc.pk for loc in current}
    new = [loc for loc in _locations(payload.stations) if loc.pk not in have]
    data = {**_current_data(config), "keep_without_series": payload.keep_without_series}
    return _detail(request, _save(request, config, data, current + new))


@router.delete(
    "/configurations/{config_id}/stations/{monitoring_location_id}",
    response={200: ConfigurationDetail, 404: Error, 422: Error, **AUTH_ERRORS},
    url_name="configuration_remove_station",
    summary="Remove a station from a configuration",
    description="Its stored observations are kept. The last station cannot be removed (a configuration needs one).",
)
def remove_station(
    request: HttpRequest, config_id: int = CONFIG_ID, monitoring_location_id: str = Path(..., example="USGS-01646500")
):
    require(request, "pulls.change_pullconfiguration")
    config = _get(config_id)
    current = _current_stations(config)
    kept = [loc for loc in current if loc.monitoring_location_id != monitoring_location_id]
    if len(kept) == len(current):
        return Status(404, {"detail": f"{monitoring_location_id[:60]!r} is not a station of “{config.name}”."})
    data = {**_current_data(config), "keep_without_series": True}  # removing never adds a station lacking a series
    return _detail(request, _save(request, config, data, kept))


def _queue(request: HttpRequest, config: PullConfiguration, **dates):
    active = PullRun.objects.active().filter(configuration=config).first()
    if active is not None:
        url = request.build_absolute_uri(reverse("api:run", args=[active.pk]))
        return Status(409, {"detail": f"“{config.name}” is already running: follow run #{active.pk} at {url}."})
    try:
        run = enqueueing.enqueue_run(config.pk, request.user.get_username(), **dates)
    except Exception:
        logger.exception("API: could not enqueue a run of configuration %s (%s)", config.pk, config.name)
        return Status(503, {"detail": "The run could not be queued: the task queue is not reachable. Check /health/."})
    if not run.is_active:
        return Status(409, {"detail": f"Run #{run.pk} did not start ({run.status}): {run.message or 'see its page'}"})
    body = run_json(request, run)
    return Status(202, {"run": body, "url": body["url"]})


@router.post(
    "/configurations/{config_id}/run",
    response={202: QueuedRun, 404: Error, 409: Error, 503: Error, **AUTH_ERRORS},
    url_name="configuration_run",
    summary="Run a configuration now",
    description="202 with the queued run's URL; poll it until its status is no longer queued or running. 409 when "
    "a run of it is already active (the detail names that run).",
)
def run_configuration(request: HttpRequest, config_id: int = CONFIG_ID):
    require(request, "pulls.run_pullconfiguration")
    return _queue(request, _get(config_id))


@router.post(
    "/configurations/{config_id}/repull",
    response={202: QueuedRun, 404: Error, 409: Error, 503: Error, **BODY_ERRORS, **AUTH_ERRORS},
    url_name="configuration_repull",
    summary="Re-pull a date range",
    description="A backfill run that upserts the range (both days included) and never moves progress back.",
)
def repull_configuration(request: HttpRequest, payload: RepullIn, config_id: int = CONFIG_ID):
    require(request, "pulls.run_pullconfiguration")
    config = _get(config_id)
    form = BackfillForm({"start": payload.start.isoformat(), "end": payload.end.isoformat()}, configuration=config)
    if not form.is_valid():
        raise FieldErrors.from_form(form, "The re-pull")
    return _queue(request, config, range_start=form.cleaned_data["start"], range_end=form.cleaned_data["end"])
