"""The status maps' data (JSON): the dashboard's map over every configuration, and one configuration's map."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_GET

from pulls.models import PullConfiguration

from .status_map import status_points


def _answer(data: dict) -> JsonResponse:
    data["detail_prefix"] = reverse("stations:detail", args=["x"]).removesuffix("x/")
    return JsonResponse(data)


@require_GET
@permission_required("acquisition.view_pullrun", raise_exception=True)  # as the dashboard it sits on
def status_map(request: HttpRequest) -> JsonResponse:
    return _answer(status_points())


@require_GET
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_status_map(request: HttpRequest, pk: int) -> JsonResponse:
    config = get_object_or_404(PullConfiguration, pk=pk)
    return _answer(status_points(PullConfiguration.objects.filter(pk=config.pk)))
