from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def configuration_statistics(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse("")


def station_data(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    return HttpResponse("")


def station_data_csv(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    return HttpResponse("")
