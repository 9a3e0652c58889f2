"""The runs list: filters (kept in the URL), pagination, and the numbers per run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from acquisition.models import PullRun
from tests.factories import PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("monitoring:runs")


def test_it_lists_runs_with_duration_counts_and_values(viewer_client):
    start = timezone.now() - dt.timedelta(minutes=5)
    run = PullRunFactory(
        started_at=start,
        finished_at=start + dt.timedelta(seconds=75),
        stations_succeeded=4,
        stations_failed=1,
        values_inserted=12345,
        values_updated=67,
    )
    response = viewer_client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert f'href="{run.get_absolute_url()}"' in body
    assert "1 min 15 s" in body and "4 / 1" in body and "12,345" in body and ">67<" in body


def test_it_filters_by_status_configuration_and_trigger(viewer_client):
    config = PullConfigurationFactory()
    wanted = PullRunFactory(configuration=config, status=PullRun.Status.FAILED, trigger=PullRun.Trigger.MANUAL)
    PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED, trigger=PullRun.Trigger.MANUAL)
    PullRunFactory(configuration=config, status=PullRun.Status.FAILED, trigger=PullRun.Trigger.SCHEDULE)
    PullRunFactory(status=PullRun.Status.FAILED, trigger=PullRun.Trigger.MANUAL)

    response = viewer_client.get(URL, {"status": "failed", "configuration": config.pk, "trigger": "manual"}, **HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<div id="runs-table"')
    assert list(response.context["page"]) == [wanted]


def test_it_filters_by_date_range(viewer_client):
    inside = PullRunFactory()
    outside = PullRunFactory()
    PullRun.objects.filter(pk=inside.pk).update(created_at=timezone.make_aware(dt.datetime(2026, 5, 10, 12)))
    PullRun.objects.filter(pk=outside.pk).update(created_at=timezone.make_aware(dt.datetime(2026, 5, 12, 0, 1)))
    response = viewer_client.get(URL, {"date_from": "2026-05-10", "date_to": "2026-05-11"})
    assert list(response.context["page"]) == [inside]


def test_a_reversed_date_range_says_what_to_do(viewer_client):
    PullRunFactory()
    response = viewer_client.get(URL, {"date_from": "2026-05-12", "date_to": "2026-05-10"}, **HTMX)
    assert "The start date is after the end date" in response.content.decode()


def test_it_paginates_and_keeps_the_filters_in_page_links(viewer_client):
    config = PullConfigurationFactory()
    PullRunFactory.create_batch(30, configuration=config, status=PullRun.Status.SUCCEEDED)
    response = viewer_client.get(URL, {"status": "succeeded"})
    body = response.content.decode()
    assert len(response.context["page"]) == 25
    assert 'href="?status=succeeded&amp;page=2"' in body
    assert 'hx-get="?status=succeeded&amp;page=2"' in body
    second = viewer_client.get(URL, {"status": "succeeded", "page": 2}, **HTMX)
    assert len(second.context["page"]) == 5


def test_the_filter_form_pushes_its_url(viewer_client):
    body = viewer_client.get(URL).content.decode()
    assert 'hx-push-url="true"' in body and 'hx-target="#runs-table"' in body
