"""A configuration's revision history: what pulls changed in its stations' stored values, filterable and as CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from acquisition.models import ValueRevision
from pulls.models import PullConfiguration
from stations.models import MonitoringLocation, TimeSeries
from streamflow.htmx import wants_fragment

from .csv_safe import csv_stream

REVISIONS_SHOWN = 200  # rows on the page; the CSV has them all

# A revision's own columns, in the CSV's order (the query's and the header's: written once).
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
    if kind and kind not in ValueRevision.Change.values:
        kind = None
    if run and not run.isdigit():
        run = None
    return {"station": station, "location": location, "kind": kind, "run": run}


def _revisions(config: PullConfiguration, filters: dict):
    # The configuration's own kind of series: a station's other series may be another configuration's business.
    revisions = ValueRevision.objects.filter(
        series__location__pull_configurations=config, series__kind=series_kind(config)
    )
    if filters["location"] is not None:
        revisions = revisions.filter(series__location=filters["location"])
    if filters["kind"]:
        revisions = revisions.filter(change=filters["kind"])
    if filters["run"]:
        revisions = revisions.filter(run_id=int(filters["run"]))
    return revisions


def _bad_filter(filters: dict) -> HttpResponse | None:
    if filters["kind"] is None:
        return HttpResponse("Unknown change kind: use value, approval, qualifiers or removed.", status=400)
    if filters["run"] is None:
        return HttpResponse("The run must be a run number.", status=400)
    return None


@require_GET
@vary_on_headers("HX-Request")
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_revisions(request: HttpRequest, pk: int) -> HttpResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    filters = _filters(request, config)
    if (bad := _bad_filter(filters)) is not None:
        return bad
    revisions = _revisions(config, filters).select_related("series__location", "run").order_by("-id")
    context = {
        "configuration": config,
        "filters": filters,
        "revisions": list(revisions[:REVISIONS_SHOWN]),
        "limit": REVISIONS_SHOWN,
        "kinds": ValueRevision.Change.choices,
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
    rows = (
        _revisions(config, filters)
        .order_by("-id")
        .values_list("series__location__monitoring_location_id", "series__kind", "date", "time", *CHANGE_COLUMNS)
    )

    def lines():
        for station, kind, day, instant, *rest in rows.iterator(chunk_size=5000):
            old_q, new_q = rest[5], rest[6]
            rest[5] = "" if old_q is None else " ".join(old_q)
            rest[6] = "" if new_q is None else " ".join(new_q)
            rest[7] = rest[7].isoformat()
            yield [station, kind, (day or instant).isoformat(), *rest]

    header = ["monitoring_location_id", "kind", "time", *CHANGE_COLUMNS[:-1], "run"]
    response = StreamingHttpResponse(csv_stream(header, lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="revisions-{config.pk}.csv"'
    return response
