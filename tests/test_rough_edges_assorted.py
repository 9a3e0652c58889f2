"""Issue 23, item 16: the assorted rough edges — each page says what it does and does what it says."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from acquisition.models import PullLogEntry, PullRun, PullRunStation
from acquisition.run_bookkeeping import finalize_run
from acquisition.runlog import plural
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, PullRunStationFactory
from tests.test_pulls_form import _form

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_a_reversed_runs_filter_lists_no_run_and_says_so(viewer_client):
    PullRunFactory.create_batch(3)

    for headers in ({}, HTMX):
        response = viewer_client.get(
            reverse("monitoring:runs"), {"date_from": "2026-05-12", "date_to": "2026-05-10"}, headers=headers
        )
        body = response.content.decode()
        assert list(response.context["page"]) == []
        assert "swap them or clear one" in body and "No run is listed until the filter is corrected." in body
        assert "0 runs" in body and "No run listed: correct the filter above." in body


def test_log_lines_write_numbers_as_the_pages_do():
    run = PullRunFactory(status=PullRun.Status.RUNNING)
    PullRunStationFactory(run=run, status=PullRunStation.Status.SUCCEEDED, values_inserted=18141, values_updated=1200)

    finalize_run(run.pk)

    line = PullLogEntry.objects.filter(run=run).latest("pk").message
    assert "values inserted 18,141, updated 1,200, unchanged 0." in line
    assert plural(122100, "value") == "122,100 values" and plural(1, "value") == "1 value"


@pytest.mark.parametrize(("runs", "sentence"), [(0, "it has none yet"), (1, "its 1 run stays"), (3, "its 3 runs stay")])
def test_the_delete_page_says_what_happens_to_the_runs_in_proper_english(operator_client, runs, sentence):
    config = PullConfigurationFactory()
    PullRunFactory.create_batch(runs, configuration=config)

    body = operator_client.get(reverse("pulls:delete", args=[config.pk])).content.decode()

    assert sentence in " ".join(body.split())
    assert "its 1 run stay " not in body


@pytest.fixture
def sent(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *a, **kw: calls.append((a, kw)))
    return calls


def test_the_queued_banner_lives_in_the_run_header_and_goes_with_the_queued_state(operator_client, sent):
    config = PullConfigurationFactory(name="Potomac daily")
    config.stations.add(MonitoringLocationFactory())

    response = operator_client.post(reverse("pulls:run_now", args=[config.pk]), follow=True)

    run = PullRun.objects.get(configuration=config)
    body = response.content.decode()
    header = body.split('id="run-header"')[1].split('id="run-progress"')[0]
    assert f"Run #{run.pk} of “Potomac daily” was queued." in header
    assert body.count("was queued.") == 1  # not also in the page's message area
    # The run moves on: the poll that redraws the header for the new state has no banner, nor has the page.
    PullRun.objects.filter(pk=run.pk).update(status=PullRun.Status.SUCCEEDED)
    poll = operator_client.get(response.context["poll_url"], headers=HTMX).content.decode()
    assert 'id="run-header" hx-swap-oob="true"' in poll and "was queued" not in poll
    assert "was queued" not in operator_client.get(run.get_absolute_url()).content.decode()


def test_switching_from_custom_to_a_preset_and_back_keeps_the_typed_cron(operator_client):
    url = reverse("pulls:create")
    fragment = {**HTMX, "HX-Target": "schedule-fields"}

    hourly = operator_client.get(
        url, {"schedule_type": "hourly", "cron_expression": "*/15 6-18 * * 1-5", "timezone": "UTC"}, headers=fragment
    ).content.decode()
    assert 'name="cron_expression" id="id_cron_expression" value="0 * * * *"' in hourly
    assert 'name="typed_cron" id="id_typed_cron" value="*/15 6-18 * * 1-5"' in hourly

    daily = operator_client.get(
        url,
        {
            "schedule_type": "daily",
            "cron_expression": "0 * * * *",
            "typed_cron": "*/15 6-18 * * 1-5",
            "timezone": "UTC",
        },
        headers=fragment,
    ).content.decode()
    assert 'id="id_typed_cron" value="*/15 6-18 * * 1-5"' in daily

    custom = operator_client.get(
        url,
        {
            "schedule_type": "custom",
            "cron_expression": "0 0 * * *",
            "typed_cron": "*/15 6-18 * * 1-5",
            "timezone": "UTC",
        },
        headers=fragment,
    ).content.decode()
    assert 'type="text" name="cron_expression" id="id_cron_expression" value="*/15 6-18 * * 1-5"' in custom
    assert "Every 15 minutes" in custom


def test_a_bad_cron_says_what_is_wrong_once(operator_client):
    response = operator_client.post(
        reverse("pulls:create"), _form(schedule_type="custom", cron_expression="0 0 30 2 *")
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("This schedule never runs") == 1
    assert "is-invalid" in body.split('id="id_cron_expression"')[1].split(">")[0]


def test_a_reversed_data_range_is_swapped_and_said_so_on_the_full_page(viewer_client):
    from tests.monitoring_factories import daily_series_with_values

    series = daily_series_with_values(20, start=dt.date(2020, 1, 1))
    url = reverse("monitoring:station_data", args=[series.location.monitoring_location_id])

    body = viewer_client.get(url, {"start": "2020-01-15", "end": "2020-01-05"}).content.decode()

    assert "so the two were swapped: showing 2020-01-05 to 2020-01-15" in body
    assert "swap them." not in body
