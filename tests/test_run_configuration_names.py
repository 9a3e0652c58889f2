"""A run names its configuration as it is called now, on the pages and in the API; the name it had at the run is
kept as "was …" after a rename, and as the only name after a delete (issue 23, item 13)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acquisition.models import PullRun
from tests.api_helpers import bearer
from tests.factories import PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def renamed():
    config = PullConfigurationFactory(name="Potomac daily")
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED)  # snapshot "Potomac daily"
    config.name = "Potomac main stem daily"
    config.save()
    return config, run


def test_the_runs_list_and_the_run_page_show_the_current_name_and_what_it_was(viewer_client, renamed):
    config, run = renamed

    listing = viewer_client.get(reverse("monitoring:runs")).content.decode()
    page = viewer_client.get(run.get_absolute_url()).content.decode()

    assert f'<a href="{config.get_absolute_url()}">Potomac main stem daily</a>' in listing
    assert "(was “Potomac daily”)" in listing
    assert f'<a href="{config.get_absolute_url()}">Potomac main stem daily</a>' in page
    assert "(was “Potomac daily” at this run)" in page


def test_the_dashboard_shows_the_current_name(viewer_client, renamed):
    _, run = renamed

    body = viewer_client.get("/").content.decode()

    assert "Potomac main stem daily" in body and "Potomac daily<" not in body


def test_a_run_of_an_unrenamed_configuration_says_no_was(viewer_client):
    run = PullRunFactory(configuration=PullConfigurationFactory(name="Seneca"))

    body = viewer_client.get(reverse("monitoring:runs")).content.decode()

    assert "Seneca" in body and "(was " not in body
    assert run.renamed_from == ""


def test_a_deleted_configuration_s_runs_keep_the_name_it_had(viewer_client, renamed):
    config, run = renamed
    config.delete()

    body = viewer_client.get(reverse("monitoring:runs")).content.decode()

    assert "Potomac daily <span" in body and "(deleted)" in body


def test_the_api_gives_the_current_name_and_the_name_at_the_run(client, viewer, renamed):
    _, run = renamed
    headers = bearer(viewer)

    listed = client.get("/api/v1/runs", headers=headers).json()["items"][0]
    one = client.get(f"/api/v1/runs/{run.pk}", headers=headers).json()

    for body in (listed, one):
        assert body["configuration_name"] == "Potomac main stem daily"
        assert body["configuration_name_at_run"] == "Potomac daily"


def test_the_runs_list_reads_the_names_without_a_query_per_run(viewer_client, renamed):
    config, _ = renamed

    def queries(n_runs: int) -> int:
        PullRunFactory.create_batch(n_runs, configuration=config, status=PullRun.Status.SUCCEEDED)
        with CaptureQueriesContext(connection) as captured:
            viewer_client.get(reverse("monitoring:runs"))
        return len(captured)

    viewer_client.get(reverse("monitoring:runs"))  # the session and permissions, cached after a first request
    assert queries(2) == queries(10)
