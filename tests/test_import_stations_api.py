"""import_stations against the project's fake USGS server: paging, series, 429 + Retry-After."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stations.models import MonitoringLocation, TimeSeries
from tests.fakeusgs.server import FakeUSGS

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    server = FakeUSGS()
    settings.USGS_API_URL = server.start()
    settings.USGS_API_KEY = "test-key"
    settings.USGS_PAGE_LIMIT = 3  # force several pages
    yield server
    server.stop()


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_stations", *args, stdout=out)
    return out.getvalue()


def md_streams(fake: FakeUSGS) -> set[str]:
    return {s.monitoring_location_id for s in fake.stations if s.state_code == "24" and s.site_type_code == "ST"}


def test_it_pages_through_every_maryland_stream_site_with_their_series(fake):
    expected = md_streams(fake)
    assert len(expected) > 3  # more than one page at limit=3

    output = run("--state", "MD", "--with-series")

    stored = set(MonitoringLocation.objects.values_list("monitoring_location_id", flat=True))
    assert stored == expected
    assert f"{len(expected)} created, 0 updated, 0 unchanged, 0 rejected" in output
    location_requests = [r for r in fake.requests if r.path.endswith("/monitoring-locations/items")]
    assert len(location_requests) >= len(expected) // 3
    assert all(r.params["limit"] == "3" for r in location_requests)
    assert all(r.params.get("skipGeometry") == "false" for r in location_requests)
    assert all(r.headers.get("X-Api-Key") == "test-key" for r in location_requests)
    assert any("cursor" in r.params for r in location_requests)

    potomac = MonitoringLocation.objects.get(monitoring_location_id="USGS-01646500")
    assert (potomac.state_code, potomac.state_fips) == ("MD", "24")
    assert potomac.latitude is not None and potomac.county_code.startswith("24")
    daily = potomac.series.get(kind=TimeSeries.Kind.DAILY, primary=True)
    assert daily.time_series_id == fake.primary_series_id("USGS-01646500", "daily")
    assert potomac.has_daily and potomac.has_continuous
    without_continuous = [s.monitoring_location_id for s in fake.stations if s.monitoring_location_id in expected
                          and s.continuous_interval is None]  # fmt: skip
    for location in MonitoringLocation.objects.filter(monitoring_location_id__in=without_continuous):
        assert location.has_daily and not location.has_continuous
    assert "series:" in output


def test_a_second_import_updates_nothing(fake):
    run("--state", "Maryland", "--with-series")
    series_before = TimeSeries.objects.count()

    output = run("--state", "MD", "--with-series")

    assert "0 created, 0 updated" in output
    assert TimeSeries.objects.count() == series_before


def test_a_429_with_retry_after_is_waited_out_and_the_import_resumes(fake):
    fake.faults.rate_limit_next = 1
    fake.faults.retry_after = 1

    run("--state", "MD")

    statuses = [r.status for r in fake.requests]
    assert statuses[0] == 429
    assert statuses[1:] and all(s == 200 for s in statuses[1:])
    assert fake.requests[0].url == fake.requests[1].url  # the same page asked again
    assert MonitoringLocation.objects.count() == len(md_streams(fake))


def test_an_unknown_state_is_refused_before_any_request(fake):
    with pytest.raises(CommandError, match="Unknown state"):
        run("--state", "Atlantis")
    assert fake.requests == []


def test_it_spends_the_request_budget_every_worker_shares(fake, settings):
    from acquisition.models import RateLimitBucket

    settings.USGS_REQUESTS_PER_HOUR = 3600  # a capacity of 60 tokens

    run("--state", "MD")

    bucket = RateLimitBucket.objects.get(name="usgs")
    requests_made = len(fake.requests)
    assert requests_made > 3
    assert bucket.tokens == pytest.approx(60 - requests_made, abs=1.0)  # one token a request, refilled 1/s
