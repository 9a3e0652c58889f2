"""manage.py run_pull: a configuration run in the foreground against the fake USGS server."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from acquisition.models import DailyValue, PullRun
from pulls.models import StationProgress
from tests.acquisition_factories import make_configuration

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

SITES = ["USGS-01646500", "USGS-01638500"]


def run_pull(*args: str) -> str:
    out = StringIO()
    call_command("run_pull", *args, stdout=out)
    return out.getvalue()


def test_it_runs_a_configuration_by_name_and_shows_progress(fake_usgs):
    config = make_configuration(fake_usgs, SITES, start_date=dt.date(2026, 6, 1), name="Potomac daily")

    out = run_pull("Potomac daily")

    run = PullRun.objects.get()
    assert (run.status, run.trigger, run.triggered_by) == ("succeeded", "manual", "manage.py run_pull")
    expected = sum(len(fake_usgs.expected_daily(s, dt.date(2026, 6, 1), fake_usgs.today)) for s in SITES)
    assert DailyValue.objects.count() == expected == run.values_inserted
    assert f"Batch 1 of 1: asking daily values of 2 series 2026-06-01 → {run.created_at:%Y-%m-%d}" in out
    assert f"Batch 1 of 1 (2 stations): window 2026-06-01 → {run.created_at:%Y-%m-%d}: page 1, " in out
    assert "USGS-01646500: 173 values received (batch 1); inserted 173" in out
    assert f"Run #{run.pk} succeeded: 2 of 2 stations" in out
    assert config.progress.filter(newest_date=fake_usgs.today).count() == 2


def test_a_date_range_is_a_backfill_that_never_moves_progress(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1], start_date=dt.date(2026, 6, 1))
    run_pull(str(config.pk))
    progress = StationProgress.objects.get(configuration=config)
    DailyValue.objects.filter(date__range=(dt.date(2026, 7, 1), dt.date(2026, 7, 31))).delete()

    out = run_pull(str(config.pk), "--start", "2026-07-01", "--end", "2026-07-31")

    run = PullRun.objects.latest("pk")
    assert (run.trigger, run.range_start, run.range_end) == ("backfill", dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    assert run.values_inserted == 31
    after = StationProgress.objects.get(configuration=config)
    assert (after.newest_date, after.last_success_at) == (progress.newest_date, progress.last_success_at)
    assert "re-pulling 2026-07-01 to 2026-07-31" in out


def test_a_date_range_before_the_start_date_is_refused_and_stores_nothing(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1], start_date=dt.date(2026, 6, 1))

    with pytest.raises(CommandError, match=r"before the configuration's start date \(2026-06-01\)"):
        run_pull(str(config.pk), "--start", "2026-01-01", "--end", "2026-01-31")

    assert not PullRun.objects.exists() and not DailyValue.objects.exists()


def test_a_failed_run_exits_with_an_error(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1])
    fake_usgs.faults.fail_sites = set(SITES)

    with pytest.raises(CommandError, match="failed; see its log"):
        run_pull(str(config.pk))

    assert PullRun.objects.get().status == PullRun.Status.FAILED
    assert DailyValue.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "No pull configuration has the id or name “nope”"),
        (["{pk}", "--start", "2026-13-01"], "is not a date"),
        (["{pk}", "--end", "2026-01-01"], "--end needs --start"),
        (["{pk}", "--start", "2026-02-01", "--end", "2026-01-01"], "is before --start"),
    ],
)
def test_bad_arguments_get_a_sentence_and_change_nothing(fake_usgs, args, message):
    config = make_configuration(fake_usgs, SITES[:1])

    with pytest.raises(CommandError, match=message):
        run_pull(*[a.format(pk=config.pk) for a in args])

    assert PullRun.objects.count() == 0
    assert fake_usgs.requests == []


def test_it_refuses_while_the_configuration_is_already_running(fake_usgs):
    config = make_configuration(fake_usgs, SITES[:1])
    from acquisition.run_bookkeeping import start_run

    start_run(config)

    with pytest.raises(CommandError, match="Skipped: run #"):
        run_pull(str(config.pk))
    assert PullRun.objects.filter(status=PullRun.Status.SKIPPED).count() == 1


def test_a_partial_runs_banner_says_the_log_has_the_urls_and_the_log_names_them(fake_usgs, settings):
    from acquisition.models import PullLogEntry

    settings.ACQUISITION_BATCH_SERIES = 1  # each station a batch of its own: one fails, the other stores
    config = make_configuration(fake_usgs, SITES)
    fake_usgs.faults.fail_sites = {SITES[0]}

    run_pull(str(config.pk))

    run = PullRun.objects.get()
    assert run.status == PullRun.Status.PARTIAL
    assert "the log has the URLs" in run.message
    failures = PullLogEntry.objects.filter(run=run, level__gte=PullLogEntry.Level.ERROR)
    assert failures.exists()
    assert any(settings.USGS_API_URL in entry.message for entry in failures), [e.message for e in failures]
