from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from stations import basket
from stations.models import MonitoringLocation
from stations.parameters import DISCHARGE
from streamflow.htmx import wants_fragment
from streamflow.navigation import safe_next_url

from . import cron, run_requests
from .forms import KIND_WORDS, BackfillForm, PullConfigurationForm, stations_without_series
from .models import SCHEDULE_PRESETS, PullConfiguration
from .progress import station_rows

logger = logging.getLogger(__name__)

DRAFTS_KEY = "pulls_form_drafts"
STATIONS_PER_PAGE = 100  # the configuration page's station table
SCHEDULE_TARGETS = ("schedule-fields", "schedule-preview")


# --- Helpers ------------------------------------------------------------------------------------------
def _schedule_context(
    schedule_type: str | None, expression: str | None, tz_name: str | None, typed: str | None = None
) -> dict:
    """What the schedule part of the form shows: the cron field only for custom, words and next runs always.

    `typed`: a custom expression typed before switching to a preset, kept in a hidden field so that switching back
    to Custom brings it back instead of the preset's expression."""
    schedule_type = schedule_type if schedule_type in PullConfiguration.ScheduleType.values else "daily"
    is_custom = schedule_type == PullConfiguration.ScheduleType.CUSTOM
    expression, typed = (expression or "").strip(), (typed or "").strip()
    if not typed and expression not in SCHEDULE_PRESETS.values():
        typed = expression  # switching away from Custom: what was typed there
    effective = (typed or expression) if is_custom else SCHEDULE_PRESETS[schedule_type]
    return {
        "schedule_type": schedule_type,
        "is_custom": is_custom,
        "cron_value": effective,
        "typed_cron": "" if is_custom else typed,
        "preview": cron.preview(effective, (tz_name or "").strip()),
    }


def _schedule_summary(config: PullConfiguration) -> PullConfiguration:
    """Attach the words and the next run of a configuration's schedule (list and detail pages)."""
    result = cron.preview(config.cron_expression, config.timezone, count=1)
    config.schedule_words = result.words or config.cron_expression
    config.schedule_error = result.error
    config.next_run = result.run_labels[0] if result.runs and config.enabled else None
    return config


def _locations(ids: list[str]) -> tuple[list[MonitoringLocation], int]:
    """The stations for these ids, in the given order, and how many ids are no longer in the catalog."""
    by_id = {
        loc.monitoring_location_id: loc for loc in MonitoringLocation.objects.filter(monitoring_location_id__in=ids)
    }
    found = [by_id[i] for i in ids if i in by_id]
    return found, len(ids) - len(found)


def _drafts(request: HttpRequest) -> dict:
    return request.session.get(DRAFTS_KEY, {})


def _save_draft(request: HttpRequest, key: str, data: dict, stations: list[str] | None) -> None:
    # Unsaved form values live in the session (server-side), so leaving for the station search keeps them.
    drafts = _drafts(request)
    drafts[key] = {"data": data, "stations": stations}
    request.session[DRAFTS_KEY] = drafts


def _drop_draft(request: HttpRequest, key: str) -> None:
    drafts = _drafts(request)
    if drafts.pop(key, None) is not None:
        request.session[DRAFTS_KEY] = drafts


def _form_url(config: PullConfiguration | None) -> str:
    return reverse("pulls:edit", args=[config.pk]) if config else reverse("pulls:create")


def _station_ids(request: HttpRequest, config: PullConfiguration | None, draft: dict | None) -> list[str]:
    if config is None:
        return basket.get_ids(request)  # creating: the basket is the station list
    if draft and draft.get("stations") is not None:
        return list(draft["stations"])
    return list(config.memberships.values_list("location__monitoring_location_id", flat=True))


# --- Pages ----------------------------------------------------------------------------------------------
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_list(request: HttpRequest) -> HttpResponse:
    configurations = [
        _schedule_summary(c) for c in PullConfiguration.objects.with_station_count().with_last_run().order_by("name")
    ]
    template = "pulls/list.html#config-table" if wants_fragment(request) else "pulls/list.html"
    return render(request, template, {"configurations": configurations})


@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = "pulls/detail.html#recent-runs" if wants_fragment(request) else "pulls/detail.html"
    return render(request, template, _detail_context(pk, stations_page=request.GET.get("stations_page")))


def _detail_context(pk: int, backfill_form: BackfillForm | None = None, stations_page: str | None = None) -> dict:
    config = _schedule_summary(get_object_or_404(PullConfiguration.objects.with_station_count(), pk=pk))
    # A page of stations: a configuration of 20,000 made a 12.9 MB page, with a count query per series on it.
    page = Paginator(config.memberships.select_related("location"), STATIONS_PER_PAGE).get_page(stations_page)
    return {
        "config": config,
        "stations": station_rows(config, [m.location for m in page]),
        "stations_page": page,
        "recent_runs": config.runs.all()[:10],
        "preview": cron.preview(config.cron_expression, config.timezone),
        "backfill_form": backfill_form or BackfillForm(),
        "retention_years": settings.CONTINUOUS_RETENTION_YEARS,
    }


@permission_required("pulls.add_pullconfiguration", raise_exception=True)
def configuration_create(request: HttpRequest) -> HttpResponse:
    return _configuration_form(request, None)


@permission_required("pulls.change_pullconfiguration", raise_exception=True)
def configuration_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _configuration_form(request, get_object_or_404(PullConfiguration, pk=pk))


def _configuration_form(request: HttpRequest, config: PullConfiguration | None) -> HttpResponse:
    """The form page (GET) and saving it (POST). Its other buttons post to views of their own (below)."""
    key = str(config.pk) if config else "new"
    if request.method == "GET" and request.htmx and request.htmx.target in SCHEDULE_TARGETS:
        # Pages drawn before the schedule part had its own URLs ask here: the same fragment.
        return _schedule_fragment(request, request.htmx.target)

    draft = _drafts(request).get(key)
    station_ids = _station_ids(request, config, draft)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action != "save":
            return _legacy_action(request, config, key, action, station_ids)
        stations, missing = _locations(station_ids)
        form = PullConfigurationForm(request.POST, instance=config, stations=stations)
        if form.is_valid():
            # One transaction: the configuration, its stations and its PeriodicTask (post_save) land together.
            with transaction.atomic():
                saved = form.save_with_stations(request.user)
            _drop_draft(request, key)
            basket.clear_destination(request)
            if config is None:
                basket.clear(request)
                messages.success(
                    request,
                    f"Created “{saved}” with {len(stations)} stations; its schedule is set. The basket is empty now: "
                    "its stations went into this configuration.",
                )
            else:
                messages.success(request, f"Saved “{saved}”.")
            return redirect(saved)
    else:
        initial = {}
        if draft and draft.get("data") is not None:  # None: only the stations changed (configuration_take_basket)
            initial = dict(draft["data"])
            initial["enabled"] = "enabled" in draft["data"]
        # A plain GET may carry schedule fields (the no-JavaScript twin of the live schedule fragment).
        initial.update(
            {k: request.GET[k] for k in ("schedule_type", "cron_expression", "timezone") if k in request.GET}
        )
        form = PullConfigurationForm(instance=config, initial=initial)
        stations, missing = _locations(station_ids)
    return render(request, "pulls/form.html", _form_context(request, form, config, stations, missing, draft))


def _without_series_context(
    stations: list[MonitoringLocation], data_type: str | None, parameter_codes: list[str] | None = None
) -> dict:
    # The catalog's flags know discharge series only: without discharge there is nothing to warn of here.
    pulls_discharge = not parameter_codes or DISCHARGE in parameter_codes
    lacking = stations_without_series(stations, data_type or "") if pulls_discharge else []
    return {
        "without_series_ids": {location.monitoring_location_id for location in lacking},
        "without_series_kind": KIND_WORDS.get(data_type, "") + " discharge",
    }


def _action_urls(config: PullConfiguration | None) -> dict[str, str]:
    """Where each of the form's secondary buttons posts (the remove button's URL names its station: the template)."""
    args = [config.pk] if config else []
    names = ["discard", "refresh_stations", "drop_without_series", "search_stations"]
    if config is not None:
        names.append("add_basket")
    return {name: reverse(f"pulls:form_{name}", args=args) for name in names}


def _form_context(request, form, config, stations, missing, draft) -> dict:
    station_ids = {s.monitoring_location_id for s in stations}
    return {
        **_without_series_context(stations, form["data_type"].value(), form["parameters"].value()),
        "form": form,
        "config": config,
        "form_url": _form_url(config),
        "actions": _action_urls(config),
        "stations": stations,
        "missing": missing,
        "draft_restored": bool(draft) and not form.is_bound,
        "basket_extra": [i for i in basket.get_ids(request) if i not in station_ids] if config else [],
        "timezones": sorted(cron.available_timezones()),
        **_schedule_context(
            form["schedule_type"].value(),
            form["cron_expression"].value(),
            form["timezone"].value(),
            request.POST.get("typed_cron"),
        ),
    }


# --- The form's live schedule part: the cron field appears for "custom"; words and next runs follow each key --
def _schedule_fragment(request: HttpRequest, target: str) -> HttpResponse:
    params = request.GET
    context = _schedule_context(
        params.get("schedule_type"), params.get("cron_expression"), params.get("timezone"), params.get("typed_cron")
    )
    return render(request, f"pulls/form.html#{target}", context)


def _may_edit_a_configuration(user) -> bool:
    return user.has_perm("pulls.add_pullconfiguration") or user.has_perm("pulls.change_pullconfiguration")


@require_GET
def configuration_schedule_fields(request: HttpRequest) -> HttpResponse:
    """The schedule part redrawn when its type changes (the cron field only for "custom")."""
    if not _may_edit_a_configuration(request.user):
        raise PermissionDenied
    return _schedule_fragment(request, "schedule-fields")


@require_GET
def configuration_schedule_preview(request: HttpRequest) -> HttpResponse:
    """The schedule's words and next runs, redrawn as the cron expression or the time zone is typed."""
    if not _may_edit_a_configuration(request.user):
        raise PermissionDenied
    return _schedule_fragment(request, "schedule-preview")


# --- The form's secondary buttons: one view each, on the new configuration's URLs and an existing one's -------
FormAction = Callable[..., HttpResponse]


def _form_action(action: FormAction) -> Callable[..., HttpResponse]:
    """The view of one button: POST only; the add permission under new/, the change permission under <pk>/edit/.
    `action(request, config, key, station_ids, **url_kwargs)`: config is None for a new configuration."""

    @require_POST
    @wraps(action)
    def view(request: HttpRequest, pk: int | None = None, **kwargs) -> HttpResponse:
        if not request.user.has_perm("pulls.add_pullconfiguration" if pk is None else "pulls.change_pullconfiguration"):
            raise PermissionDenied
        config = None if pk is None else get_object_or_404(PullConfiguration, pk=pk)
        key = str(config.pk) if config else "new"
        return action(request, config, key, _station_ids(request, config, _drafts(request).get(key)), **kwargs)

    return view


def _discard(request: HttpRequest, config, key: str, station_ids: list[str]) -> HttpResponse:
    _drop_draft(request, key)
    basket.clear_destination(request)
    form_url = _form_url(config)
    return HttpResponseClientRedirect(form_url) if request.htmx else redirect(form_url)


def _remove_station(
    request: HttpRequest, config, key: str, station_ids: list[str], monitoring_location_id: str
) -> HttpResponse:
    if config is None:
        basket.remove(request, [monitoring_location_id])
        station_ids = basket.get_ids(request)
    else:
        station_ids = [i for i in station_ids if i != monitoring_location_id]
    return _stations_changed(request, config, key, station_ids)


def _refresh_stations(request: HttpRequest, config, key: str, station_ids: list[str]) -> HttpResponse:
    """The data type changed: the list is drawn again with the stations lacking it marked."""
    return _stations_changed(request, config, key, station_ids)


def _drop_without_series(request: HttpRequest, config, key: str, station_ids: list[str]) -> HttpResponse:
    stations, _ = _locations(station_ids)
    lacking = {s.monitoring_location_id for s in stations_without_series(stations, request.POST.get("data_type"))}
    if config is None:
        basket.remove(request, list(lacking))
        station_ids = basket.get_ids(request)
    else:
        station_ids = [i for i in station_ids if i not in lacking]
    return _stations_changed(request, config, key, station_ids)


def _add_basket(request: HttpRequest, config, key: str, station_ids: list[str]) -> HttpResponse:
    incoming = basket.get_ids(request)
    station_ids = station_ids + [i for i in incoming if i not in station_ids]
    basket.remove(request, incoming)  # they moved into this configuration's form
    return _stations_changed(request, config, key, station_ids)


def _search_stations(request: HttpRequest, config, key: str, station_ids: list[str]) -> HttpResponse:
    _keep_draft(request, config, key, station_ids)
    if config is not None:
        basket.set_destination(request, _form_url(config), config.name, reverse("pulls:take_basket", args=[config.pk]))
    messages.info(request, "Your unsaved configuration is kept; add stations, then return to it from the basket.")
    return redirect(reverse("stations:search"))


def _keep_draft(request: HttpRequest, config, key: str, station_ids: list[str]) -> None:
    data = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "action")}
    if "parameters_shown" in data:  # the checkboxes: every ticked one, not only the last
        data["parameters"] = request.POST.getlist("parameters")
    _save_draft(request, key, data, station_ids if config else None)


def _stations_changed(request: HttpRequest, config, key: str, station_ids: list[str]) -> HttpResponse:
    """The form is kept as a draft; htmx gets the station list redrawn, a plain post the form again."""
    _keep_draft(request, config, key, station_ids)
    form_url = _form_url(config)
    if request.htmx:
        stations, missing = _locations(station_ids)
        context = {
            "stations": stations,
            "missing": missing,
            "config": config,
            "form_url": form_url,
            "actions": _action_urls(config),
            "oob_basket": True,
        }
        context.update(
            _without_series_context(
                stations,
                request.POST.get("data_type"),
                request.POST.getlist("parameters") if "parameters_shown" in request.POST else None,
            )
        )
        context["basket_extra"] = (
            [i for i in basket.get_ids(request) if i not in {s.monitoring_location_id for s in stations}]
            if config
            else []
        )
        return render(request, "pulls/form.html#form-stations", context)
    return redirect(form_url)


@require_POST
@permission_required("pulls.change_pullconfiguration", raise_exception=True)
def configuration_take_basket(request: HttpRequest, pk: int) -> HttpResponse:
    """The basket's "Add these stations to …": its stations join the configuration's unsaved form (kept as a draft
    until Save, like the form's own "Add from the basket") and leave the basket; then back to that form."""
    config = get_object_or_404(PullConfiguration, pk=pk)
    key = str(config.pk)
    draft = _drafts(request).get(key)
    station_ids = _station_ids(request, config, draft)
    incoming = basket.get_ids(request)
    added = [i for i in incoming if i not in station_ids]
    # The form's values the user left unsaved stay as they were (None: none yet, the saved ones show).
    _save_draft(request, key, draft["data"] if draft else None, station_ids + added)
    basket.remove(request, incoming)
    n = len(added)
    messages.info(
        request,
        f"Moved {n:,} station{'s' if n != 1 else ''} from the basket into “{config.name}”"
        + (f" ({len(incoming) - n:,} already in it)" if n < len(incoming) else "")
        + ". They are not saved yet: review the form and press “Save changes”.",
    )
    return redirect(_form_url(config))


form_discard = _form_action(_discard)
form_remove_station = _form_action(_remove_station)
form_refresh_stations = _form_action(_refresh_stations)
form_drop_without_series = _form_action(_drop_without_series)
form_add_basket = _form_action(_add_basket)
form_search_stations = _form_action(_search_stations)


def _legacy_action(request: HttpRequest, config, key: str, action: str, station_ids: list[str]) -> HttpResponse:
    """A button of a form drawn before each had its own URL posts `action=<name>` to the form's URL: the same."""
    if action.startswith("remove:"):
        return _remove_station(request, config, key, station_ids, action.removeprefix("remove:"))
    actions = {
        "discard": _discard,
        "refresh_stations": _refresh_stations,
        "drop_without_series": _drop_without_series,
        "search": _search_stations,
    }
    if config is not None:
        actions["add_basket"] = _add_basket
    if action not in actions:
        messages.error(request, "That button is not known; reload the form and try again.")
        return redirect(_form_url(config))
    return actions[action](request, config, key, station_ids)


# --- Pausing and resuming: the list's row, the detail page's status, or (without JavaScript) a redirect -------
def _toggle(request: HttpRequest, pk: int) -> PullConfiguration:
    config = get_object_or_404(PullConfiguration, pk=pk)
    # The button says which state it asks for, so a double click does not undo itself.
    wanted = request.POST.get("enabled")
    config.enabled = (wanted == "1") if wanted in ("0", "1") else not config.enabled
    if config.enabled:
        config.auto_disabled_reason = ""
    config.updated_by = request.user
    config.save(update_fields=["enabled", "auto_disabled_reason", "updated_by", "updated_at"])  # post_save syncs
    return config


@require_POST
@permission_required("pulls.change_pullconfiguration", raise_exception=True)
def configuration_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause or resume, then back to where the button was (a message says which)."""
    if request.htmx:
        # Pages drawn before the row and the status had their own URLs ask here: the same fragments.
        if (request.htmx.target or "").startswith("config-row"):
            return configuration_toggle_row(request, pk)
        return configuration_toggle_status(request, pk)
    config = _toggle(request, pk)
    state = "active again" if config.enabled else "paused"
    messages.success(request, f"“{config}” is now {state}.")
    return redirect(safe_next_url(request, reverse("pulls:list")))


@require_POST
@permission_required("pulls.change_pullconfiguration", raise_exception=True)
def configuration_toggle_row(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause or resume from the list: its row, redrawn."""
    _toggle(request, pk)
    row = _schedule_summary(PullConfiguration.objects.with_station_count().with_last_run().get(pk=pk))
    return render(request, "pulls/list.html#config-row", {"config": row})


@require_POST
@permission_required("pulls.change_pullconfiguration", raise_exception=True)
def configuration_toggle_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause or resume from the configuration's page: its status, redrawn."""
    return render(request, "pulls/detail.html#config-status", {"config": _schedule_summary(_toggle(request, pk))})


def already_running(request: HttpRequest, config: PullConfiguration):
    """The configuration's active run, told to the user with a link to it; None when none is active.

    Checked before asking for a run, so a click while one runs records nothing (a Skipped row per click is noise
    in the history). queue_run's database-enforced skip stays the fallback for two clicks that race past this.
    Scheduled triggers do not come through here and still record their skips.
    """
    active = run_requests.active_run(config)
    if active is not None:
        messages.info(
            request,
            format_html(
                '“{}” is already running — <a href="{}" class="alert-link">open run #{}</a> to follow it.',
                config.name,
                active.get_absolute_url(),
                active.pk,
            ),
        )
    return active


def _skipped_in_a_race(request: HttpRequest, run, config: PullConfiguration) -> None:
    """Two requests passed already_running() at once and the database refused the second: say where the other is."""
    if already_running(request, config) is None:
        messages.warning(request, f"Not started: {run.message}")


@require_POST
@permission_required("pulls.run_pullconfiguration", raise_exception=True)
def configuration_run_now(request: HttpRequest, pk: int) -> HttpResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    url = config.get_absolute_url()
    if already_running(request, config):
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    try:
        run = run_requests.enqueue_run(config.pk, triggered_by=request.user.get_username())
    except Exception:
        logger.exception("Could not enqueue a manual run of configuration %s (%s)", config.pk, config.name)
        messages.error(
            request,
            "The run could not be queued: the task queue is not reachable. Check /health/ and try again in a minute.",
        )
    else:
        if run.status == run.Status.SKIPPED:
            _skipped_in_a_race(request, run, config)
        elif run.is_active:
            # The run exists from this moment: its page shows the stations waiting, then the live log.
            messages.success(request, f"Run #{run.pk} of “{config}” was queued.", extra_tags="run-flash")
            url = run.get_absolute_url()
        else:
            messages.error(request, run.message or f"Run #{run.pk} ended at once ({run.status}).")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
@permission_required("pulls.run_pullconfiguration", raise_exception=True)
def configuration_backfill(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-pull a date range now: a `backfill` run that upserts the range and never moves progress backwards."""
    config = get_object_or_404(PullConfiguration, pk=pk)
    form = BackfillForm(request.POST, configuration=config)
    if not form.is_valid():
        # The page again, with the dates as typed and the reason beside the form; nothing was queued.
        return render(request, "pulls/detail.html", _detail_context(config.pk, form), status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if already_running(request, config):
        return redirect(config)
    try:
        run = run_requests.enqueue_run(config.pk, request.user.get_username(), range_start=start, range_end=end)
    except Exception:
        logger.exception("Could not enqueue a backfill of configuration %s (%s)", config.pk, config.name)
        messages.error(request, "The re-pull could not be queued: the task queue is not reachable. Check /health/.")
        return redirect(config)
    if run.status == run.Status.SKIPPED:
        _skipped_in_a_race(request, run, config)
        return redirect(config)
    messages.success(
        request, f"Run #{run.pk} was queued to re-pull {start} to {end} for “{config}”.", extra_tags="run-flash"
    )
    return redirect(run)


@require_http_methods(["GET", "POST"])
@permission_required("pulls.delete_pullconfiguration", raise_exception=True)
def configuration_delete(request: HttpRequest, pk: int) -> HttpResponse:
    config = get_object_or_404(PullConfiguration.objects.with_station_count(), pk=pk)
    if request.method == "POST":
        name = config.name
        with transaction.atomic():
            config.delete()  # post_delete removes the PeriodicTask; runs keep their history (SET_NULL)
        _drop_draft(request, str(pk))
        messages.success(request, f"Deleted “{name}”. Its stored observations and run history are kept.")
        url = reverse("pulls:list")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render(request, "pulls/confirm_delete.html", {"config": config, "run_count": config.runs.count()})
