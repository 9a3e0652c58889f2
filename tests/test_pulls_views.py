"""List, detail, toggle, run now and delete pages; viewers look, operators change and run."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape
from django_celery_beat.models import PeriodicTask

from acquisition.models import PullRun
from pulls.models import PullConfiguration, StationProgress
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _task(config) -> PeriodicTask:
    return PeriodicTask.objects.get(name=f"pull-config-{config.pk}")


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[int, str]]:
    calls: list[tuple[int, str]] = []
    monkeypatch.setattr("pulls.run_requests.enqueue_run", lambda pk, triggered_by="": calls.append((pk, triggered_by)))
    return calls


@pytest.fixture
def config():
    config = PullConfigurationFactory(
        name="Potomac <daily>", schedule_type="custom", cron_expression="*/15 6-18 * * 1-5", timezone="America/New_York"
    )
    config.stations.add(MonitoringLocationFactory(), MonitoringLocationFactory())
    return config


def test_the_list_shows_each_configuration_with_its_schedule_and_last_run(operator_client, config):
    PullRunFactory(configuration=config, status=PullRun.Status.FAILED)
    body = operator_client.get(reverse("pulls:list")).content.decode()
    assert "<html" in body
    assert "Potomac &lt;daily&gt;" in body
    assert "Every 15 minutes, between 06:00 and 18:59, Monday through Friday" in body
    assert '<td class="num d-none d-sm-table-cell">2</td>' in body
    assert ">Failed</a>" in body
    assert f'id="config-row-{config.pk}"' in body
    assert "<time datetime=" in body  # next run
    for button in ("New configuration", "Run now", ">Edit<", ">Delete<", f'hx-post="/pulls/{config.pk}/toggle/row/"'):
        assert button in body


def test_the_list_fragment_is_the_table_only(operator_client, config):
    body = operator_client.get(reverse("pulls:list"), headers=HTMX).content.decode()
    assert "<html" not in body
    assert body.strip().startswith('<div id="config-table">')


def test_viewers_see_the_list_read_only(viewer_client, config):
    body = viewer_client.get(reverse("pulls:list")).content.decode()
    assert "Potomac &lt;daily&gt;" in body
    assert "Active</span>" in body
    for button in ("New configuration", "Run now", ">Edit<", ">Delete<", "/toggle/", "/run/"):
        assert button not in body


def test_the_detail_page_shows_settings_stations_progress_runs_and_loads_the_statistics(operator_client, config):
    location = config.stations.first()
    StationProgress.objects.filter(configuration=config, location=location).update(
        last_error="HTTP 503 from USGS", consecutive_failures=3
    )
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED, values_inserted=1234)
    body = operator_client.get(reverse("pulls:detail", args=[config.pk])).content.decode()
    assert "<html" in body
    assert location.monitoring_location_id in body
    assert "HTTP 503 from USGS" in body
    assert '<td class="num d-none d-sm-table-cell">3</td>' in body
    assert f'href="/monitoring/runs/{run.pk}/"' in body
    assert '<section id="config-statistics" hx-get="/monitoring/configurations/' in body
    assert body.count("<time datetime=") >= 5  # next five runs
    assert "Run now" in body and ">Pause</button>" in body and "Active</span>" in body


def test_the_detail_fragment_is_the_recent_runs(operator_client, config):
    PullRunFactory(configuration=config)
    body = operator_client.get(reverse("pulls:detail", args=[config.pk]), headers=HTMX).content.decode()
    assert "<html" not in body
    assert body.strip().startswith('<div id="recent-runs">')


def test_viewers_see_the_detail_page_without_buttons(viewer_client, config):
    body = viewer_client.get(reverse("pulls:detail", args=[config.pk])).content.decode()
    assert "Potomac &lt;daily&gt;" in body
    for button in ("Run now", ">Pause<", ">Edit<", ">Delete<"):
        assert button not in body


def test_the_toggle_swaps_the_list_row_in_place_and_syncs_the_task(operator_client, config):
    url = reverse("pulls:toggle", args=[config.pk])
    response = operator_client.post(url, {"enabled": "0"}, headers={**HTMX, "HX-Target": f"config-row-{config.pk}"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="config-row-{config.pk}">')
    assert "Paused</span>" in body and ">Resume</button>" in body and "paused" in body
    assert "Disabled" not in body and "Enabled" not in body
    config.refresh_from_db()
    assert config.enabled is False
    assert _task(config).enabled is False

    operator_client.post(url, {"enabled": "1"}, headers={**HTMX, "HX-Target": f"config-row-{config.pk}"})
    config.refresh_from_db()
    assert config.enabled is True
    assert _task(config).enabled is True


def test_the_toggle_asks_for_a_state_so_a_double_click_does_not_undo_itself(operator_client, config):
    url = reverse("pulls:toggle", args=[config.pk])
    operator_client.post(url, {"enabled": "0"})
    operator_client.post(url, {"enabled": "0"})
    config.refresh_from_db()
    assert config.enabled is False


def test_the_toggle_on_the_detail_page_returns_the_status_fragment(operator_client, config):
    response = operator_client.post(
        reverse("pulls:toggle", args=[config.pk]), {"enabled": "0"}, headers={**HTMX, "HX-Target": "config-status"}
    )
    assert response.content.decode().strip().startswith('<div id="config-status"')
    assert ">Resume</button>" in response.content.decode()
    assert "Paused</span>" in response.content.decode()


def test_the_toggle_without_javascript_redirects_with_a_message(operator_client, config):
    response = operator_client.post(
        reverse("pulls:toggle", args=[config.pk]), {"enabled": "0", "next": config.get_absolute_url()}
    )
    assert response.status_code == 302
    assert response["Location"] == config.get_absolute_url()
    assert "is now paused" in operator_client.get(response["Location"]).content.decode()
    response = operator_client.post(reverse("pulls:toggle", args=[config.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("pulls:list")


def test_enabling_clears_an_automatic_disable_reason(operator_client, config):
    PullConfiguration.objects.filter(pk=config.pk).update(enabled=False, auto_disabled_reason="3 failures in a row")
    operator_client.post(reverse("pulls:toggle", args=[config.pk]), {"enabled": "1"})
    config.refresh_from_db()
    assert (config.enabled, config.auto_disabled_reason) == (True, "")


def test_viewers_get_403_for_every_change_and_nothing_changes(viewer_client, config, enqueued):
    assert viewer_client.post(reverse("pulls:toggle", args=[config.pk]), {"enabled": "0"}).status_code == 403
    assert viewer_client.post(reverse("pulls:run_now", args=[config.pk])).status_code == 403
    assert viewer_client.get(reverse("pulls:delete", args=[config.pk])).status_code == 403
    assert viewer_client.post(reverse("pulls:delete", args=[config.pk])).status_code == 403
    assert viewer_client.get(reverse("pulls:edit", args=[config.pk])).status_code == 403
    config.refresh_from_db()
    assert config.enabled is True
    assert _task(config).enabled is True
    assert enqueued == []


@pytest.fixture
def sent(monkeypatch) -> list[tuple[tuple, dict]]:
    """The real enqueue_run (the run row is created), with the task's .delay recorded instead of sent."""
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *a, **kw: calls.append((a, kw)))
    return calls


def test_run_now_records_the_run_at_once_and_opens_its_page(operator_client, config, sent):
    response = operator_client.post(reverse("pulls:run_now", args=[config.pk]))

    run = PullRun.objects.get(configuration=config)
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert (run.status, run.trigger, run.triggered_by) == ("queued", "manual", "olivia-operator")
    assert sent == [((config.pk,), {"trigger": "manual", "triggered_by": "olivia-operator", "run_id": run.pk})]
    page = operator_client.get(response["Location"]).content.decode()
    assert f"Run #{run.pk} of “{escape(config)}” was queued" in page
    assert PeriodicTask.objects.filter(name__startswith="pull-config-").count() == 1  # no one-off task


def test_run_now_with_htmx_redirects_the_browser_to_the_run(operator_client, config, sent):
    response = operator_client.post(reverse("pulls:run_now", args=[config.pk]), headers=HTMX)
    run = PullRun.objects.get(configuration=config)
    assert response["HX-Redirect"] == run.get_absolute_url()
    assert len(sent) == 1


def test_run_now_while_a_run_is_active_links_to_it_and_records_nothing(operator_client, config, sent):
    active = PullRunFactory(configuration=config, status=PullRun.Status.RUNNING)

    response = operator_client.post(reverse("pulls:run_now", args=[config.pk]), follow=True)

    body = response.content.decode()
    assert response.redirect_chain[-1][0] == config.get_absolute_url()
    assert "is already running — " in body
    assert f'<a href="{active.get_absolute_url()}" class="alert-link">open run #{active.pk}</a>' in body
    assert sent == []
    assert list(PullRun.objects.filter(configuration=config)) == [active]  # no Skipped row


def test_run_now_says_so_when_the_queue_is_unreachable_and_leaves_no_run_blocking(operator_client, config, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", broken)
    response = operator_client.post(reverse("pulls:run_now", args=[config.pk]), follow=True)

    assert response.redirect_chain[-1][0] == config.get_absolute_url()
    assert "The run could not be queued" in response.content.decode()
    run = PullRun.objects.get(configuration=config)
    assert run.status == PullRun.Status.FAILED and "task queue was not reachable" in run.message
    assert not PullRun.objects.active().exists()  # the next "Run now" is not skipped because of it


def test_run_now_must_be_a_post(operator_client, config, enqueued):
    assert operator_client.get(reverse("pulls:run_now", args=[config.pk])).status_code == 405
    assert enqueued == []


def test_the_delete_page_says_what_is_kept(operator_client, config):
    PullRunFactory(configuration=config)
    body = operator_client.get(reverse("pulls:delete", args=[config.pk])).content.decode()
    assert "<html" in body
    assert "the observations it pulled stay stored" in body
    assert "its 1 run stays in the" in body


def test_deleting_removes_the_configuration_and_its_task_and_keeps_runs(operator_client, config):
    run = PullRunFactory(configuration=config)
    response = operator_client.post(reverse("pulls:delete", args=[config.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("pulls:list")
    assert not PullConfiguration.objects.filter(pk=config.pk).exists()
    assert not PeriodicTask.objects.filter(name=f"pull-config-{config.pk}").exists()
    run.refresh_from_db()
    assert run.configuration is None
    assert "stored observations and run history are kept" in operator_client.get(reverse("pulls:list")).content.decode()


def test_deleting_with_htmx_redirects_the_browser(operator_client, config):
    response = operator_client.post(reverse("pulls:delete", args=[config.pk]), headers=HTMX)
    assert response["HX-Redirect"] == reverse("pulls:list")
    assert not PullConfiguration.objects.exists()


def test_anonymous_users_are_sent_to_log_in(anonymous_client, config):
    response = anonymous_client.post(reverse("pulls:toggle", args=[config.pk]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    config.refresh_from_db()
    assert config.enabled is True


# --- The configuration page's station table is paginated (issue 12, item 9: 20,000 stations made a 12.9 MB page) --


def test_the_configuration_page_shows_its_stations_a_page_at_a_time(viewer_client, monkeypatch):
    from pulls import views as pull_views

    monkeypatch.setattr(pull_views, "STATIONS_PER_PAGE", 2)
    config = PullConfigurationFactory()
    locations = MonitoringLocationFactory.create_batch(5)
    for location in locations:
        config.memberships.create(location=location)
    ids = [loc.monitoring_location_id for loc in locations]

    first = viewer_client.get(config.get_absolute_url())
    last = viewer_client.get(config.get_absolute_url(), {"stations_page": "3"})
    past = viewer_client.get(config.get_absolute_url(), {"stations_page": "9" * 30})

    body = first.content.decode()
    assert [row.location.monitoring_location_id for row in first.context["stations"]] == ids[:2]
    assert "Stations (5)" in body
    assert "?stations_page=2" in body
    assert [row.location.monitoring_location_id for row in last.context["stations"]] == ids[4:]
    assert past.status_code == 200
    assert [row.location.monitoring_location_id for row in past.context["stations"]] == ids[4:]
