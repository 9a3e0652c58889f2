from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from pulls.models import PullConfiguration

from .models import PullRun


def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "configurations_total": PullConfiguration.objects.count(),
        "configurations_enabled": PullConfiguration.objects.enabled().count(),
        "recent_runs": PullRun.objects.select_related("configuration")[:10],
    }
    return render(request, "monitoring/dashboard.html", context)


def run_list(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/runs.html", {"runs": PullRun.objects.all()[:50]})


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "monitoring/run_detail.html", {"run": get_object_or_404(PullRun, pk=pk)})
