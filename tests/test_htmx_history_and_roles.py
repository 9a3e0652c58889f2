"""The back button (an htmx history restore) gets whole pages; an account without a role sees nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from acquisition.models import DailyValue
from tests.factories import (
    PullConfigurationFactory,
    PullLogEntryFactory,
    PullRunFactory,
    TimeSeriesFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


@pytest.fixture
def pages():
    series = TimeSeriesFactory()
    DailyValue.objects.create(series=series, date="2026-01-01", value=1.5)
    config = PullConfigurationFactory()
    config.stations.add(series.location)
    site = series.location.monitoring_location_id
    run = PullRunFactory(configuration=config)
    return [
        reverse("monitoring:dashboard"),
        reverse("monitoring:runs") + "?status=succeeded",
        reverse("monitoring:run_detail", args=[run.pk]),
        reverse("stations:search") + "?state=MD",
        reverse("pulls:list"),
        reverse("pulls:detail", args=[config.pk]),
        reverse("monitoring:station_data", args=[site]),
    ]


def test_a_history_restore_gets_the_whole_page_not_a_fragment(viewer_client, pages):
    for url in pages:
        fragment = viewer_client.get(url, headers={"HX-Request": "true"})
        restored = viewer_client.get(url, headers=RESTORE)
        assert "<html" not in fragment.content.decode(), url
        assert restored.status_code == 200, url
        assert "<html" in restored.content.decode(), url


def test_an_account_in_no_group_is_refused_everywhere(client, pages):
    client.force_login(UserFactory(username="nobody"))
    for url in pages:
        response = client.get(url)
        assert response.status_code == 403, url
        body = response.content.decode()
        assert "Ask an administrator to add your account" in body
        # Nothing on the page leads to another 403: no dashboard link, no app navigation; logging out works.
        assert 'href="/"' not in body
        assert 'href="/stations/"' not in body
        assert 'id="logout-button"' in body


def test_the_log_filter_for_a_station_not_in_the_catalog_shows_no_lines(viewer_client):
    run = PullRunFactory()
    PullLogEntryFactory(run=run, message="a run-level line")
    response = viewer_client.get(reverse("monitoring:run_detail", args=[run.pk]), {"station": "USGS-00000000"})
    assert response.status_code == 200
    assert "a run-level line" not in response.content.decode()
