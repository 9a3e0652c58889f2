"""Batches: stations of a run share their USGS requests (DESIGN.md §4.5), and every contract of §4 still holds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acquisition import batch_commit, fetching, planning, run_bookkeeping, smart_append
from acquisition.models import DailyValue, PullLogEntry, PullRun, PullRunBatch, PullRunStation, RateLimitBucket
from acquisition.runlog import BatchEvents
from acquisition.smart_append import run_inline
from acquisition.usgs.parsers import Reading
from pulls.models import StationProgress
from stations.models import TimeSeries
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.fakeusgs import FakeUSGS
from tests.fakeusgs.data import FakeStation

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def many_stations(n: int, *, begin: dt.date = dt.date(2026, 9, 1)) -> list[FakeStation]:
    return [
        FakeStation(f"USGS-{40000000 + i:08d}", f"TEST CREEK {i} NR SOMEWHERE PA", daily_begin=begin) for i in range(n)
    ]


@pytest.fixture
def big_fake(settings):
    fake = FakeUSGS(stations=many_stations(250))
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    yield fake
    fake.stop()


def unavailable(*args, **kwargs):
    raise batch_commit.SetCommitUnavailable("member by member")


def stored(series_id: str) -> list[tuple]:
    rows = DailyValue.objects.filter(series__time_series_id=series_id).order_by("date")
    return [(r.date, r.value, r.qualifiers, r.approval_status, r.last_modified) for r in rows]


def truth(fake: FakeUSGS, site: str, start: dt.date) -> list[tuple]:
    return [
        (e["time"], e["value"], e["qualifiers"], e["approval_status"], e["last_modified"])
        for e in fake.expected_daily(site, start, fake.today)
    ]


# --- The grouping rule ------------------------------------------------------------------------------------------


def test_caught_up_stations_fill_batches_of_the_series_cap(settings):
    settings.ACQUISITION_BATCH_SERIES = 200
    starts = [(i, dt.date(2026, 11, 19)) for i in range(450)]

    groups = planning.group(starts, end=None, kind=TimeSeries.Kind.DAILY, now=NOW)

    assert [len(g) for g in groups] == [200, 200, 50]
    assert sorted(k for g in groups for k in g) == list(range(450))


def test_by_default_caught_up_stations_go_two_thousand_to_a_batch():
    starts = [(i, dt.date(2026, 11, 19)) for i in range(4500)]

    groups = planning.group(starts, end=None, kind=TimeSeries.Kind.DAILY, now=NOW)

    assert [len(g) for g in groups] == [2000, 2000, 500]


def test_a_station_far_behind_gets_a_batch_of_its_own_and_does_not_drag_the_others(settings):
    settings.ACQUISITION_BATCH_VALUES = 50_000
    starts = [(0, dt.datetime(2016, 1, 1, tzinfo=dt.UTC))]  # ten years of 15-minute values: ~350,000
    starts += [(i, NOW - dt.timedelta(hours=1)) for i in range(1, 11)]

    groups = planning.group(starts, end=None, kind=TimeSeries.Kind.CONTINUOUS, now=NOW)

    assert groups == [[0], list(range(1, 11))]


def test_first_loads_are_batched_by_the_value_budget(settings):
    settings.ACQUISITION_BATCH_VALUES = 10_000
    starts = [(i, dt.date(2000, 1, 1)) for i in range(10)]  # 26.9 years of daily values each: ~9,800

    groups = planning.group(starts, end=None, kind=TimeSeries.Kind.DAILY, now=NOW)

    assert [len(g) for g in groups] == [1] * 10
    settings.ACQUISITION_BATCH_VALUES = 50_000
    assert [len(g) for g in planning.group(starts, end=None, kind=TimeSeries.Kind.DAILY, now=NOW)] == [5, 5]


# --- A network: 250 stations ------------------------------------------------------------------------------------


def test_250_stations_cost_a_few_requests_and_store_exactly_what_usgs_has(big_fake):
    fake = big_fake
    sites = [s.monitoring_location_id for s in fake.stations]
    start = dt.date(2026, 10, 1)
    config = make_configuration(fake, sites, start_date=start)

    first = run_inline(config)

    assert first.status == PullRun.Status.SUCCEEDED, first.message
    assert first.batches.count() == 1
    # One series lookup (250 site ids fit a URL), then the window, its 250 series ids POSTed as CQL2: 2, not 2 × 250.
    assert len(fake.requests) == first.requests_made == 2
    (window,) = [r for r in fake.requests if r.path.endswith("/daily/items")]
    assert window.method == "POST" and len(window.body["time_series_id"].split(",")) == 250
    assert all(len(r.url) < 8000 for r in fake.requests)

    fake.today += dt.timedelta(days=1)
    fake.clear_requests()
    again = run_inline(config)

    assert again.status == PullRun.Status.SUCCEEDED, again.message
    assert len(fake.requests) == again.requests_made == 2  # the window and the revision pass
    assert again.values_inserted == 250
    for site in sites[::25]:
        assert stored(fake.primary_series_id(site)) == truth(fake, site, start)
    assert DailyValue.objects.count() == sum(len(fake.expected_daily(s, start, fake.today)) for s in sites)
    # Each station's row shows its own share; the run shows the requests made once.
    station = again.stations.select_related("batch").first()
    assert station.values_inserted == 1 and station.requests_made == 0
    assert sum(again.batches.values_list("requests_made", flat=True)) == again.requests_made


def test_with_url_sized_batches_250_stations_cost_a_series_lookup_and_a_get_a_batch(big_fake, settings):
    settings.ACQUISITION_BATCH_SERIES = 200
    fake = big_fake
    sites = [s.monitoring_location_id for s in fake.stations]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 10, 1))

    first = run_inline(config)

    assert first.status == PullRun.Status.SUCCEEDED and first.batches.count() == 2  # 200 + 50
    # One series lookup for the whole run (the first batch asks for the second's stations too), then a window per
    # batch: 1 + 2, not 2 × 250; every one a GET under 8 KB.
    assert len(fake.requests) == first.requests_made == 3
    assert len([r for r in fake.requests if "time-series-metadata" in r.path]) == 1
    assert {r.method for r in fake.requests} == {"GET"} and all(len(r.url) < 8000 for r in fake.requests)


def test_each_member_keeps_its_own_rows_from_its_own_boundary(big_fake):
    fake = big_fake
    behind, caught_up = (s.monitoring_location_id for s in fake.stations[:2])
    config = make_configuration(fake, [behind, caught_up], start_date=dt.date(2026, 10, 1))
    run_inline(config)
    # The second station's record is cut back by ten days: the batch asks from the first's boundary for both.
    progress = StationProgress.objects.get(location__monitoring_location_id=caught_up)
    DailyValue.objects.filter(series=progress.time_series, date__gt=fake.today - dt.timedelta(days=10)).delete()
    StationProgress.objects.filter(pk=progress.pk).update(newest_date=fake.today - dt.timedelta(days=10))
    fake.today += dt.timedelta(days=2)
    fake.clear_requests()

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    window = [r for r in fake.requests if r.path.endswith("/daily/items") and "last_modified" not in r.params]
    assert len(window) == 1 and window[0].params["time"].startswith(str(fake.today - dt.timedelta(days=12)))
    by_site = {s.location.monitoring_location_id: s for s in run.stations.select_related("location")}
    assert by_site[caught_up].values_inserted == 12 and by_site[caught_up].values_unchanged == 1
    assert by_site[behind].values_inserted == 2 and by_site[behind].values_received == 3  # not the 13 asked for
    for site in (behind, caught_up):
        assert stored(fake.primary_series_id(site)) == truth(fake, site, dt.date(2026, 10, 1))


# --- Faults ------------------------------------------------------------------------------------------------------


def test_a_batch_whose_request_keeps_failing_fails_its_members_only_and_the_next_run_retries(big_fake, settings):
    settings.ACQUISITION_BATCH_SERIES = 3
    fake = big_fake
    sites = [s.monitoring_location_id for s in fake.stations[:6]]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 10, 1))
    run_inline(config)
    before = {site: stored(fake.primary_series_id(site)) for site in sites}
    progress_before = {p.location_id: p for p in StationProgress.objects.all()}
    fake.today += dt.timedelta(days=1)
    first_batch = list(
        PullRunStation.objects.filter(run=PullRun.objects.get(), batch__number=1).values_list(
            "location__monitoring_location_id", flat=True
        )
    )
    fake.faults.fail_sites = {first_batch[0]}  # every request of that batch names it: all answer 500

    run = run_inline(config)

    assert run.status == PullRun.Status.PARTIAL
    for station in run.stations.select_related("location", "batch"):
        site = station.location.monitoring_location_id
        progress = StationProgress.objects.get(location=station.location)
        if site in first_batch:
            assert station.status == PullRunStation.Status.FAILED and "HTTP 500" in station.error
            assert stored(fake.primary_series_id(site)) == before[site]
            old = progress_before[station.location_id]
            assert (progress.newest_date, progress.last_success_at) == (old.newest_date, old.last_success_at)
            assert progress.consecutive_failures == 1
        else:
            assert station.status == PullRunStation.Status.SUCCEEDED and station.values_inserted == 1
            assert progress.newest_date == fake.today
    assert run.batches.get(number=1).requests_made == 6  # 1 + 5 retries of its first request, counted once
    assert PullLogEntry.objects.filter(run=run, message__startswith="Batch 1 of 2 failed").exists()

    fake.faults.fail_sites = set()
    again = run_inline(config)

    assert again.status == PullRun.Status.SUCCEEDED
    for site in sites:
        assert stored(fake.primary_series_id(site)) == truth(fake, site, dt.date(2026, 10, 1))


def test_rows_of_a_series_nobody_asked_for_are_dropped_with_a_warning(big_fake, monkeypatch):
    fake = big_fake
    site = fake.stations[0].monitoring_location_id
    config = make_configuration(fake, [site], start_date=dt.date(2026, 11, 1))
    real = fetching.USGSClient.daily_pages
    stranger = Reading("f" * 32, dt.date(2026, 11, 2), 1.0, [], "Provisional", None)

    def with_a_stranger(self, *args, **kwargs):
        for readings in real(self, *args, **kwargs):
            yield [*readings, stranger]

    monkeypatch.setattr(fetching.USGSClient, "daily_pages", with_a_stranger)

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    assert not DailyValue.objects.exclude(series__location__monitoring_location_id=site).exists()
    assert PullLogEntry.objects.filter(
        run=run, level=PullLogEntry.Level.WARNING, message__contains="1 row of series nobody in this batch asked for"
    ).exists()


def test_an_attempt_the_janitor_gave_up_on_stores_nothing_over_the_newer_one(big_fake, monkeypatch):
    fake = big_fake
    site = fake.stations[0].monitoring_location_id
    config = make_configuration(fake, [site], start_date=dt.date(2026, 11, 1))
    run = run_bookkeeping.start_run(config)
    real_fetch = smart_append.fetch

    def slow_then_superseded(*args, **kwargs):
        real_fetch(*args, **kwargs)
        # Meanwhile the janitor presumed this attempt lost and another worker claimed the station again.
        PullRunStation.objects.filter(run=run).update(attempts=2)

    monkeypatch.setattr(smart_append, "fetch", slow_then_superseded)

    smart_append.pull_batch(run.pk, 1)

    station = run.stations.get()
    assert station.status == PullRunStation.Status.RUNNING  # left to the attempt that owns it now
    assert station.batch.status == PullRunBatch.Status.RUNNING
    assert not DailyValue.objects.exists()
    assert StationProgress.objects.get().newest_date is None
    assert PullLogEntry.objects.filter(run=run, message__startswith="Another attempt of this station").exists()


def test_the_run_page_says_which_batch_is_being_fetched(viewer_client, big_fake):
    fake = big_fake
    config = make_configuration(fake, [s.monitoring_location_id for s in fake.stations[:3]])
    run = run_bookkeeping.start_run(config)
    PullRunBatch.objects.filter(run=run).update(
        status=PullRunBatch.Status.RUNNING,
        phase="window 2026-11-19 → now",
        pages_fetched=2,
        heartbeat_at=timezone.now(),
    )

    body = viewer_client.get(run.get_absolute_url()).content.decode()

    assert "0 of 1 batch done" in body
    assert "Batch 1 of 1: 3 stations, window 2026-11-19 → now, 2 pages read" in body
    PullRunBatch.objects.filter(run=run).update(pages_fetched=0)
    body = viewer_client.get(run.get_absolute_url()).content.decode()
    assert "window 2026-11-19 → now, first page loading" in body  # not "page 0" while page 1 loads


def test_an_edit_during_the_run_does_not_change_what_the_run_said_it_does(big_fake):
    fake = big_fake
    sites = [s.monitoring_location_id for s in fake.stations[:2]]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 11, 1))
    run_inline(config)
    series = TimeSeries.objects.get(time_series_id=fake.primary_series_id(sites[0]))
    DailyValue.objects.create(series=series, date=dt.date(2026, 11, 25), value=1.0)  # not in USGS: overwrite drops it
    run = run_bookkeeping.start_run(config)
    # The operator switches the configuration to overwrite and continuous, and moves its start, while it runs.
    config.strategy, config.data_type, config.start_date = "overwrite", "continuous", dt.date(2020, 1, 1)
    config.save()

    for number in run_bookkeeping.pending_batches(run.pk):
        smart_append.pull_batch(run.pk, number)

    run.refresh_from_db()
    assert (run.status, run.strategy, run.data_type) == ("succeeded", "append", "daily_mean")
    assert DailyValue.objects.filter(series=series, date=dt.date(2026, 11, 25)).exists()  # appended, not replaced
    assert not PullLogEntry.objects.filter(run=run, message__contains="replacing").exists()
    assert run.start_date == dt.date(2026, 11, 1)
    assert not DailyValue.objects.filter(date__lt=dt.date(2026, 11, 1)).exists()


def test_a_414_splits_the_list_and_asks_again(big_fake):
    fake = big_fake
    fake.max_url_bytes = 3000  # a gateway stricter than the 8 KB the client plans for
    sites = [s.monitoring_location_id for s in fake.stations[:200]]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 11, 10))

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED, run.message
    refused = [r for r in fake.requests if r.status == 414]
    assert refused and all(len(r.url) > 3000 for r in refused)
    daily = [r for r in fake.requests if r.path.endswith("/daily/items") and r.status == 200]
    asked = [sid for r in daily for sid in r.params["time_series_id"].split(",")]
    assert sorted(asked) == sorted(fake.primary_series_id(site) for site in sites)  # each series once
    for site in sites[::40]:
        assert stored(fake.primary_series_id(site)) == truth(fake, site, dt.date(2026, 11, 10))
    assert PullLogEntry.objects.filter(run=run, message__contains="answered 414").exists()


def test_one_member_failing_its_commit_leaves_the_others_committed(big_fake, monkeypatch):
    """Member by member (SQLite always; PostgreSQL after a set commit failed: tests/test_batch_commit.py)."""
    fake = big_fake
    sites = [s.monitoring_location_id for s in fake.stations[:3]]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 11, 1))
    real_commit = smart_append.commit
    monkeypatch.setattr(batch_commit, "commit_set", unavailable)

    def commit_but_not_the_second(run, member, stage, started, cutoff):
        if member.site == sites[1]:
            raise RuntimeError("disk full")
        return real_commit(run, member, stage, started, cutoff)

    monkeypatch.setattr(smart_append, "commit", commit_but_not_the_second)

    run = run_inline(config)

    assert run.status == PullRun.Status.PARTIAL
    by_site = {s.location.monitoring_location_id: s for s in run.stations.select_related("location")}
    assert by_site[sites[1]].status == PullRunStation.Status.FAILED and "disk full" in by_site[sites[1]].error
    assert not DailyValue.objects.filter(series__location__monitoring_location_id=sites[1]).exists()
    for site in (sites[0], sites[2]):
        assert by_site[site].status == PullRunStation.Status.SUCCEEDED
        assert stored(fake.primary_series_id(site)) == truth(fake, site, dt.date(2026, 11, 1))


def test_a_member_removed_while_its_batch_fetches_is_skipped_and_the_batch_goes_on(big_fake, monkeypatch):
    fake = big_fake
    sites = [s.monitoring_location_id for s in fake.stations[:3]]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 11, 1))
    real_fetch = smart_append.fetch

    def fetch_then_remove(*args, **kwargs):
        real_fetch(*args, **kwargs)
        config.memberships.filter(location__monitoring_location_id=sites[0]).delete()

    monkeypatch.setattr(smart_append, "fetch", fetch_then_remove)

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    by_site = {s.location.monitoring_location_id: s for s in run.stations.select_related("location")}
    assert by_site[sites[0]].status == PullRunStation.Status.SKIPPED
    assert not DailyValue.objects.filter(series__location__monitoring_location_id=sites[0]).exists()
    assert all(by_site[s].status == PullRunStation.Status.SUCCEEDED for s in sites[1:])


def test_the_quota_usgs_reports_is_recorded_and_shown_on_the_dashboard(big_fake, settings, viewer_client):
    fake = big_fake
    settings.USGS_API_KEY = "a-key"  # the gateway sends X-RateLimit-* to keyed callers only
    fake.ratelimit_remaining = 3000
    config = make_configuration(fake, [s.monitoring_location_id for s in fake.stations[:5]])

    run_inline(config)

    bucket = RateLimitBucket.objects.get(name="usgs")
    assert (bucket.quota_limit, bucket.quota_remaining) == (4000, fake.ratelimit_remaining)
    assert fake.ratelimit_remaining == 3000 - len(fake.requests)
    body = viewer_client.get("/").content.decode()
    assert f"USGS quota left:\n          {fake.ratelimit_remaining:,} of 4,000 requests an hour" in body
    again = run_bookkeeping.start_run(config)
    assert f"{fake.ratelimit_remaining} of the hourly quota were left" in again.log_entries.first().message


def test_every_members_bar_grows_with_its_batchs_pages(big_fake, settings, monkeypatch):
    settings.USGS_PAGE_LIMIT = 40
    fake = big_fake
    sites = [s.monitoring_location_id for s in fake.stations[:3]]
    config = make_configuration(fake, sites, start_date=dt.date(2026, 9, 20))  # ~62 days each: 5 pages
    seen: list[list[int]] = []
    real = BatchEvents._save_progress

    def watch(self):
        real(self)
        seen.append(
            list(PullRunStation.objects.filter(status="running").order_by("pk").values_list("progress", flat=True))
        )

    monkeypatch.setattr(BatchEvents, "_save_progress", watch)

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    bars = [row for row in seen if len(row) == 3]
    firsts = [row[0] for row in bars]
    assert all(row == [row[0]] * 3 for row in bars)  # every member shows its batch's progress
    assert firsts == sorted(firsts) and len(set(firsts)) >= 4  # it grows page by page, not empty-then-full
    assert 0 < firsts[len(firsts) // 2] < 100
