"""Runs list and a configuration's recent runs: an Unchanged column, thousands separators, configuration links."""

from __future__ import annotations

import pytest
from django.urls import reverse

from acquisition.models import PullRun
from tests.factories import PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def overwrite_run():
    config = PullConfigurationFactory(name="Potomac overwrite")
    return PullRunFactory(
        configuration=config,
        configuration_name=config.name,
        status=PullRun.Status.SUCCEEDED,
        values_inserted=0,
        values_updated=0,
        values_unchanged=5305,
    )


def test_the_runs_list_shows_values_checked_and_unchanged(viewer_client, overwrite_run):
    body = viewer_client.get(reverse("monitoring:runs")).content.decode()
    assert "<html" in body
    assert ">Unchanged</th>" in body
    assert '<td class="num">5,305</td>' in body


def test_the_runs_fragment_links_the_configuration(viewer_client, overwrite_run):
    body = viewer_client.get(reverse("monitoring:runs"), headers=HTMX).content.decode()
    assert "<html" not in body
    assert f'<a href="{overwrite_run.configuration.get_absolute_url()}">Potomac overwrite</a>' in body
    assert '<td class="num">5,305</td>' in body


def test_a_run_of_a_deleted_configuration_keeps_its_name_without_a_link(viewer_client, overwrite_run):
    overwrite_run.configuration.delete()
    overwrite_run.refresh_from_db()
    assert overwrite_run.configuration is None
    body = viewer_client.get(reverse("monitoring:runs")).content.decode()
    assert "Potomac overwrite <span" in body and "(deleted)" in body
    assert "/pulls/" not in body.split('id="runs-table"')[1]


def test_the_configuration_page_recent_runs_use_thousands_separators(viewer_client, overwrite_run):
    PullRun.objects.filter(pk=overwrite_run.pk).update(values_inserted=12345)
    url = reverse("pulls:detail", args=[overwrite_run.configuration.pk])
    page = viewer_client.get(url).content.decode()
    fragment = viewer_client.get(url, headers=HTMX).content.decode()
    assert "<html" in page and "<html" not in fragment
    for body in (page, fragment):
        assert '<td class="num">12,345</td>' in body and '<td class="num">5,305</td>' in body
