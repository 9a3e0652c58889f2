"""Operators re-pull a date range from the configuration page: a `backfill` run, queued at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from acquisition.models import PullRun
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def config():
    config = PullConfigurationFactory(name="Potomac daily")
    config.stations.add(MonitoringLocationFactory())
    return config


@pytest.fixture
def sent(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *a, **kw: calls.append((a, kw)))
    return calls


def test_it_queues_a_backfill_run_of_the_range_and_opens_its_page(operator_client, config, sent):
    response = operator_client.post(
        reverse("pulls:backfill", args=[config.pk]), {"start": "2026-03-01", "end": "2026-03-31"}
    )

    run = PullRun.objects.get(configuration=config)
    assert response.status_code == 302
    assert response["Location"] == run.get_absolute_url()
    assert (run.trigger, run.status) == (PullRun.Trigger.BACKFILL, PullRun.Status.QUEUED)
    assert (run.range_start, run.range_end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert sent == [((config.pk,), {"trigger": "backfill", "triggered_by": "olivia-operator", "run_id": run.pk})]


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("2026-03-31", "2026-03-01", "swap the two dates"),
        ("2026-03-01", "2999-01-01", "ends in the future"),
        ("1700-01-01", "2026-03-01", "on or after 1850-01-01"),
        ("yesterday", "2026-03-01", "Enter a valid date"),
    ],
)
def test_a_bad_range_says_why_keeps_the_dates_and_queues_nothing(operator_client, config, sent, start, end, message):
    response = operator_client.post(reverse("pulls:backfill", args=[config.pk]), {"start": start, "end": end})
    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    assert 'id="backfill-error"' in body
    assert f'value="{end}"' in body  # the dates come back as typed
    assert not PullRun.objects.exists()
    assert sent == []


def test_viewers_cannot_re_pull(viewer_client, config, sent):
    today = timezone.localdate().isoformat()
    response = viewer_client.post(reverse("pulls:backfill", args=[config.pk]), {"start": today, "end": today})
    assert response.status_code == 403
    assert not PullRun.objects.exists()
    assert sent == []


def test_the_page_offers_the_range_form_to_operators(operator_client, config):
    assert 'id="backfill-form"' in operator_client.get(reverse("pulls:detail", args=[config.pk])).content.decode()


def test_the_page_shows_no_range_form_to_viewers(viewer_client, config):
    assert 'id="backfill-form"' not in viewer_client.get(reverse("pulls:detail", args=[config.pk])).content.decode()
