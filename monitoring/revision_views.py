"""A configuration's revision history: what pulls changed in its stations' stored values, filterable and as CSV."""

from __future__ import annotations

from itertools import islice

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from acquisition.models import RevisionSet
from pulls.models import PullConfiguration
from stations.models import MonitoringLocation, TimeSeries
from streamflow.htmx import wants_fragment
from streamflow.responses import plain_error

from .csv_safe import csv_stream
from .revision_notes import notes_for

REVISIONS_SHOWN = 200  # rows on the page; the CSV has them all

# A revision's own columns (acquisition.models.ValueRevision), in the CSV's order: the rows' and the header's.
CHANGE_COLUMNS = (
    "change",
    "old_value",
    "new_value",
    "old_approval",
    "new_approval",
    "old_qualifiers",
    "new_qualifiers",
    "changed_at",
    "run_id",
)


def series_kind(config: PullConfiguration) -> str:
    daily = config.data_type == PullConfiguration.DataType.DAILY_MEAN
    return TimeSeries.Kind.DAILY if daily else TimeSeries.Kind.CONTINUOUS


def _filters(request: HttpRequest, config: PullConfiguration) -> dict:
    """Station, change kind and run from the query; an unknown station or kind is a 404, not "everything"."""
    station = request.GET.get("station", "")
    kind = request.GET.get("kind", "")
    run = request.GET.get("run", "")
    location = None
    if station:
        location = get_object_or_404(MonitoringLocation, monitoring_location_id=station, pull_configurations=config)
    if kind and kind not in RevisionSet.Change.values:
        kind = None
    if run and not run.isdigit():
        run = None
    return {"station": station, "location": location, "kind": kind, "run": run}


def _revision_sets(config: PullConfiguration, filters: dict):
    # The configuration's own kind of series: a station's other series may be another configuration's business.
    sets = RevisionSet.objects.filter(series__location__pull_configurations=config, series__kind=series_kind(config))
    if filters["location"] is not None:
        sets = sets.filter(series__location=filters["location"])
    if filters["kind"]:
        sets = sets.with_change(filters["kind"])
    if filters["run"]:
        sets = sets.filter(run_id=int(filters["run"]))
    return sets.select_related("series__location", "run").order_by("-id")


def _bad_filter(filters: dict) -> HttpResponse | None:
    if filters["kind"] is None:
        return plain_error("Unknown change kind: use value, approval, qualifiers or removed.")
    if filters["run"] is None:
        return plain_error("The run must be a run number.")
    return None


@require_GET
@vary_on_headers("HX-Request")
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_revisions(request: HttpRequest, pk: int) -> HttpResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    filters = _filters(request, config)
    if (bad := _bad_filter(filters)) is not None:
        return bad
    revisions = _revision_sets(config, filters).revisions(filters["kind"] or None)
    context = {
        "configuration": config,
        "filters": filters,
        "revisions": (shown := list(islice(revisions, REVISIONS_SHOWN))),
        "usgs_notes": notes_for(shown),  # USGS's own notes on what changed, where their periods overlap
        "limit": REVISIONS_SHOWN,
        "kinds": RevisionSet.Change.choices,
        "stations": config.stations.order_by("monitoring_location_id").values_list("monitoring_location_id", flat=True),
        "query": request.GET.urlencode(),
    }
    template = "monitoring/revisions.html"
    if wants_fragment(request):
        template += "#revision-table"
    return render(request, template, context)


@require_GET
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_revisions_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse | HttpResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    filters = _filters(request, config)
    if (bad := _bad_filter(filters)) is not None:
        return bad
    revisions = _revision_sets(config, filters).revisions(filters["kind"] or None)

    def lines():
        for r in revisions:
            cells = {column: getattr(r, column) for column in CHANGE_COLUMNS}
            for side in ("old_qualifiers", "new_qualifiers"):
                cells[side] = "" if cells[side] is None else " ".join(cells[side])
            cells["changed_at"] = cells["changed_at"].isoformat()
            yield [r.series.location.monitoring_location_id, r.series.kind, r.when.isoformat(), *cells.values()]

    header = ["monitoring_location_id", "kind", "time", *CHANGE_COLUMNS[:-1], "run"]
    response = StreamingHttpResponse(csv_stream(header, lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="revisions-{config.pk}.csv"'
    return response
