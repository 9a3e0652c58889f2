from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from . import basket as basket_store
from .models import MonitoringLocation


def search(request: HttpRequest) -> HttpResponse:
    page = MonitoringLocation.objects.all()[:50]
    return render(request, "stations/search.html", {"locations": page})


def basket(request: HttpRequest) -> HttpResponse:
    ids = basket_store.get_ids(request)
    return render(
        request,
        "stations/basket.html",
        {"locations": MonitoringLocation.objects.filter(monitoring_location_id__in=ids)},
    )


def detail(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    location = get_object_or_404(MonitoringLocation, monitoring_location_id=monitoring_location_id)
    return render(request, "stations/detail.html", {"location": location})
