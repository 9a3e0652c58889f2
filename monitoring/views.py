from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Max, Q, Sum, Value, When
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from acquisition.models import PullLogEntry, PullRun, PullRunStation, RevisionSet
from pulls.models import PullConfiguration
from stations.models import MonitoringLocation
from streamflow.htmx import wants_fragment

from .data_views import plausible_date
from .run_statistics import StationTally, batch_summary, dashboard_summary, quota_left, station_tally

LOG_TAIL = 500  # lines shown when the page opens; the full log is a download
POLL_BATCH = 1000  # at most this many new lines per poll; the next poll fetches the rest
MAX_MOVED = 400  # running station rows redrawn per poll (two full batches)
RUNS_PER_PAGE = 25
STATIONS_PER_PAGE = 50  # station rows on the run page; a run may have thousands


# --- Dashboard ----------------------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
@permission_required("acquisition.view_pullrun", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    template = "monitoring/dashboard.html"
    if wants_fragment(request):
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
    """The runs the filter asks for (all of them with no filter); none while it is invalid (the page says why)."""
    runs = PullRun.objects.select_related("configuration")
    if not form.is_bound:
        return runs
    if not form.is_valid():
        return runs.none()
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


@require_GET
@vary_on_headers("HX-Request")
@permission_required("acquisition.view_pullrun", raise_exception=True)
def run_list(request: HttpRequest) -> HttpResponse:
    form = RunFilterForm(request.GET or None)
    page = Paginator(filter_runs(form), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    # While any run is active the table redraws itself, as the dashboard does; once none is, it stops.
    context = {"form": form, "page": page, "query": query.urlencode(), "any_active": PullRun.objects.active().exists()}
    template = "monitoring/runs.html"
    if wants_fragment(request):
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
        # An unknown station shows no lines rather than all of them (location_id=None would mean "run-level lines").
        if filters["location_id"] is None:
            return entries.none()
        entries = entries.filter(location_id=filters["location_id"])
    return entries


@require_GET
@vary_on_headers("HX-Request")
@permission_required("acquisition.view_pullrun", raise_exception=True)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page, or (htmx) its log or station table redrawn after a filter or a page change. Its live part
    polls run_poll while the run is active."""
    if request.htmx and "after" in request.GET:
        # The poll's old address (a page loaded before the poll had its own URL polls here): sent on, query and all.
        return redirect(f"{reverse('monitoring:run_poll', args=[pk])}?{request.GET.urlencode()}")
    run = get_object_or_404(PullRun.objects.select_related("configuration"), pk=pk)
    context = _run_context(request, run, _log_filters(request, run), polling=False)
    template = "monitoring/run_detail.html"
    if wants_fragment(request) and request.htmx.target == "run-stations":
        return render(request, template + "#run-stations", context)
    if wants_fragment(request):
        return render(request, template + "#run-log", context)
    return render(request, template, context)


@require_GET
@permission_required("acquisition.view_pullrun", raise_exception=True)
def run_poll(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page's poller (htmx, every 2 s, ?after=<cursor>): the #run-live fragment with what moved; once the
    run is over, the last answer redraws the tail and the header and stops the poller (286)."""
    run = get_object_or_404(PullRun.objects.select_related("configuration"), pk=pk)
    filters = _log_filters(request, run)
    if run.is_active:
        return _poll(request, run, filters)
    response = render(request, "monitoring/run_detail.html#run-live", _run_context(request, run, filters, polling=True))
    response.status_code = HTMX_STOP_POLLING
    return response


def _run_context(request: HttpRequest, run: PullRun, filters: dict, *, polling: bool) -> dict:
    """What the run page shows (polling: the final poll's redraw of it, once the run is over)."""
    entries_qs = _filtered_log(run, filters)
    # Lines first, station rows second: a station's progress is written before the line saying so, so rows read
    # after the cursor's line already show everything that line (and every earlier one) announced.
    if _is_filtered(filters) and not polling:
        cursor = PullLogEntry.objects.filter(run=run).order_by("-pk").values_list("pk", flat=True).first() or 0
        entries = _tail(entries_qs.filter(pk__lte=cursor))
    else:
        # The final poll redraws the tail instead of appending: a line committed late by a slow writer (with a
        # lower id than one already shown) still appears once the run is over.
        entries = _tail(entries_qs)
        cursor = entries[-1].pk if entries else 0
    tally = station_tally(run)
    shown = _station_page(request, run, tally)
    stations = list(shown["page"])
    _name_stations(entries, stations)
    progress = tally.progress
    return {
        "run": run,
        "stations": stations,
        "shown": shown,
        "progress": progress,
        "entries": entries,
        "last_id": cursor,
        "filters": filters,
        "levels": PullLogEntry.Level.choices,
        "poll_url": _poll_url(run, filters, cursor, _totals_signature(run, progress, tally)),
        "polling": polling,
        # The final poll and a filter change redraw header and progress: the page may be behind on both.
        "refresh": polling or bool(request.htmx),
        "truncated": not polling and len(entries) >= LOG_TAIL,
        "batches": batch_summary(run),
        "quota": quota_left(),
        "can_run": request.user.has_perm("pulls.run_pullconfiguration"),
        "revisions": _revision_counts(run),
    }


# Failed stations first (what an operator comes for), then those still moving, then the rest.
_STATUS_ORDER = Case(
    When(status=PullRunStation.Status.FAILED, then=Value(0)),
    When(status=PullRunStation.Status.RUNNING, then=Value(1)),
    When(status=PullRunStation.Status.PENDING, then=Value(2)),
    When(status=PullRunStation.Status.SKIPPED, then=Value(3)),
    default=Value(4),
    output_field=IntegerField(),
)


def _station_page(request: HttpRequest, run: PullRun, tally: StationTally) -> dict:
    """The page of the run's stations the table shows: ?stations=<status>, ?find=<id or name>, ?sp=<page>."""
    status = request.GET.get("stations", "")
    if status not in tally.by_status:
        status = ""
    find = request.GET.get("find", "").strip()[:100]
    rows = run.stations.select_related("location")
    if status:
        rows = rows.filter(status=status)
    if find:
        rows = rows.filter(Q(location__monitoring_location_id__icontains=find) | Q(location__name__icontains=find))
    paginator = Paginator(rows.order_by(_STATUS_ORDER, "pk"), STATIONS_PER_PAGE)
    # The paginator's count is the tally's when nothing narrows the rows: no second count over thousands.
    if not find:
        paginator.count = tally.by_status[status] if status else tally.total
    page = paginator.get_page(request.GET.get("sp"))
    # Links keep the log's filter and the search; each ends with "&" for the parameter the link sets.
    keep = {name: request.GET[name] for name in ("level", "station") if request.GET.get(name)}
    if find:
        keep["find"] = find
    query = {**keep, "stations": status} if status else keep
    return {
        "keep": urlencode(keep) + "&" if keep else "",
        "query": urlencode(query) + "&" if query else "",
        "page": page,
        "status": status,
        "find": find,
        "counts": [(value, label, tally.by_status[value]) for value, label in PullRunStation.Status.choices],
        "total": tally.total,
    }


def _revision_counts(run: PullRun) -> dict:
    """Values this run revised and approvals it brought (a value revised and approved at once counts in both)."""
    totals = RevisionSet.objects.filter(run=run).aggregate(revised=Sum("revised"), approved=Sum("approved"))
    return {name: total or 0 for name, total in totals.items()}


def _poll(request: HttpRequest, run: PullRun, filters: dict) -> HttpResponse:
    """One poll of an active run: the new lines, and only the parts of the page that moved since the last poll.

    The cursor `after` is the id of the newest line (of any level or station) the page has accounted for. The
    acquisition code logs a line naming the station on every page and outcome, right after writing the station's
    progress (a window's count follows its last page's line by milliseconds), so the stations named by recent lines
    are the rows that moved. The overall bar and the run's counters are redrawn when their signature `v` differs,
    the header when the status does; the run's end redraws everything.
    """
    after = _id_param(request, "after")
    # Rows are redrawn by the poll that sees their station's line and by the next one: a progress write landing
    # just after its line (a window count, or a line whose id was taken before a poll but committed after it)
    # still reaches the page.
    since = min(after, _id_param(request, "since", default=after))
    if _is_filtered(filters):
        # The filter hides lines, not progress: the moved stations come from all the run's new lines.
        moved_rows = list(
            PullLogEntry.objects.filter(run=run, pk__gt=since).values("location_id").annotate(last=Max("pk"))
        )
        cursor = max((row["last"] for row in moved_rows), default=after)
        moved = {row["location_id"] for row in moved_rows}
        entries = []
        if cursor > after:
            entries = list(_filtered_log(run, filters).filter(pk__gt=after, pk__lte=cursor).order_by("pk")[:POLL_BATCH])
            if len(entries) == POLL_BATCH:
                cursor = entries[-1].pk  # the next poll fetches the rest (and redraws those stations again)
    else:
        # One range scan on the (run, id) index. The lines before `after` were sent by the last poll (at most
        # POLL_BATCH of them); they only name stations to redraw again.
        recent = list(PullLogEntry.objects.filter(run=run, pk__gt=since).order_by("pk")[: 2 * POLL_BATCH])
        entries = [entry for entry in recent if entry.pk > after][:POLL_BATCH]
        cursor = entries[-1].pk if entries else after
        moved = {entry.location_id for entry in recent if entry.pk <= cursor}
    if None in moved:
        # A run-level line (a batch's page) moved every running member's bar without naming each: redraw them.
        moved.discard(None)
        running = run.stations.filter(status=PullRunStation.Status.RUNNING)
        moved.update(running.values_list("location_id", flat=True)[:MAX_MOVED])
    # The overall bar and the status counts come from one grouped query, not from the station rows.
    tally = station_tally(run)
    shown = _station_page(request, run, tally)  # the poller sends the table's filter and page along
    changed = []
    if moved:
        # Only the rows on the page the table shows: the others have nowhere to go.
        visible = {s.location_id for s in shown["page"]}
        changed = [s for s in shown["page"] if s.location_id in moved & visible]
    _name_stations(entries, changed)
    progress = tally.progress
    signature = _totals_signature(run, progress, tally)
    context = {
        "run": run,
        "stations": changed,
        "shown": shown,
        "progress": progress,
        "entries": entries,
        "last_id": cursor,
        "filters": filters,
        "poll_url": _poll_url(run, filters, cursor, signature, since=after),
        "polling": True,
        "header_changed": request.GET.get("state") != run.status,
        "batches": batch_summary(run),
        "quota": quota_left(),
        "totals_changed": request.GET.get("v") != signature,
        "can_run": request.user.has_perm("pulls.run_pullconfiguration"),
    }
    return render(request, "monitoring/run_detail.html#run-live", context)


def _is_filtered(filters: dict) -> bool:
    return bool(filters["level"] or filters["station"])


def _name_stations(entries: list[PullLogEntry], stations: list) -> None:
    names = {s.location_id: s.location.monitoring_location_id for s in stations}
    for entry in entries:
        entry.station_name = names.get(entry.location_id, "")


def _totals_signature(run: PullRun, progress: int, tally: StationTally) -> str:
    """A short digest of what the overall bar and the run's counters show: unchanged digest, nothing to redraw."""
    shown = (
        progress,
        sorted(tally.by_status.items()),
        run.stations_total,
        run.stations_succeeded,
        run.stations_failed,
        run.values_inserted,
        run.values_updated,
        run.values_unchanged,
        run.requests_made,
    )
    return format(zlib.crc32(repr(shown).encode()), "08x")


def _tail(entries_qs) -> list[PullLogEntry]:
    entries = list(entries_qs.order_by("-pk")[:LOG_TAIL])
    entries.reverse()
    return entries


def _id_param(request: HttpRequest, name: str, default: int = 0) -> int:
    try:
        return max(0, int(request.GET[name]))
    except (KeyError, ValueError):
        return default


def _poll_url(run: PullRun, filters: dict, last_id: int, signature: str, since: int | None = None) -> str:
    params = f"after={last_id}"
    if filters["level"]:
        params += f"&level={filters['level']}"
    if filters["station"]:
        params += "&" + urlencode({"station": filters["station"]})
    if since is not None and since != last_id:
        params += f"&since={since}"
    params += f"&state={run.status}&v={signature}"
    return f"{reverse('monitoring:run_poll', args=[run.pk])}?{params}"


@require_GET
@permission_required("acquisition.view_pullrun", raise_exception=True)
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
    # The same path as "Run now": refused with a link while a run is active, else recorded at once.
    import logging

    from acquisition.enqueueing import enqueue_run
    from pulls.views import already_running

    active = already_running(request, config)
    if active is not None:
        return redirect(active)

    try:
        new = enqueue_run(config.pk, triggered_by=request.user.get_username())
    except Exception:
        logging.getLogger(__name__).exception("Could not enqueue a run of configuration %s", config.pk)
        messages.error(
            request,
            "The run could not be queued: the task queue is not reachable. Check /health/ and try again in a minute.",
        )
        return redirect(run)
    if new.status == PullRun.Status.SKIPPED:  # lost a race with another click: the database refused it
        if already_running(request, config) is None:
            messages.warning(request, f"Not started: {new.message}")
        return redirect(run)
    if not new.is_active:
        messages.error(request, new.message or f"Run #{new.pk} ended at once ({new.status}).")
        return redirect(new)
    messages.success(request, f"Run #{new.pk} of “{config.name}” was queued.", extra_tags="run-flash")
    return redirect(new)
