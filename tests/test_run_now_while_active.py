"""Run now / Run again / Re-pull while a run of the configuration is active (issue 13, defect 9): the user is sent
to the active run and nothing is recorded; scheduled triggers still record their skips; the database's refusal
stays the fallback for two clicks that race."""

from __future__ import annotations

import pytest
from django.urls import reverse

from acquisition.models import PullRun
from acquisition.run_bookkeeping import queue_run
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def config():
    config = PullConfigurationFactory(name="Potomac daily")
    config.stations.add(MonitoringLocationFactory())
    return config


@pytest.fixture
def sent(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *a, **kw: calls.append((a, kw)))
    return calls


def test_run_now_with_htmx_while_active_redirects_to_the_configuration_with_the_link(operator_client, config, sent):
    active = PullRunFactory(configuration=config, status=PullRun.Status.QUEUED)

    response = operator_client.post(reverse("pulls:run_now", args=[config.pk]), headers=HTMX)

    assert response["HX-Redirect"] == config.get_absolute_url()
    page = operator_client.get(config.get_absolute_url()).content.decode()
    assert f'href="{active.get_absolute_url()}"' in page and "already running" in page
    assert PullRun.objects.filter(configuration=config).count() == 1
    assert sent == []


def test_run_again_while_active_opens_the_active_run_and_records_nothing(operator_client, config, sent):
    finished = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED)
    active = PullRunFactory(configuration=config, status=PullRun.Status.RUNNING)

    response = operator_client.post(reverse("monitoring:run_again", args=[finished.pk]), follow=True)

    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    assert "already running" in response.content.decode()
    assert PullRun.objects.filter(configuration=config).count() == 2
    assert sent == []


def test_a_re_pull_while_active_records_nothing(operator_client, config, sent):
    active = PullRunFactory(configuration=config, status=PullRun.Status.RUNNING)

    response = operator_client.post(
        reverse("pulls:backfill", args=[config.pk]), {"start": "2026-01-01", "end": "2026-01-31"}, follow=True
    )

    assert f'href="{active.get_absolute_url()}"' in response.content.decode()
    assert PullRun.objects.filter(configuration=config).count() == 1


def test_a_scheduled_trigger_while_active_still_records_its_skip(config):
    active = PullRunFactory(configuration=config, status=PullRun.Status.RUNNING)

    skipped = queue_run(config, PullRun.Trigger.SCHEDULE)

    assert skipped.status == PullRun.Status.SKIPPED and skipped.pk != active.pk


def test_a_click_that_races_past_the_check_is_refused_by_the_database_and_links_the_winner(
    operator_client, config, sent, monkeypatch
):
    active = PullRunFactory(configuration=config, status=PullRun.Status.RUNNING)
    # The other click's run appears between this view's check and its queue_run.
    monkeypatch.setattr("pulls.views.already_running", _first_call_sees_nothing())

    response = operator_client.post(reverse("pulls:run_now", args=[config.pk]), follow=True)

    assert f'href="{active.get_absolute_url()}"' in response.content.decode()
    assert PullRun.objects.filter(configuration=config, status="skipped").count() == 1
    assert sent == []


def _first_call_sees_nothing():
    from pulls import views

    real = views.already_running
    calls = []

    def check(request, config):
        calls.append(1)
        return None if len(calls) == 1 else real(request, config)

    return check
