"""How unusual is today (issue 24): a daily series' day-of-year normals, and a station's current WaterWatch class."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Path, Router, Schema
from pydantic import Field

from acquisition.models import NormalsFetch, SeriesNormal
from monitoring.percentile_views import describe
from monitoring.percentiles import station_rankings, unusable
from stations.models import MonitoringLocation, TimeSeries

from .auth import require
from .schemas import AUTH_ERRORS, Error

router = Router(tags=["percentiles"])


class NormalOut(Schema):
    day: str = Field(examples=["11-20"], description="The calendar day (MM-DD; 02-29 included).")
    p05: float | None
    p10: float | None
    p25: float | None
    p50: float | None
    p75: float | None
    p90: float | None
    p95: float | None
    minimum: float | None
    maximum: float | None
    sample_count: int | None = Field(description="Approved years behind the day's statistics.")
    usable: bool = Field(description="False: too few years or missing percentiles; no class, no band.")


class NormalsOut(Schema):
    time_series_id: str
    unit: str
    fetched_at: dt.datetime | None = Field(description="When the normals were last fetched from USGS (null: never).")
    message: str
    days: list[NormalOut]


class ClassOut(Schema):
    monitoring_location_id: str
    time_series_id: str | None
    date: dt.date | None = Field(description="The day of the newest stored daily value, the one ranked.")
    value: float | None
    percentile: int | None = Field(description="Whole percentile; null when not ranked or a record.")
    class_: str = Field(
        alias="class",
        examples=["much_below"],
        description="record_low, much_below (<10), below (10–24), normal (25–75), above (76–90), much_above (>90), "
        "record_high, or not_ranked.",
    )
    label: str = Field(examples=["Much below normal"])
    reason: str = Field(description="Why it is not ranked (empty when ranked).")
    description: str


@router.get(
    "/series/{time_series_id}/normals",
    response={200: NormalsOut, 404: Error, **AUTH_ERRORS},
    url_name="series_normals",
    summary="A daily series' day-of-year normals (from the USGS Statistics API)",
)
def series_normals(
    request: HttpRequest, time_series_id: str = Path(..., max_length=64, example="a1b2c3d4e5f60718293a4b5c6d7e8f90")
):
    require(request, "acquisition.view_dailyvalue")
    series = get_object_or_404(TimeSeries, time_series_id=time_series_id)
    fetched = NormalsFetch.objects.filter(series=series).first()
    rows = SeriesNormal.objects.filter(series=series).order_by("month", "day")
    days = [
        {
            "day": row.time_of_year,
            **{name: getattr(row, name) for name in ("p05", "p10", "p25", "p50", "p75", "p90", "p95")},
            "minimum": row.minimum,
            "maximum": row.maximum,
            "sample_count": row.sample_count,
            "usable": not unusable(row),
        }
        for row in rows
    ]
    return {
        "time_series_id": series.time_series_id,
        "unit": series.unit,
        "fetched_at": fetched.fetched_at if fetched else None,
        "message": fetched.message if fetched else "Normals not fetched yet.",
        "days": days,
    }


@router.get(
    "/stations/{monitoring_location_id}/percentile",
    response={200: ClassOut, 404: Error, **AUTH_ERRORS},
    url_name="station_percentile",
    summary="A station's newest daily value, its percentile and WaterWatch class",
    by_alias=True,
)
def station_percentile(request: HttpRequest, monitoring_location_id: str = Path(..., example="USGS-01646500")):
    require(request, "stations.view_monitoringlocation")
    location = MonitoringLocation.objects.get_or_404(monitoring_location_id)
    ranking = station_rankings([location.pk])[location.pk]
    return {
        "monitoring_location_id": location.monitoring_location_id,
        "time_series_id": ranking.series.time_series_id if ranking.series else None,
        "date": ranking.date,
        "value": ranking.value,
        "percentile": ranking.percentile,
        "class": ranking.key,
        "label": ranking.label,
        "reason": ranking.reason,
        "description": describe(ranking),
    }
