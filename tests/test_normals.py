"""Day-of-year normals (issue 24): the fake's Statistics API as the shared document shows it, the client's repeated
keys and next_token paging, and the stored normals equal to the fake's truth for every station."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from acquisition import normals
from acquisition.models import NormalsFetch, RevisionNote, SeriesNormal
from acquisition.smart_append import run_inline
from acquisition.usgs import USGSError
from acquisition.usgs.statistics import StatisticsClient, parse_normals_page
from stations.models import MonitoringLocation, TimeSeries
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
LONG, MID, SHORT, OTHER = "USGS-51000001", "USGS-51000002", "USGS-51000003", "USGS-51000004"


def catalog() -> list[FakeStation]:
    common = {"continuous_interval": None}
    return [
        FakeStation(LONG, "LONG CREEK NR SOMEWHERE MD", daily_begin=dt.date(1996, 10, 1), **common),
        FakeStation(MID, "MIDDLE CREEK NR SOMEWHERE MD", daily_begin=dt.date(2008, 10, 1), drainage_area=40, **common),
        # Seven approved years: too short a record for most percentiles ("nan") and under 10 samples.
        FakeStation(SHORT, "SHORT CREEK NR SOMEWHERE MD", daily_begin=dt.date(2019, 10, 1), **common),
        FakeStation(OTHER, "OTHER CREEK NR SOMEWHERE VA", state_code="51", daily_begin=dt.date(2000, 1, 1), **common),
    ]


@pytest.fixture
def fake(settings):
    fake = FakeUSGS(stations=catalog(), today=TODAY)
    settings.USGS_API_URL = fake.start()
    settings.USGS_STATISTICS_URL = fake.statistics_url
    settings.USGS_API_KEY = "test-key"
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    yield fake
    fake.stop()


@pytest.fixture
def mirrored(fake):
    config = make_configuration(
        fake, [s.monitoring_location_id for s in fake.stations], start_date=dt.date(2026, 10, 1)
    )
    run = run_inline(config)
    assert run.status == "succeeded", run.message
    return config


def stat_requests(fake: FakeUSGS) -> list:
    return [r for r in fake.requests if r.path.endswith("/observationNormals")]


# --- the fake ------------------------------------------------------------------------------------------------


def test_the_fake_answers_repeated_keys_with_the_documented_shape_and_refuses_comma_lists(fake):
    url = fake.statistics_url + "/observationNormals"
    query = [("monitoring_location_id", LONG), ("monitoring_location_id", SHORT), ("parameter_code", "00060"),
             ("computation_type", "percentile"), ("computation_type", "minimum"),
             ("start_date", "01-01"), ("end_date", "01-02")]  # fmt: skip
    body = requests.get(url, params=query, timeout=30).json()

    assert set(body) == {"type", "features", "next"} and body["next"] is None
    assert [f["properties"]["monitoring_location_id"] for f in body["features"]] == [LONG, SHORT]
    assert all("id" not in f for f in body["features"])
    entry = body["features"][0]["properties"]["data"][0]
    assert entry["parent_time_series_id"] == fake.primary_series_id(LONG)
    assert (entry["parent_statistic_id"], entry["unit_of_measure"]) == ("00003", "ft^3/s")
    kinds = {(v["time_of_year"], v["time_of_year_type"], v["computation"]) for v in entry["values"]}
    # The range touches the first of a month, so the month-of-year row comes too (§A.7).
    assert kinds == {("01-01", "day_of_year", "percentile"), ("01-01", "day_of_year", "minimum"),
                     ("01-02", "day_of_year", "percentile"), ("01-02", "day_of_year", "minimum"),
                     ("01", "month_of_year", "percentile"), ("01", "month_of_year", "minimum")}  # fmt: skip
    pct = next(v for v in entry["values"] if v["computation"] == "percentile" and v["time_of_year"] == "01-01")
    assert pct["percentiles"] == ["5", "10", "25", "50", "75", "90", "95"]
    assert all(isinstance(v, str) for v in pct["values"])
    truth = fake.normals(LONG)["01-01"]
    assert pct["sample_count"] == truth.sample_count == len(approved_values(fake, LONG, 1, 1))
    assert [float(v) for v in pct["values"]] == [truth.percentiles[p] for p in (5, 10, 25, 50, 75, 90, 95)]
    short = body["features"][1]["properties"]["data"][0]["values"]
    short_pct = next(v for v in short if v["computation"] == "percentile" and v["time_of_year"] == "01-01")
    assert "nan" in short_pct["values"] and short_pct["sample_count"] < 10

    comma = requests.get(url, params=[("monitoring_location_id", f"{LONG},{SHORT}")], timeout=30)
    assert comma.status_code == 400 and "comma" in comma.json()["description"]
    bad = requests.get(url, params=[("computation_type", "p10")], timeout=30)
    assert bad.status_code == 400


def approved_values(fake: FakeUSGS, site: str, month: int, day: int) -> list[float]:
    rows = fake.expected_daily(site, dt.date(1900, 1, 1), TODAY)
    return sorted(r["value"] for r in rows if (r["time"].month, r["time"].day) == (month, day)
                  and r["approval_status"] == "Approved" and r["value"] is not None)  # fmt: skip


def test_only_approved_years_enter_the_fakes_normals(fake):
    # 2026-11-01 is provisional (within 120 days of today): it is not in the November 1 normal; July 1 is.
    provisional = fake.expected_daily(LONG, dt.date(2026, 11, 1), dt.date(2026, 11, 1))[0]
    assert provisional["approval_status"] == "Provisional"
    novembers = approved_values(fake, LONG, 11, 1)
    assert fake.normals(LONG)["11-01"].sample_count == len(novembers)
    assert fake.normals(LONG)["11-01"].minimum == novembers[0] and fake.normals(LONG)["11-01"].maximum == novembers[-1]
    july = fake.expected_daily(LONG, dt.date(2026, 7, 1), dt.date(2026, 7, 1))[0]
    assert july["approval_status"] == "Approved"
    assert fake.normals(LONG)["07-01"].sample_count == len(approved_values(fake, LONG, 7, 1))


def test_the_client_pages_with_next_token_and_repeated_keys(fake):
    client = StatisticsClient(fake.statistics_url, "test-key", page_size=1, backoff_base=0.01)
    sites = [LONG, MID, SHORT, OTHER]
    got = [n for page in client.normals_pages(sites, parameter_codes=["00060"]) for n in page]

    asked = stat_requests(fake)
    assert len(asked) == 4  # one location a page
    first = parse_qsl(urlsplit(asked[0].url).query)
    assert [v for k, v in first if k == "monitoring_location_id"] == sites
    assert [v for k, v in first if k == "computation_type"] == ["minimum", "maximum", "percentile"]
    assert ("normal_type", "DOY") in first and all("next_token" not in dict(parse_qsl(urlsplit(r.url).query))
                                                   for r in asked[:1])  # fmt: skip
    for record in asked[1:]:
        query = parse_qsl(urlsplit(record.url).query)
        assert [v for k, v in query if k == "monitoring_location_id"] == sites  # every original parameter again
        assert dict(query)["next_token"]
    assert all(r.headers.get("X-Api-Key") == "test-key" for r in asked)
    assert {n.monitoring_location_id for n in got} == set(sites)
    assert all(n.kind == "day_of_year" for n in got)


def test_the_client_pages_through_an_empty_page_and_stops_on_a_repeated_token(fake):
    client = StatisticsClient(fake.statistics_url, "test-key", page_size=2, backoff_base=0.01)
    fake.statistics_empty_first_page = True
    got = [n for page in client.normals_pages([LONG, MID, SHORT], parameter_codes=["00060"]) for n in page]
    assert {n.monitoring_location_id for n in got} == {LONG, MID, SHORT}
    assert len(stat_requests(fake)) == 3  # the empty page, then two pages of two and one
    fake.statistics_stuck_token = True
    with pytest.raises(USGSError, match="twice") as caught:
        list(client.normals_pages([LONG, MID, SHORT]))
    assert caught.value.code == "CURSOR_REPEATED"


def test_nan_percentiles_parse_to_none():
    page = {"type": "FeatureCollection", "next": None, "features": [{"type": "Feature", "properties": {
        "monitoring_location_id": "USGS-1", "data": [{"parent_time_series_id": "abc", "parameter_code": "00060",
        "values": [{"computation": "percentile", "time_of_year": "02-29", "time_of_year_type": "day_of_year",
                    "percentiles": ["5", "10", "25", "50", "75", "90", "95"],
                    "values": ["nan", "nan", "nan", "3.5", "nan", "nan", "nan"], "sample_count": 1}]}]}}]}  # fmt: skip
    (normal,) = parse_normals_page(page)
    assert normal.percentiles == {5: None, 10: None, 25: None, 50: 3.5, 75: None, 90: None, 95: None}
    assert normal.sample_count == 1


# --- storage -------------------------------------------------------------------------------------------------


def test_stored_normals_equal_the_fakes_for_every_station(fake, mirrored):
    fake.clear_requests()
    result = normals.refresh_normals(normals.mirrored_daily_series())

    assert result.series == 4 and result.with_normals == 4
    assert len(stat_requests(fake)) == 1  # four stations: one request, one page
    for st in fake.stations:
        series = TimeSeries.objects.get(location__monitoring_location_id=st.monitoring_location_id, kind="daily")
        truth = {k: v for k, v in fake.normals(st.monitoring_location_id).items() if v.kind == "day_of_year"}
        stored = {row.time_of_year: row for row in SeriesNormal.objects.filter(series=series)}
        assert set(stored) == set(truth)
        assert "02-29" in stored
        for day, expected in truth.items():
            row = stored[day]
            assert (row.p05, row.p10, row.p25, row.p50, row.p75, row.p90, row.p95) == tuple(
                expected.percentiles[p] for p in (5, 10, 25, 50, 75, 90, 95)
            ), (st.monitoring_location_id, day)
            assert (row.minimum, row.maximum, row.sample_count) == (
                expected.minimum,
                expected.maximum,
                expected.sample_count,
            )
        assert NormalsFetch.objects.get(series=series).days == len(truth)
    short = SeriesNormal.objects.get(series__location__monitoring_location_id=SHORT, month=3, day=1)
    assert short.p05 is None and short.sample_count < 10  # "nan" stored as null


def test_a_refresh_replaces_and_the_due_list_skips_fresh_series(fake, mirrored):
    normals.refresh_normals(normals.mirrored_daily_series())
    assert normals.due_series() == []
    before = SeriesNormal.objects.count()
    fake.clear_requests()
    assert normals.refresh_due().series == 0
    assert stat_requests(fake) == []
    NormalsFetch.objects.update(fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert normals.refresh_due().series == 4
    assert SeriesNormal.objects.count() == before  # replaced, not added


def test_the_command_refreshes_a_station_and_refuses_an_unknown_one(fake, mirrored):
    out = StringIO()
    call_command("refresh_normals", "--station", LONG, stdout=out)
    assert "1 series asked, 1 with normals" in out.getvalue()
    assert SeriesNormal.objects.filter(series__location__monitoring_location_id=LONG).count() == 366
    with pytest.raises(CommandError, match="USGS-00000000"):
        call_command("refresh_normals", "--station", "USGS-00000000", stdout=out)


def test_revision_notes_are_stored_per_series(fake, mirrored):
    fake.add_revision_note(
        MID,
        dt.datetime(2026, 10, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 10, 9, tzinfo=dt.UTC),
        "Discharge for Oct. 5 to Oct. 9, 2026, was revised on Nov. 19, 2026, based on a new rating.",
    )
    stored, made = normals.refresh_revision_notes(MonitoringLocation.objects.all())
    assert made >= 1
    rows = RevisionNote.objects.filter(location__monitoring_location_id=MID)
    assert stored == len(fake.revision_notes) and rows.count() >= 1
    daily = rows.get(time_series_id=fake.primary_series_id(MID), note__contains="new rating")
    assert daily.series is not None and "new rating" in daily.note
    assert daily.begin == dt.datetime(2026, 10, 5, tzinfo=dt.UTC)


def test_normals_requests_draw_on_the_shared_usgs_bucket_and_record_the_quota(fake, mirrored, settings):
    from acquisition.models import RateLimitBucket
    from acquisition.throttled_client import BUCKET_NAME

    settings.USGS_REQUESTS_PER_HOUR = 36  # a token per 100 s, one in the bucket: the refresh's take shows
    RateLimitBucket.objects.filter(name=BUCKET_NAME).update(tokens=1.0, updated_at=timezone.now())
    fake.clear_requests()
    result = normals.refresh_normals(normals.mirrored_daily_series())
    bucket = RateLimitBucket.objects.get(name=BUCKET_NAME)
    assert result.requests == len(stat_requests(fake)) == 1
    assert bucket.tokens < 0.5  # the token came out of the pulls' bucket, not a bucket of its own
    assert RateLimitBucket.objects.count() == 1
    assert bucket.quota_remaining == fake.ratelimit_remaining  # X-RateLimit-Remaining of the statistics answer


def test_the_refresh_tasks_are_registered_and_scheduled(settings):
    from streamflow.celery import app as celery_app

    celery_app.autodiscover_tasks(force=True)
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for name in ("acquisition.normal_tasks.refresh_normals", "monitoring.percentile_alerts.check"):
        assert name in schedule and name in celery_app.tasks
