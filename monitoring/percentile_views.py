"""How unusual is today (issue 24): the percentile maps' data (JSON) and an Operator's "Refresh normals"."""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from acquisition import normals
from acquisition.usgs import USGSError
from pulls.models import PullConfiguration, PullConfigurationStation
from stations.models import MonitoringLocation

from .charts import unit_label
from .percentiles import CLASSES, Ranking, station_rankings


def describe(ranking: Ranking) -> str:
    """ "2026-11-20: 1,230 ft³/s, 4th percentile" (or why it is not ranked)."""
    if ranking.date is None or ranking.value is None:
        return ranking.reason
    unit = unit_label(ranking.series.unit) if ranking.series else ""
    text = f"{ranking.date:%Y-%m-%d}: {ranking.value:,.6g} {unit}".rstrip()
    if ranking.percentile is not None:
        return f"{text}, {ordinal(ranking.percentile)} percentile"
    return f"{text}. {ranking.reason}" if ranking.reason else text


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def percentile_points(configurations: QuerySet[PullConfiguration] | None = None) -> dict:
    """The percentile map's data, in the status map's shape (states = classes, with counts), plus the dates."""
    configs = PullConfiguration.objects.all() if configurations is None else configurations
    ids = list(PullConfigurationStation.objects.filter(configuration__in=configs).values_list("location_id", flat=True))
    ids = sorted(set(ids))
    rankings = station_rankings(ids)
    rows = (
        MonitoringLocation.objects.filter(pk__in=ids)
        .order_by("monitoring_location_id")
        .values_list("pk", "monitoring_location_id", "name", "latitude", "longitude")
    )
    points, unplaced = [], 0
    for pk, location_id, name, lat, lon in rows:
        if lat is None or lon is None:
            unplaced += 1
            continue
        ranking = rankings[pk]
        points.append([location_id, name, round(lat, 5), round(lon, 5), ranking.key, describe(ranking)])
    counts = Counter(r.key for r in rankings.values())
    dates = Counter(r.date for r in rankings.values() if r.date is not None)
    if dates:
        listed = ", ".join(f"{day:%Y-%m-%d} ({n} station{'s' if n != 1 else ''})" for day, n in sorted(
            dates.items(), key=lambda item: (-item[1], item[0])
        )[:3])  # fmt: skip
        note = f"Newest daily value of each station, ranked against its day of the year: values of {listed}."
    else:
        note = "No daily values stored yet."
    return {
        "states": [{"key": c.key, "label": c.label, "color": c.color, "count": counts[c.key]} for c in CLASSES],
        "points": points,
        "total": len(ids),
        "unplaced": unplaced,
        "note": note,
        "detail_prefix": reverse("stations:detail", args=["x"]).removesuffix("x/"),
    }


@require_GET
@permission_required("acquisition.view_pullrun", raise_exception=True)  # as the dashboard it sits on
def percentile_map(request: HttpRequest) -> JsonResponse:
    return JsonResponse(percentile_points())


@require_GET
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_percentile_map(request: HttpRequest, pk: int) -> JsonResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    return JsonResponse(percentile_points(PullConfiguration.objects.filter(pk=config.pk)))


@require_POST
@permission_required("pulls.run_pullconfiguration", raise_exception=True)  # Operators: it spends USGS quota
def refresh_station_normals(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    location = MonitoringLocation.objects.get_or_404(monitoring_location_id)
    target = location.get_absolute_url() + "#station-percentile"
    if not location.series.filter(kind="daily").exists():
        messages.error(request, "This station has no daily series: there are no normals to fetch.")
        return redirect(target)
    try:
        result = normals.refresh_locations([location])
    except USGSError as exc:
        messages.error(request, f"USGS did not answer: {exc} Nothing was changed.")
        return redirect(target)
    messages.success(
        request,
        f"Normals refreshed: {result.days} days of the year for {result.with_normals} of {result.series} daily "
        f"series, {result.notes} revision notes ({result.requests} USGS requests).",
    )
    return redirect(target)
