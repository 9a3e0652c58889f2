from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import PullConfiguration


def configuration_list(request: HttpRequest) -> HttpResponse:
    return render(request, "pulls/list.html", {"configurations": PullConfiguration.objects.all()})


def configuration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "pulls/detail.html", {"configuration": get_object_or_404(PullConfiguration, pk=pk)})
