"""Smart Append against the fake USGS server over HTTP, in this process (SQLite by default; PostgreSQL with
DATABASE_URL): windows, revisions, idempotent reruns, overwrite, failures, accounting."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from acquisition import run_bookkeeping, smart_append
from acquisition.models import DailyValue, PullLogEntry, PullRun, PullRunStation
from acquisition.smart_append import run_inline
from pulls.models import PullConfiguration, StationProgress
from stations.models import TimeSeries
from tests.acquisition_factories import make_configuration

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

SITES = ["USGS-01646500", "USGS-01638500", "USGS-01643000"]
START = dt.date(2026, 1, 1)


def stored(site: str, kind: str = "daily") -> list[dict]:
    rows = DailyValue.objects.filter(series__location__monitoring_location_id=site).order_by("date")
    return [
        {
            "time_series_id": r.series.time_series_id,
            "time": r.date,
            "value": r.value,
            "qualifiers": r.qualifiers,
            "approval_status": r.approval_status,
            "last_modified": r.last_modified,
        }
        for r in rows.select_related("series")
    ]


def daily_requests(fake, site: str) -> list[dict]:
    series_id = fake.primary_series_id(site, "daily")
    return [
        r.params
        for r in fake.requests
        if r.path.endswith("/daily/items") and series_id in r.params.get("time_series_id", "").split(",")
    ]


def test_a_first_run_stores_exactly_what_usgs_has(fake_usgs):
    config = make_configuration(fake_usgs, SITES, start_date=START)

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    total = 0
    for site in SITES:
        expected = fake_usgs.expected_daily(site, START, fake_usgs.today)
        assert stored(site) == expected
        total += len(expected)
        progress = StationProgress.objects.get(configuration=config, location__monitoring_location_id=site)
        assert progress.newest_date == fake_usgs.today
        assert progress.time_series.time_series_id == fake_usgs.primary_series_id(site)
        assert progress.last_success_at is not None and progress.consecutive_failures == 0
    assert (run.values_inserted, run.values_updated, run.values_unchanged) == (total, 0, 0)
    assert run.stations_succeeded == 3 and run.stations_failed == 0
    assert run.requests_made == len(fake_usgs.requests)
    # No revision pass on a first pull: the three stations share one metadata and one daily request.
    assert len(fake_usgs.requests) == 2
    assert fake_usgs.requests[1].params["time_series_id"].split(",") == [
        fake_usgs.primary_series_id(site) for site in SITES
    ]
    for station in run.stations.all():
        assert station.status == PullRunStation.Status.SUCCEEDED
        assert station.windows_done == station.windows_total == 1
        assert station.pages_fetched == 2  # the batch's metadata + daily pages
        assert station.values_received == station.values_inserted


def test_every_request_pages_with_limit_properties_and_no_geometry(fake_usgs, settings):
    settings.USGS_PAGE_LIMIT = 100  # ~324 values per station: four pages each
    config = make_configuration(fake_usgs, SITES[:1], start_date=START)

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    assert stored(SITES[0]) == fake_usgs.expected_daily(SITES[0], START, fake_usgs.today)
    pages = daily_requests(fake_usgs, SITES[0])
    assert len(pages) == 4
    assert all(p["limit"] == "100" and p["skipGeometry"] == "true" and "time" in p["properties"] for p in pages)
    assert run.stations.get().pages_fetched == 1 + 4


def test_a_second_run_asks_only_from_the_last_stored_date_and_adds_the_new_days(fake_usgs):
    config = make_configuration(fake_usgs, SITES, start_date=START)
    run_inline(config)
    first_today = fake_usgs.today
    before = {site: stored(site) for site in SITES}

    fake_usgs.today = first_today + dt.timedelta(days=5)
    fake_usgs.clear_requests()
    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    assert run.values_inserted == 3 * 5
    for site in SITES:
        window = [p for p in daily_requests(fake_usgs, site) if "last_modified" not in p]
        # From the inclusive boundary to the run's own date (the plan's end, never open).
        assert [p["time"] for p in window] == [f"{first_today.isoformat()}/{run.created_at.date().isoformat()}"]
        revisions = [p for p in daily_requests(fake_usgs, site) if "last_modified" in p]
        # The revision pass covers the whole configured range, and nothing before the start date.
        assert [p["time"] for p in revisions] == [f"{START.isoformat()}/{run.created_at.date().isoformat()}"]
        new_days = fake_usgs.expected_daily(site, first_today + dt.timedelta(days=1), fake_usgs.today)
        assert stored(site)[len(before[site]) :] == new_days
        # Nothing already stored was lost or duplicated.
        assert [r["time"] for r in stored(site)[: len(before[site])]] == [r["time"] for r in before[site]]
        assert StationProgress.objects.get(location__monitoring_location_id=site).newest_date == fake_usgs.today
    # No metadata lookups on the second run: the series was remembered.
    assert not any(r.path.endswith("time-series-metadata/items") for r in fake_usgs.requests)


def test_a_revised_provisional_value_is_updated_by_the_revision_pass(fake_usgs):
    config = make_configuration(fake_usgs, SITES, start_date=START)
    run_inline(config)
    day = dt.date(2026, 10, 2)  # well before the next window's start
    old = DailyValue.objects.get(series__location__monitoring_location_id=SITES[1], date=day)

    fake_usgs.revise(SITES[1], day, 4250.0, last_modified=timezone.now())
    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    assert run.values_updated == 1
    assert run.stations.get(location__monitoring_location_id=SITES[1]).values_updated == 1
    old.refresh_from_db()
    assert old.value == 4250.0


def test_a_run_with_nothing_new_inserts_and_updates_nothing(fake_usgs):
    config = make_configuration(fake_usgs, SITES, start_date=START)
    run_inline(config)
    count = DailyValue.objects.count()

    run = run_inline(config)

    assert (run.status, run.values_inserted, run.values_updated) == (PullRun.Status.SUCCEEDED, 0, 0)
    assert run.values_unchanged >= 3  # at least each station's boundary day came back unchanged
    assert DailyValue.objects.count() == count


def test_two_configurations_sharing_a_station_share_its_rows(fake_usgs):
    first = make_configuration(fake_usgs, SITES[:1], start_date=START)
    second = make_configuration(fake_usgs, SITES[:1], start_date=dt.date(2026, 6, 1))
    run_inline(first)

    run = run_inline(second)

    assert run.values_inserted == 0 and run.values_unchanged > 0
    assert DailyValue.objects.count() == len(fake_usgs.expected_daily(SITES[0], START, fake_usgs.today))


def test_it_pulls_the_primary_series_of_a_site_with_two(fake_usgs):
    site = "USGS-02196000"
    config = make_configuration(fake_usgs, [site], start_date=START)

    run_inline(config)

    primary = fake_usgs.primary_series_id(site)
    assert set(DailyValue.objects.values_list("series__time_series_id", flat=True)) == {primary}
    assert TimeSeries.objects.get(time_series_id=primary).primary is True
    assert stored(site) == fake_usgs.expected_daily(site, START, fake_usgs.today)


def test_it_keeps_going_through_429s_and_500s_and_logs_the_retries(fake_usgs):
    config = make_configuration(fake_usgs, SITES, start_date=START)
    fake_usgs.faults.retry_after = 0
    fake_usgs.faults.rate_limit_next = 2
    fake_usgs.faults.error_next = 2

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    for site in SITES:
        assert stored(site) == fake_usgs.expected_daily(site, START, fake_usgs.today)
    retries = PullLogEntry.objects.filter(run=run, level=PullLogEntry.Level.WARNING, message__contains="retrying")
    assert retries.count() == 4
    assert retries.filter(message__contains="HTTP 429 from").count() == 2
    assert retries.filter(message__contains="HTTP 500 from").count() == 2
    assert run.requests_made == len(fake_usgs.requests)


def test_one_station_failing_makes_the_run_partial_and_leaves_that_station_untouched(fake_usgs, settings):
    settings.ACQUISITION_BATCH_SERIES = 1  # a batch of its own: its requests fail, nobody else's
    config = make_configuration(fake_usgs, SITES, start_date=START)
    run_inline(config)
    failing = SITES[1]
    progress = StationProgress.objects.get(location__monitoring_location_id=failing)
    before = stored(failing)

    fake_usgs.today += dt.timedelta(days=5)
    fake_usgs.revise(failing, dt.date(2026, 10, 2), 1.0, last_modified=timezone.now())
    fake_usgs.faults.fail_sites = {failing}
    run = run_inline(config)

    assert run.status == PullRun.Status.PARTIAL
    assert (run.stations_succeeded, run.stations_failed) == (2, 1)
    assert failing in run.message
    assert stored(failing) == before
    after = StationProgress.objects.get(pk=progress.pk)
    assert (after.newest_date, after.last_success_at) == (progress.newest_date, progress.last_success_at)
    assert after.consecutive_failures == 1 and "HTTP 500" in after.last_error
    assert after.last_attempt_at > progress.last_attempt_at
    station = run.stations.get(location__monitoring_location_id=failing)
    assert station.status == PullRunStation.Status.FAILED and "/daily/items" in station.error
    assert PullLogEntry.objects.filter(
        run=run, level=PullLogEntry.Level.ERROR, location__monitoring_location_id=failing, message__contains="HTTP 500"
    ).exists()
    for site in set(SITES) - {failing}:
        assert StationProgress.objects.get(location__monitoring_location_id=site).newest_date == fake_usgs.today

    fake_usgs.faults.fail_sites = set()
    again = run_inline(config)
    assert again.status == PullRun.Status.SUCCEEDED
    assert StationProgress.objects.get(pk=progress.pk).consecutive_failures == 0
    assert stored(failing)[-1]["time"] == fake_usgs.today


def test_a_connection_dropped_mid_page_is_retried_and_stores_only_whole_pages(fake_usgs, settings):
    settings.USGS_PAGE_LIMIT = 100
    config = make_configuration(fake_usgs, SITES[:1], start_date=START)
    fake_usgs.faults.drop_mid_body_next = 2

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    assert stored(SITES[0]) == fake_usgs.expected_daily(SITES[0], START, fake_usgs.today)


def test_a_connection_that_keeps_dropping_stores_nothing_at_all(fake_usgs, settings):
    settings.USGS_PAGE_LIMIT = 100
    config = make_configuration(fake_usgs, SITES[:1], start_date=START)
    fake_usgs.faults.fail_after_pages = 2  # two pages arrive, then every page fails for good

    run = run_inline(config)

    assert run.status == PullRun.Status.FAILED
    assert DailyValue.objects.count() == 0
    progress = StationProgress.objects.get(configuration=config)
    assert progress.newest_date is None and progress.consecutive_failures == 1


def test_overwrite_replaces_the_range_and_removes_what_usgs_no_longer_has(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1], start_date=START, strategy=PullConfiguration.Strategy.OVERWRITE)
    run_inline(config)
    series = TimeSeries.objects.get(time_series_id=fake_usgs.primary_series_id(SITES[0]))
    # A day inside the replaced range (which ends at the run's date) that USGS no longer has.
    DailyValue.objects.create(series=series, date=fake_usgs.today + dt.timedelta(days=1), value=1.0)
    fake_usgs.revise(SITES[0], dt.date(2026, 2, 2), 55.5, last_modified=timezone.now())

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    assert run.values_updated == 1 and run.values_inserted == 0
    assert stored(SITES[0]) == fake_usgs.expected_daily(SITES[0], START, fake_usgs.today)
    assert (
        "replacing the stored range"
        in PullLogEntry.objects.filter(run=run, message__startswith="Batch 1 of 1: asking").get().message
    )


def test_an_overwrite_that_fails_midway_leaves_the_old_data_in_place(fake_usgs, settings):
    settings.USGS_PAGE_LIMIT = 100
    config = make_configuration(fake_usgs, SITES[:1], start_date=START, strategy=PullConfiguration.Strategy.OVERWRITE)
    run_inline(config)
    before = stored(SITES[0])
    fake_usgs.revise(SITES[0], dt.date(2026, 2, 2), 55.5, last_modified=timezone.now())
    fake_usgs.faults.fail_after_pages = 2

    run = run_inline(config)

    assert run.status == PullRun.Status.FAILED
    assert stored(SITES[0]) == before


def test_a_backfill_repulls_its_range_without_moving_progress_backwards(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1], start_date=START)
    run_inline(config)
    progress = StationProgress.objects.get(configuration=config)
    DailyValue.objects.filter(date__range=(dt.date(2026, 3, 1), dt.date(2026, 3, 10))).delete()

    fake_usgs.clear_requests()
    run = run_inline(
        config, trigger=PullRun.Trigger.BACKFILL, range_start=dt.date(2026, 3, 1), range_end=dt.date(2026, 3, 31)
    )

    assert run.status == PullRun.Status.SUCCEEDED and run.trigger == PullRun.Trigger.BACKFILL
    assert (run.values_inserted, run.values_unchanged) == (10, 21)
    assert [p["time"] for p in daily_requests(fake_usgs, SITES[0])] == ["2026-03-01/2026-03-31"]
    after = StationProgress.objects.get(pk=progress.pk)
    assert (after.newest_date, after.last_success_at) == (progress.newest_date, progress.last_success_at)
    assert stored(SITES[0]) == fake_usgs.expected_daily(SITES[0], START, fake_usgs.today)


def test_a_station_without_a_series_of_that_kind_is_reported_once_and_not_retried_as_a_failure(fake_usgs):
    site = "USGS-391727076481301"  # a well: no discharge series
    config = make_configuration(fake_usgs, [site, SITES[0]], start_date=START)

    run = run_inline(config)

    # Not a failure that the next run retries: the station is skipped with a sentence, the run succeeds.
    assert run.status == PullRun.Status.SUCCEEDED and run.stations_succeeded == 1
    station = run.stations.get(location__monitoring_location_id=site)
    assert station.status == PullRunStation.Status.SKIPPED
    assert station.error.startswith(f"No such series: USGS lists no daily discharge series for {site}.")
    progress = StationProgress.objects.get(location__monitoring_location_id=site)
    assert progress.no_series_at is not None and progress.consecutive_failures == 0

    fake_usgs.clear_requests()
    again = run_inline(config)

    assert again.status == PullRun.Status.SUCCEEDED
    asked = [r.params.get("monitoring_location_id", "") for r in fake_usgs.requests]
    assert not any(site in ids for ids in asked)  # USGS is not asked again
    assert "skipped without asking again" in again.stations.get(location__monitoring_location_id=site).error


def test_an_overwrite_answered_with_nothing_keeps_the_values_of_a_shared_series(fake_usgs, monkeypatch):
    append = make_configuration(fake_usgs, SITES[:1], start_date=START)
    overwrite = make_configuration(
        fake_usgs, SITES[:1], start_date=START, strategy=PullConfiguration.Strategy.OVERWRITE
    )
    run_inline(append)
    before = stored(SITES[0])
    monkeypatch.setattr(smart_append, "fetch", lambda *args, **kwargs: None)  # USGS answers every page empty

    run = run_inline(overwrite)

    assert stored(SITES[0]) == before and len(before) > 300
    station = run.stations.get()
    assert station.status == PullRunStation.Status.FAILED
    assert station.error.startswith(
        f"USGS returned nothing for {START:%Y-%m-%d} → {run.created_at:%Y-%m-%d}; the stored values were kept."
    )
    assert run.status == PullRun.Status.FAILED


def test_a_configuration_deleted_mid_run_ends_the_run_with_a_sentence(fake_usgs, monkeypatch):
    config = make_configuration(fake_usgs, SITES[:2], start_date=START)
    real_fetch = smart_append.fetch

    def fetch_then_delete(*args, **kwargs):
        real_fetch(*args, **kwargs)
        PullConfiguration.objects.filter(pk=config.pk).delete()  # the operator deletes it while pages arrive

    monkeypatch.setattr(smart_append, "fetch", fetch_then_delete)

    run = run_inline(config)

    assert run.status == PullRun.Status.FAILED and run.configuration_id is None
    assert run.message == run_bookkeeping.CONFIGURATION_DELETED
    errors = set(run.stations.values_list("error", flat=True))
    assert errors == {run_bookkeeping.CONFIGURATION_DELETED}
    assert not StationProgress.objects.exists() and not DailyValue.objects.exists()


def test_a_station_removed_from_the_configuration_mid_run_is_skipped_without_progress(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:2], start_date=START)
    run = run_bookkeeping.start_run(config)
    removed = config.memberships.get(location__monitoring_location_id=SITES[1])
    removed.delete()
    for number in run_bookkeeping.pending_batches(run.pk):
        smart_append.pull_batch(run.pk, number)

    run.refresh_from_db()
    station = run.stations.get(location__monitoring_location_id=SITES[1])
    assert station.status == PullRunStation.Status.SKIPPED
    assert station.error == f"{SITES[1]} was removed from “{config.name}” during this run; it was skipped and " + (
        "nothing was stored for it."
    )
    assert not StationProgress.objects.filter(location__monitoring_location_id=SITES[1]).exists()
    assert run.status == PullRun.Status.SUCCEEDED and run.stations_succeeded == 1


def test_log_lines_name_the_request_and_show_plain_times_without_repeating_the_station(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1], start_date=dt.date(2026, 11, 10))
    run_inline(config)
    fake_usgs.today += dt.timedelta(days=1)

    run = run_inline(config)

    own = list(PullLogEntry.objects.filter(run=run, location__isnull=False).values_list("message", flat=True))
    assert own and not any(SITES[0] in line for line in own)
    lines = list(PullLogEntry.objects.filter(run=run).values_list("message", flat=True))
    assert not any("+00:00" in line or "features" in line for line in lines)
    newest = fake_usgs.today - dt.timedelta(days=1)
    assert any(
        line.startswith(f"Batch 1 of 1: asking daily values of 1 series {newest:%Y-%m-%d} → {run.created_at:%Y-%m-%d}")
        for line in lines
    )
    batch = "Batch 1 of 1 (1 station): "
    revisions = [line for line in lines if line.startswith(batch + "revisions since ")]
    window_text = f"{batch}window {newest:%Y-%m-%d} → {run.created_at:%Y-%m-%d}: page 1, "
    window = [line for line in lines if line.startswith(window_text)]
    assert len(revisions) == 1 and re.match(
        r"Batch 1 of 1 \(1 station\): revisions since \d{4}-\d\d-\d\d \d\d:\d\d UTC: page 1, \d+ value", revisions[0]
    )
    assert window == [f"{window_text}2 values"]
    assert any(re.match(r"\d+ values received \(batch 1\); inserted 1,", line) for line in own)
