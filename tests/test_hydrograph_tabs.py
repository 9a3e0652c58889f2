"""The daily / continuous tabs keep the axis and the range the user chose (issue 23, item 10)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from stations.models import TimeSeries
from tests.monitoring_factories import continuous_series_with_values, daily_series_with_values

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def location():
    continuous = continuous_series_with_values(2_000)  # 2025-01-01 … 01-07, every 5 minutes
    daily = daily_series_with_values(60, start=dt.date(2024, 12, 1))
    TimeSeries.objects.filter(pk=daily.pk).update(location=continuous.location)
    return continuous.location


def tabs(body: str) -> dict[str, str]:
    nav = body.split('id="kind-tabs"')[1].split("</ul>")[0]
    return {kind: query.replace("&amp;", "&") for kind, query in re.findall(r'id="tab-(\w+)" href="\?([^"]*)"', nav)}


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "fragment"])
def test_a_tab_keeps_the_axis_and_the_chosen_range(viewer_client, location, headers):
    url = reverse("monitoring:station_data", args=[location.monitoring_location_id])

    response = viewer_client.get(
        url, {"kind": "daily", "start": "2025-01-02", "end": "2025-01-05", "scale": "log"}, headers=headers
    )

    assert response.status_code == 200
    assert tabs(response.content.decode()) == {
        "continuous": "kind=continuous&scale=log&start=2025-01-02&end=2025-01-05",
        "daily": "kind=daily&scale=log&start=2025-01-02&end=2025-01-05",
    }


def test_following_a_tab_draws_that_kind_with_the_same_axis_and_range(viewer_client, location):
    url = reverse("monitoring:station_data", args=[location.monitoring_location_id])
    daily = viewer_client.get(url, {"kind": "daily", "start": "2025-01-02", "end": "2025-01-05", "scale": "log"})

    continuous = viewer_client.get(f"{url}?{tabs(daily.content.decode())['continuous']}")

    context = continuous.context
    assert context["series"].kind == "continuous"
    assert (context["start"], context["end"]) == (dt.date(2025, 1, 2), dt.date(2025, 1, 5))
    assert context["chart"].log


def test_without_a_chosen_range_a_tab_opens_that_kind_s_own_default_window(viewer_client, location):
    url = reverse("monitoring:station_data", args=[location.monitoring_location_id])

    body = viewer_client.get(url, {"scale": "log"}).content.decode()

    assert tabs(body)["continuous"] == "kind=continuous&scale=log"
