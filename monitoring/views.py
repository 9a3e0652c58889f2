from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HTMX_STOP_POLLING

from pulls.models import PullConfiguration
from stations.models import MonitoringLocation

from .data_views import plausible_date
from .models import PullLogEntry, PullRun
from .stats import dashboard_summary, run_progress_percent

LOG_TAIL = 500  # lines shown when the page opens; the full log is a download
POLL_BATCH = 1000  # at most this many new lines per poll; the next poll fetches the rest
RUNS_PER_PAGE = 25


# --- Dashboard ----------------------------------------------------------------------------------------------


def dashboard(request: HttpRequest) -> HttpResponse:
    template = "monitoring/dashboard.html"
    if request.htmx:
        template += "#dashboard-cards"
    return render(request, template, dashboard_summary())


# --- Runs list ----------------------------------------------------------------------------------------------


class RunFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *PullRun.Status.choices], required=False)
    configuration = forms.ModelChoiceField(
        queryset=PullConfiguration.objects.only("pk", "name"), required=False, empty_label="Any configuration"
    )
    trigger = forms.ChoiceField(choices=[("", "Any trigger"), *PullRun.Trigger.choices], required=False)
    date_from = forms.DateField(
        required=False, label="From", validators=[plausible_date], widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", validators=[plausible_date], widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select form-select-sm" if is_select else "form-control form-control-sm"

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date: swap them or clear one.")
        return data


def _start_of_day(day: dt.date) -> dt.datetime:
    # Days are the user's (TIME_ZONE) days, not UTC's.
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filter_runs(form: RunFilterForm):
    runs = PullRun.objects.select_related("configuration")
    if not form.is_valid():
        return runs
    data = form.cleaned_data
    if data["status"]:
        runs = runs.filter(status=data["status"])
    if data["configuration"]:
        runs = runs.filter(configuration=data["configuration"])
    if data["trigger"]:
        runs = runs.filter(trigger=data["trigger"])
    if data["date_from"]:
        runs = runs.filter(created_at__gte=_start_of_day(data["date_from"]))
    if data["date_to"]:
        runs = runs.filter(created_at__lt=_start_of_day(data["date_to"] + dt.timedelta(days=1)))
    return runs


def run_list(request: HttpRequest) -> HttpResponse:
    form = RunFilterForm(request.GET or None)
    page = Paginator(filter_runs(form), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    template = "monitoring/runs.html"
    if request.htmx:
        template += "#runs-table"
    return render(request, template, context)


# --- Run page -----------------------------------------------------------------------------------------------


def _log_filters(request: HttpRequest, run: PullRun) -> dict:
    try:
        level = int(request.GET.get("level") or 0)
    except ValueError:
        level = 0
    station = request.GET.get("station", "")
    location_id = None
    if station:
        location_id = (
            MonitoringLocation.objects.filter(monitoring_location_id=station).values_list("pk", flat=True).first()
        )
    return {"level": level, "station": station, "location_id": location_id}


def _filtered_log(run: PullRun, filters: dict):
    entries = PullLogEntry.objects.filter(run=run)
    if filters["level"]:
        entries = entries.filter(level__gte=filters["level"])
    if filters["station"]:
        # An unknown station shows no lines rather than all of them.
        entries = entries.filter(location_id=filters["location_id"])
    return entries


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page. Its live fragment polls this same URL with ?after=<last id> while the run is active."""
    run = get_object_or_404(PullRun.objects.select_related("configuration"), pk=pk)
    filters = _log_filters(request, run)
    stations = list(run.stations.select_related("location").order_by("pk"))
    names = {s.location_id: s.location.monitoring_location_id for s in stations}
    entries_qs = _filtered_log(run, filters)
    polling = request.htmx and "after" in request.GET
    if polling:
        try:
            after = max(0, int(request.GET["after"]))
        except ValueError:
            after = 0
        # One range scan on the (run, id) index: only lines the page does not have yet.
        entries = list(entries_qs.filter(pk__gt=after).order_by("pk")[:POLL_BATCH])
        if not run.is_active:
            # The final answer redraws the tail instead of appending: a line committed late by a slow
            # writer (with a lower id than one already shown) still appears once the run is over.
            entries = _tail(entries_qs)
    else:
        after = 0
        entries = _tail(entries_qs)
    for entry in entries:
        entry.station_name = names.get(entry.location_id, "")
    last_id = entries[-1].pk if entries else after
    context = {
        "run": run,
        "stations": stations,
        "progress": run_progress_percent(run, stations),
        "entries": entries,
        "last_id": last_id,
        "filters": filters,
        "levels": PullLogEntry.Level.choices,
        "poll_url": _poll_url(run, filters, last_id),
        "polling": polling,
        "truncated": not polling and len(entries) >= LOG_TAIL,
        "can_run": request.user.has_perm("pulls.run_pullconfiguration"),
    }
    template = "monitoring/run_detail.html"
    if polling:
        response = render(request, template + "#run-live", context)
        if not run.is_active:
            response.status_code = HTMX_STOP_POLLING
        return response
    if request.htmx:
        return render(request, template + "#run-log", context)
    return render(request, template, context)


def _tail(entries_qs) -> list[PullLogEntry]:
    entries = list(entries_qs.order_by("-pk")[:LOG_TAIL])
    entries.reverse()
    return entries


def _poll_url(run: PullRun, filters: dict, last_id: int) -> str:
    params = f"after={last_id}"
    if filters["level"]:
        params += f"&level={filters['level']}"
    if filters["station"]:
        params += "&station=" + filters["station"]
    return f"{reverse('monitoring:run_detail', args=[run.pk])}?{params}"


def run_log_download(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The whole log as text, streamed in chunks so a million-line log never sits in memory."""
    run = get_object_or_404(PullRun, pk=pk)
    levels = dict(PullLogEntry.Level.choices)

    def lines() -> Iterator[str]:
        yield f"# Run #{run.pk} of {run.configuration_name} ({run.get_trigger_display()}), {run.status}\n"
        rows = (
            PullLogEntry.objects.filter(run=run)
            .order_by("pk")
            .values_list("created_at", "level", "location__monitoring_location_id", "message")
        )
        for created_at, level, station, message in rows.iterator(chunk_size=5000):
            yield f"{created_at.isoformat()} {levels.get(level, level):<7} {station or '-'} {message}\n"

    response = StreamingHttpResponse(lines(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}.log"'
    return response


@require_POST
@permission_required("pulls.run_pullconfiguration", raise_exception=True)
def run_again(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PullRun, pk=pk)
    config = run.configuration
    if config is None:
        messages.error(request, "This run's configuration has been deleted, so it cannot run again.")
        return redirect(run)
    # Imported here: only this view (and Celery routing) may depend on acquisition (DESIGN §2).
    from acquisition.tasks import run_configuration

    run_configuration.delay(config.pk, trigger=PullRun.Trigger.MANUAL, triggered_by=request.user.get_username())
    messages.success(
        request, f"A new run of “{config.name}” is queued; it appears at the top of this list within seconds."
    )
    return redirect(f"{reverse('monitoring:runs')}?configuration={config.pk}")
