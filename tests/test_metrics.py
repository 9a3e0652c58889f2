"""/metrics: the bearer-token guard, and every number read back from the database (any process says the same)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from acquisition.models import Heartbeat, PullLogEntry, PullRun, RateLimitBucket
from acquisition.smart_append import run_inline
from monitoring import metrics
from pulls.models import StationProgress
from tests.acquisition_factories import make_configuration

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

SITES = ["USGS-01646500", "USGS-01638500"]
TOKEN = "metrics-token-for-tests-0123456789"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a text exposition, read with prometheus_client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_it_is_switched_off_while_no_token_is_set(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", headers={"Authorization": "Bearer anything"})

    assert response.status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_it_refuses_a_missing_or_wrong_token(client, token, header):
    headers = {"Authorization": header} if header else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"streamflow_" not in response.content


def test_it_needs_no_login_but_the_token(client, token):
    assert scrape(client)[("streamflow_runs_active", (("status", "queued"),))] == 0


def test_run_value_and_request_counters_equal_the_database(client, token, fake_usgs, settings):
    settings.STALE_DAILY_HOURS = 24 * 365  # the fake's clock stops at its `today`
    config = make_configuration(fake_usgs, SITES, name="Potomac")
    first = run_inline(config)
    second = run_inline(config)  # caught up: every value comes back unchanged

    got = scrape(client)

    assert got[("streamflow_runs_total", (("configuration", "Potomac"), ("status", "succeeded")))] == 2
    for outcome, field in [("inserted", "values_inserted"), ("unchanged", "values_unchanged")]:
        key = ("streamflow_values_total", (("configuration", "Potomac"), ("outcome", outcome)))
        assert got[key] == getattr(first, field) + getattr(second, field)
    assert got[("streamflow_values_total", (("configuration", "Potomac"), ("outcome", "inserted")))] > 0
    requests = ("streamflow_usgs_requests_total", (("configuration", "Potomac"),))
    assert got[requests] == first.requests_made + second.requests_made == len(fake_usgs.requests)
    assert got[("streamflow_run_duration_seconds_count", ())] == 2
    assert got[("streamflow_run_duration_seconds_bucket", (("le", "+Inf"),))] == 2
    assert got[("streamflow_station_duration_seconds_count", ())] == 4
    assert got[("streamflow_stations", (("state", "fresh"),))] == 2


def test_two_registries_in_two_collectors_report_the_same_totals(fake_usgs):
    run_inline(make_configuration(fake_usgs, SITES))
    now = timezone.now()

    first, second = metrics.render(now).decode(), metrics.render(now).decode()

    assert samples(first) == samples(second)
    assert first == second


def test_queued_and_running_runs_are_gauges(client, token):
    from tests.factories import PullRunFactory

    PullRunFactory(status=PullRun.Status.QUEUED)
    PullRunFactory(status=PullRun.Status.RUNNING)
    PullRunFactory(status=PullRun.Status.RUNNING)

    got = scrape(client)

    assert got[("streamflow_runs_active", (("status", "queued"),))] == 1
    assert got[("streamflow_runs_active", (("status", "running"),))] == 2


def test_stations_are_counted_as_fresh_stale_failing_paused_or_never_pulled(client, token, fake_usgs, settings):
    settings.STALE_DAILY_HOURS = 24 * 365  # the fake's clock stops at its `today`; 2020 is stale
    fresh = make_configuration(fake_usgs, ["USGS-01646500"])
    run_inline(fresh)
    stale = make_configuration(fake_usgs, ["USGS-01638500", "USGS-01643000"], name="Old")
    progress = StationProgress.objects.filter(configuration=stale)
    progress.filter(location__monitoring_location_id="USGS-01638500").update(
        newest_date=dt.date(2020, 1, 1), last_success_at=timezone.now()
    )
    progress.filter(location__monitoring_location_id="USGS-01643000").update(
        newest_date=dt.date(2020, 1, 1), consecutive_failures=2, last_error="HTTP 500"
    )
    paused = make_configuration(fake_usgs, ["USGS-01646500"], data_type="continuous", name="Paused")
    paused.enabled = False
    paused.save()
    make_configuration(fake_usgs, ["USGS-01638500"], data_type="continuous", name="New")

    got = scrape(client)

    states = {label[0][1]: value for (name, label), value in got.items() if name == "streamflow_stations"}
    assert states == {"fresh": 1, "stale": 1, "failing": 1, "paused": 1, "never_pulled": 1}


def test_retries_and_429s_are_read_from_the_run_log(client, token, fake_usgs):
    fake_usgs.faults.retry_after = 0
    fake_usgs.faults.rate_limit_next = 2
    run = run_inline(make_configuration(fake_usgs, SITES))
    fake_usgs.faults.error_next = 1
    second = run_inline(make_configuration(fake_usgs, ["USGS-01643000"]))
    assert run.status == second.status == PullRun.Status.SUCCEEDED
    retry_lines = PullLogEntry.objects.filter(level=PullLogEntry.Level.WARNING, message__contains="retrying in")
    assert retry_lines.count() == 3

    got = scrape(client)

    assert got[("streamflow_usgs_retries_last_hour", (("cause", "http_429"),))] == 2
    assert got[("streamflow_usgs_retries_last_hour", (("cause", "http_5xx"),))] == 1
    assert got[("streamflow_usgs_retries_last_hour", (("cause", "other"),))] == 0


def test_quota_and_heartbeats_are_reported(client, token):
    seen = timezone.now().replace(microsecond=0)
    RateLimitBucket.objects.create(
        name="usgs", tokens=1, updated_at=seen, quota_limit=4000, quota_remaining=3120, quota_seen_at=seen
    )
    Heartbeat.objects.create(name="beat", seen_at=seen)
    Heartbeat.objects.create(name="worker:celery@a", seen_at=seen)
    Heartbeat.objects.create(name="worker:celery@gone", seen_at=seen - dt.timedelta(days=3))

    got = scrape(client)

    assert got[("streamflow_usgs_quota_remaining", ())] == 3120
    assert got[("streamflow_usgs_quota_limit", ())] == 4000
    assert got[("streamflow_beat_last_tick_timestamp_seconds", ())] == seen.timestamp()
    workers = {dict(k[1])["worker"] for k in got if k[0] == "streamflow_worker_last_heartbeat_timestamp_seconds"}
    assert workers == {"celery@a"}
