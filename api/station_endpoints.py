"""Stations: the UI's search (stations/search.py, validated by its SearchForm) as a keyset-paginated list."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from ninja import Path, Query, Router

from stations.forms import SearchForm
from stations.models import MonitoringLocation, TimeSeries
from stations.search import search_queryset

from .auth import require
from .errors import FieldErrors
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, next_url
from .schemas import AUTH_ERRORS, Error, StationDetail, StationPage

router = Router(tags=["stations"])


def series_json(request: HttpRequest, series: TimeSeries) -> dict:
    return {
        "time_series_id": series.time_series_id,
        "kind": series.kind,
        "parameter_code": series.parameter_code,
        "statistic_id": series.statistic_id,
        "primary": series.primary,
        "begin": series.begin,
        "end": series.end,
        "unit": series.unit,
        "values_url": request.build_absolute_uri(reverse("api:series_values", args=[series.time_series_id])),
    }


def station_json(request: HttpRequest, location: MonitoringLocation) -> dict:
    return {
        "monitoring_location_id": location.monitoring_location_id,
        "site_number": location.site_number,
        "name": location.name,
        "state_code": location.state_code,
        "huc": location.huc,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "drainage_area_sqmi": location.drainage_area_sqmi,
        "site_type": location.site_type,
        "has_daily": location.has_daily,
        "has_continuous": location.has_continuous,
        "url": request.build_absolute_uri(reverse("api:station", args=[location.monitoring_location_id])),
    }


@router.get(
    "/stations",
    response={200: StationPage, 422: Error, **AUTH_ERRORS},
    url_name="stations",
    summary="Search stations",
    description="The Stations page's search: `q` is name words, a site-number prefix or a USGS-… id prefix; "
    "`state` a postal code; `huc` a HUC prefix; `series` daily or continuous; `bbox` west,south,east,north in "
    "degrees. Ordered by site number; follow `next` for the following page.",
)
def list_stations(
    request: HttpRequest,
    q: str = Query("", max_length=100, example="potomac"),
    state: str = Query("", max_length=2, example="MD"),
    huc: str = Query("", max_length=12, example="0207"),
    series: str = Query("", max_length=12, example="daily"),
    bbox: str = Query("", max_length=100, example="-77.5,38.8,-76.9,39.2"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=400, description="From the previous page's `next`."),
):
    require(request, "stations.view_monitoringlocation")
    form = SearchForm({"q": q, "state": state, "huc": huc, "series": series, "bbox": bbox})
    if not form.is_valid():
        raise FieldErrors.from_form(form, "The search")
    qs = search_queryset(**form.filters())
    key = decode_cursor(cursor, 2)
    if key:
        site, location_id = (str(part) for part in key)
        qs = qs.filter(Q(site_number__gt=site) | Q(site_number=site, monitoring_location_id__gt=location_id))
    rows = list(qs[: limit + 1])
    following = next_url(request, rows, limit, lambda loc: [loc.site_number, loc.monitoring_location_id])
    return {"items": [station_json(request, loc) for loc in rows], "next": following}


@router.get(
    "/stations/{monitoring_location_id}",
    response={200: StationDetail, 404: Error, **AUTH_ERRORS},
    url_name="station",
    summary="One station with its discharge series",
)
def get_station(request: HttpRequest, monitoring_location_id: str = Path(..., example="USGS-01646500")):
    require(request, "stations.view_monitoringlocation")
    location = MonitoringLocation.objects.get_or_404(monitoring_location_id)
    series = [series_json(request, s) for s in location.series.order_by("kind", "-primary", "time_series_id")]
    return {
        **station_json(request, location),
        "county_name": location.county_name,
        "tz_abbreviation": location.tz_abbreviation,
        "series": series,
    }
