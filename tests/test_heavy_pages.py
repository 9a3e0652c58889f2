"""Heavy pages (issue 22, item 4): one user has at most HEAVY_PAGES_PER_USER quality pages loading at once, across
web processes; one more is a 429 sentence straight away, and a finished page frees its slot."""

from __future__ import annotations

import pytest

from monitoring import export_limits
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings):
    settings.HEAVY_PAGES_PER_USER = 2
    return 2


@pytest.fixture
def held(viewer, limit):
    """Both of the viewer's slots, taken as two pages loading in other threads or processes would."""
    slots = [export_limits.acquire(viewer.pk, limit, pool="heavy") for _ in range(limit)]
    assert all(slots)
    yield slots
    for slot in slots:
        slot.release()


def _urls() -> list[str]:
    location = MonitoringLocationFactory()
    config = PullConfigurationFactory()
    config.add_stations([location.pk])
    return [
        f"/monitoring/stations/{location.monitoring_location_id}/quality/",
        f"/monitoring/configurations/{config.pk}/quality/",
        f"/monitoring/configurations/{config.pk}/quality.csv",
    ]


def test_a_third_quality_page_at_once_is_a_429_sentence_and_computes_nothing(viewer_client, held, monkeypatch):
    computed = []
    monkeypatch.setattr("monitoring.quality_views.configuration_rollup", lambda *a: computed.append(a) or [])
    for url in _urls():
        response = viewer_client.get(url)

        assert response.status_code == 429, url
        assert response["Content-Type"].startswith("text/plain") and int(response["Retry-After"]) > 0
        assert "already have 2 quality pages loading" in response.content.decode()
    assert computed == []


def test_another_user_is_not_held_up_by_the_first(client, viewer, held):
    other = UserFactory(username="vera-viewer")
    other.groups.set(viewer.groups.all())
    client.force_login(other)

    assert all(client.get(url).status_code == 200 for url in _urls())


def test_a_finished_page_frees_its_slot(viewer_client, limit):
    urls = _urls()
    for _ in range(limit + 2):
        assert viewer_client.get(urls[1]).status_code == 200
    assert viewer_client.get(urls[0], headers={"HX-Request": "true"}).status_code == 200
