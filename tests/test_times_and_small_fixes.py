"""One date/time format everywhere and the small first-use fixes (issue 13, defects 8 and 10): ISO dates, 24-hour
times with the zone named, plurals, login/logout wording, site type in words, the USGS station link, admin lists
without a full count, configuration tasks read-only in the admin, the runs list refreshing while runs are active."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from acquisition.models import PullRun
from tests.conftest import PASSWORD
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, UserFactory
from tests.monitoring_factories import daily_series_with_values

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
US_STYLE = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\.? \d{1,2}, \d{4}|\d (a|p)\.m\.")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_a_datetime_is_written_as_an_iso_date_a_24_hour_time_and_its_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    value = dt.datetime(2026, 1, 5, 18, 7, 9, tzinfo=dt.UTC)
    rendered = Template("{% load datetimes %}{{ v|datetime_zone }}|{{ v|datetime_zone:'s' }}|{{ v }}|{{ d }}").render(
        Context({"v": value, "d": dt.date(2025, 1, 1)})
    )
    assert rendered == "2026-01-05 13:07 EST|2026-01-05 13:07:09 EST|2026-01-05 13:07 EST|2025-01-01"


def test_the_main_pages_show_no_us_style_dates_and_name_the_zone(operator_client):
    config = PullConfigurationFactory(name="Potomac daily")
    location = MonitoringLocationFactory()
    config.stations.add(location)
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED, requests_made=1,
                         started_at=timezone.now(), finished_at=timezone.now())  # fmt: skip
    pages = [
        "/",
        reverse("monitoring:runs"),
        run.get_absolute_url(),
        reverse("pulls:list"),
        config.get_absolute_url(),
        location.get_absolute_url(),
    ]
    for url in pages:
        body = operator_client.get(url).content.decode()
        assert not US_STYLE.search(body), (url, US_STYLE.search(body))
    run_page = operator_client.get(run.get_absolute_url()).content.decode()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", run_page)
    assert "1 request<" in run_page and "1 requests" not in run_page


def test_the_login_page_tells_users_to_ask_their_administrator(client):
    body = client.get(reverse("login")).content.decode()
    assert "Ask your administrator" in body
    assert "createsuperuser" not in body


def test_a_failed_login_keeps_the_username(client):
    UserFactory(username="hydro-anna")

    response = client.post(reverse("login"), {"username": "hydro-anna", "password": "wrong"})

    assert 'value="hydro-anna"' in response.content.decode()


def test_a_logout_says_so(client):
    user = UserFactory(username="hydro-ben")
    client.post(reverse("login"), {"username": "hydro-ben", "password": PASSWORD})

    response = client.post(reverse("logout"), follow=True)

    assert "You are logged out." in response.content.decode()
    assert user.pk


def test_the_station_page_names_the_site_type_and_links_to_water_data(viewer_client):
    location = MonitoringLocationFactory(site_number="01646500", site_type="ST")

    body = viewer_client.get(location.get_absolute_url()).content.decode()

    assert ">Stream<" in body
    assert 'href="https://waterdata.usgs.gov/monitoring-location/01646500/"' in body


def test_the_observations_admin_never_counts_every_row(admin_client):
    # Daily values: continuous ones have no admin (composite key of their partitioned table, acquisition/admin.py).
    daily_series_with_values(50)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("admin:acquisition_dailyvalue_changelist"))

    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts


def test_a_configurations_periodic_task_is_read_only_in_the_admin(admin_client):
    config = PullConfigurationFactory(enabled=True)
    task = PeriodicTask.objects.get(name=f"pull-config-{config.pk}")
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])

    page = admin_client.get(url).content.decode()
    response = admin_client.post(url, {"name": task.name, "task": task.task, "enabled": ""})

    assert "kept in step with it" in page
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.enabled is True
    delete = admin_client.post(reverse("admin:django_celery_beat_periodictask_delete", args=[task.pk]), {"post": "yes"})
    assert delete.status_code == 403 and PeriodicTask.objects.filter(pk=task.pk).exists()


def test_the_runs_list_refreshes_itself_only_while_a_run_is_active(viewer_client):
    PullRunFactory(status=PullRun.Status.SUCCEEDED)
    quiet = viewer_client.get(reverse("monitoring:runs"), headers=HTMX).content.decode()
    PullRunFactory(status=PullRun.Status.RUNNING)
    busy = viewer_client.get(reverse("monitoring:runs") + "?status=running", headers=HTMX).content.decode()

    assert 'hx-trigger="every' not in quiet
    assert 'hx-trigger="every 5s"' in busy and 'hx-get="/monitoring/runs/?status=running"' in busy
