"""The run page: header, progress per station, and a log that polls only for new lines and stops by itself."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from acquisition.models import PullLogEntry, PullRun
from pulls.models import PullConfigurationStation
from tests.factories import MonitoringLocationFactory, PullLogEntryFactory, PullRunFactory, PullRunStationFactory
from tests.monitoring_factories import add_log_lines, running_run

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(run, view="monitoring:run_detail", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse(view, args=[run.pk]) + (f"?{query}" if query else "")


def _poll(run, **params):
    """The poller's own URL (it polled the page's URL, run_detail, until it had one: that one redirects here)."""
    return _url(run, "monitoring:run_poll", **params)


def _line_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="log-line[^"]*" data-id="(\d+)"', body)]


def test_it_shows_the_run_header_progress_and_log(viewer_client):
    run = running_run(stations=2)
    station = run.stations.first()
    PullLogEntryFactory(run=run, message="Fetching page 1 <b>of</b> 3", location=station.location)
    response = viewer_client.get(_url(run))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert f"Run #{run.pk} of" in body and run.configuration_name in body
    assert body.count('class="progress-bar station-progress') == 2
    assert 'id="overall-progress" style="width: 25%"' in body
    # Log messages come from outside: escaped.
    assert "Fetching page 1 &lt;b&gt;of&lt;/b&gt; 3" in body
    assert 'hx-trigger="every 2s"' in body


def test_the_poll_returns_only_lines_after_the_last_id_among_10000(viewer_client):
    run = running_run(stations=1)
    add_log_lines(run, 10_000, prefix="old")
    last_old = PullLogEntry.objects.filter(run=run).order_by("-pk").values_list("pk", flat=True).first()
    add_log_lines(run, 3, prefix="new")
    other_run = running_run(stations=1)
    add_log_lines(other_run, 5, prefix="other")

    response = viewer_client.get(_poll(run, after=last_old), **HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in body
    new_ids = list(PullLogEntry.objects.filter(run=run, pk__gt=last_old).order_by("pk").values_list("pk", flat=True))
    assert _line_ids(body) == new_ids
    assert "new 0" in body and "new 2" in body
    assert "old " not in body and "other" not in body
    # The poller is re-rendered to ask after the newest line it just got.
    assert f"after={new_ids[-1]}" in body
    assert 'hx-swap-oob="beforeend:#log-lines"' in body


def test_the_poll_with_nothing_new_returns_no_lines_and_keeps_polling(viewer_client):
    run = running_run(stations=1)
    add_log_lines(run, 20)
    last = PullLogEntry.objects.filter(run=run).order_by("-pk").first().pk
    response = viewer_client.get(_poll(run, after=last), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert _line_ids(body) == []
    assert 'hx-trigger="every 2s"' in body
    assert f"after={last}" in body


def test_the_poll_stops_with_286_and_no_trigger_once_the_run_ended(viewer_client):
    run = running_run(stations=1)
    add_log_lines(run, 5)
    last = PullLogEntry.objects.filter(run=run).order_by("-pk").first().pk
    PullLogEntryFactory(run=run, message="Run finished")
    run.status = PullRun.Status.SUCCEEDED
    run.save()

    response = viewer_client.get(_poll(run, after=last), **HTMX)
    body = response.content.decode()

    assert response.status_code == 286
    assert "hx-trigger" not in body
    assert "Run finished" in body
    # The final answer redraws the whole tail, so a late-committed line still shows.
    assert len(_line_ids(body)) == 6
    assert 'id="log-lines"' in body and 'hx-swap-oob="true"' in body


def test_the_pages_old_poll_address_redirects_to_the_poll_with_its_query(viewer_client):
    run = running_run(stations=1)
    add_log_lines(run, 3, prefix="line")
    first = PullLogEntry.objects.filter(run=run).order_by("pk").first().pk

    response = viewer_client.get(_url(run, after=first, level=0, state="running"), **HTMX)

    assert response.status_code == 302
    assert response["Location"] == _poll(run, after=first, level=0, state="running")
    followed = viewer_client.get(response["Location"], **HTMX).content.decode()
    assert "line 1" in followed and "line 2" in followed and "line 0" not in followed
    # Without htmx the page's URL with ?after= is still the page.
    assert "<html" in viewer_client.get(_url(run, after=first)).content.decode()


def test_the_full_page_of_a_finished_run_has_no_poller(viewer_client):
    run = PullRunFactory(status=PullRun.Status.FAILED, message="USGS answered 500 for every station.")
    response = viewer_client.get(_url(run))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every' not in body
    assert "USGS answered 500 for every station." in body


def test_it_filters_the_log_by_level_and_station(viewer_client):
    run = running_run(stations=2)
    first, second = (s.location for s in run.stations.order_by("pk"))
    add_log_lines(run, 3, location=first, prefix="info-first")
    add_log_lines(run, 2, level=PullLogEntry.Level.ERROR, location=first, prefix="error-first")
    add_log_lines(run, 2, level=PullLogEntry.Level.ERROR, location=second, prefix="error-second")

    response = viewer_client.get(_url(run, level=40, station=first.monitoring_location_id), **HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert "<html" not in body and 'id="run-log"' in body
    assert "error-first 0" in body and "error-first 1" in body
    assert "info-first" not in body and "error-second" not in body
    # The poller keeps the filter.
    assert f"level=40&amp;station={first.monitoring_location_id}" in body


def test_the_filtered_poll_returns_only_matching_new_lines(viewer_client):
    run = running_run(stations=1)
    add_log_lines(run, 3, level=PullLogEntry.Level.INFO, prefix="info")
    add_log_lines(run, 1, level=PullLogEntry.Level.WARNING, prefix="warn")
    response = viewer_client.get(_poll(run, after=0, level=30), **HTMX)
    body = response.content.decode()
    assert "warn 0" in body and "info" not in body


def test_the_log_shows_only_its_tail_and_offers_the_download(viewer_client):
    run = PullRunFactory()
    add_log_lines(run, 600)
    body = viewer_client.get(_url(run)).content.decode()
    ids = _line_ids(body)
    assert len(ids) == 500
    assert ids == sorted(ids)
    assert "line 599" in body and ">line 99<" not in body
    assert reverse("monitoring:run_log_download", args=[run.pk]) in body


def test_the_full_log_downloads_as_streamed_text(viewer_client):
    run = PullRunFactory()
    location = MonitoringLocationFactory()
    add_log_lines(run, 700, location=location)
    response = viewer_client.get(reverse("monitoring:run_log_download", args=[run.pk]))
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    assert len(lines) == 701
    assert lines[1].endswith(f"INFO    {location.monitoring_location_id} line 0")
    assert lines[-1].endswith("line 699")
    assert 'attachment; filename="run-' in response["Content-Disposition"]


def test_an_unknown_run_is_404(viewer_client):
    assert viewer_client.get(reverse("monitoring:run_detail", args=[999999])).status_code == 404


@pytest.fixture
def fake_run_configuration(monkeypatch):
    """The real enqueue_run (the run row is created), with the task's .delay recorded instead of sent."""
    calls = []
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *a, **kw: calls.append((a, kw)))
    return calls


def _failed_run_of_a_configuration_with_a_station() -> PullRun:
    run = PullRunFactory(status=PullRun.Status.FAILED)
    PullConfigurationStation.objects.create(configuration=run.configuration, location=MonitoringLocationFactory())
    return run


def test_operators_can_run_the_configuration_again_and_land_on_the_new_run(operator_client, fake_run_configuration):
    run = _failed_run_of_a_configuration_with_a_station()
    response = operator_client.post(reverse("monitoring:run_again", args=[run.pk]))
    new = PullRun.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302 and response["Location"] == new.get_absolute_url()
    assert (new.status, new.trigger, new.triggered_by) == ("queued", "manual", "olivia-operator")
    assert fake_run_configuration == [
        ((run.configuration_id,), {"trigger": "manual", "triggered_by": "olivia-operator", "run_id": new.pk})
    ]
    page = operator_client.get(response["Location"]).content.decode()
    assert f"Run #{new.pk} of" in page and "was queued" in page


def test_run_again_while_a_run_is_active_opens_that_run(operator_client, fake_run_configuration):
    run = PullRunFactory(status=PullRun.Status.FAILED)
    active = PullRunFactory(configuration=run.configuration, status=PullRun.Status.RUNNING)
    response = operator_client.post(reverse("monitoring:run_again", args=[run.pk]), follow=True)
    assert response.redirect_chain[-1][0] == active.get_absolute_url()
    assert f"open run #{active.pk}</a>" in response.content.decode()
    assert PullRun.objects.filter(status=PullRun.Status.SKIPPED).count() == 0
    assert fake_run_configuration == []


def test_run_again_says_so_when_the_queue_is_unreachable(operator_client, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", broken)
    run = _failed_run_of_a_configuration_with_a_station()
    response = operator_client.post(reverse("monitoring:run_again", args=[run.pk]), follow=True)
    assert "The run could not be queued" in response.content.decode()
    assert not PullRun.objects.active().exists()


def test_viewers_cannot_run_again(viewer_client, fake_run_configuration):
    run = PullRunFactory(status=PullRun.Status.FAILED)
    assert "Run again" not in viewer_client.get(_url(run)).content.decode()
    response = viewer_client.post(reverse("monitoring:run_again", args=[run.pk]))
    assert response.status_code == 403
    assert fake_run_configuration == []


def test_run_again_is_post_only(operator_client, fake_run_configuration):
    run = PullRunFactory()
    assert operator_client.get(reverse("monitoring:run_again", args=[run.pk])).status_code == 405
    assert fake_run_configuration == []


def test_operators_see_run_again_on_a_finished_run(operator_client):
    run = PullRunFactory(status=PullRun.Status.SUCCEEDED)
    assert 'id="run-again"' in operator_client.get(_url(run)).content.decode()


def test_a_run_of_a_deleted_configuration_cannot_run_again(operator_client, fake_run_configuration):
    run = PullRunFactory(status=PullRun.Status.FAILED)
    run.configuration.delete()
    response = operator_client.post(reverse("monitoring:run_again", args=[run.pk]), follow=True)
    assert "cannot run again" in response.content.decode()
    assert fake_run_configuration == []


def test_station_progress_rows_show_counts_and_errors(viewer_client):
    run = PullRunFactory(status=PullRun.Status.PARTIAL)
    PullRunStationFactory(run=run, status="failed", error="USGS answered 503 three times; it will retry next run.")
    PullRunStationFactory(run=run, status="succeeded", windows_total=2, windows_done=2, values_received=1234)
    body = viewer_client.get(_url(run)).content.decode()
    assert "USGS answered 503 three times" in body
    assert "1,234" in body
    assert 'id="overall-progress" style="width: 100%"' in body
