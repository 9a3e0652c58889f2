"""Cron validation, words and next runs, computed with the semantics Celery beat applies."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from pulls import cron
from streamflow.celery import app as celery_app
from tests.factories import PullConfigurationFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
BEFORE_DST = dt.datetime(2026, 3, 6, 12, 0, tzinfo=NEW_YORK)  # Friday before the 2026-03-08 spring-forward


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 * *", "has five fields"),
        ("0 0 * * * *", "has five fields"),
        ("", "has five fields"),
        ("61 * * * *", "61 is out of range in the minute field"),
        ("0 24 * * *", "24 is out of range in the hour field"),
        ("0 0 0 * *", "0 is out of range in the day-of-month field"),
        ("0 0 * 13 *", "13 is out of range in the month field"),
        ("0 0 * foo *", "“foo” is not a valid month value"),
        ("0 0 * * funday", "“funday” is not a valid day-of-week value"),
        ("0 0 * * 7", "use 0 or sun instead"),
        ("0 5-2 * * *", "goes backwards"),
        ("*/0 * * * *", "The step /0"),
        ("0 0 30 2 *", "never runs"),
        ("0 0 31 4,6,9,11 *", "never runs"),
        ("0 0 1 * 1", "Celery runs only on days that match both"),
        ("0 0 1-7 * mon", "not both"),
    ],
)
def test_it_refuses_expressions_beat_would_refuse_or_never_run(expression, message):
    with pytest.raises(cron.CronError) as excinfo:
        cron.parse(expression)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("expression", "normalized"),
    [
        ("*/15 6-18 * * 1-5", "*/15 6-18 * * 1-5"),
        ("0 9 * JAN,jul MON-fri", "0 9 * 1,7 1-5"),
        ("0 0 29 2 *", "0 0 29 2 *"),  # leap days: Celery rolls to the next leap year
        ("0   0 * *   sun", "0 0 * * 0"),
        ("0-30/10 * * * *", "0-30/10 * * * *"),
    ],
)
def test_it_accepts_valid_expressions_and_stores_names_as_numbers(expression, normalized):
    assert cron.parse(expression).expression == normalized


def test_it_describes_a_schedule_in_words():
    assert cron.describe(cron.parse("*/15 6-18 * * 1-5")) == (
        "Every 15 minutes, between 06:00 and 18:59, Monday through Friday"
    )
    assert cron.describe(cron.parse("0 0 * * *")) == "At 00:00"


def test_the_next_runs_of_0_2_in_new_york_follow_celery_across_the_2026_dst_change():
    runs = cron.next_runs(cron.parse("0 2 * * *"), "America/New_York", after=BEFORE_DST)
    # 02:00 does not exist on 2026-03-08 (clocks jump 02:00 EST -> 03:00 EDT): Celery runs at 07:00 UTC, which is
    # 03:00 EDT, then at 02:00 EDT on the following days.
    assert [r.astimezone(dt.UTC) for r in runs] == [
        dt.datetime(2026, 3, 7, 7, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 9, 6, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 11, 6, 0, tzinfo=dt.UTC),
    ]
    labels = [label for _, label in cron.Preview("0 2 * * *", "America/New_York", runs=runs).run_labels]
    assert labels == [
        "Sat 2026-03-07 02:00 EST",
        "Sun 2026-03-08 03:00 EDT",
        "Mon 2026-03-09 02:00 EDT",
        "Tue 2026-03-10 02:00 EDT",
        "Wed 2026-03-11 02:00 EDT",
    ]


@pytest.mark.django_db
def test_the_preview_equals_the_moments_beats_own_entry_becomes_due():
    config = PullConfigurationFactory(schedule_type="custom", cron_expression="0 2 * * *", timezone="America/New_York")
    predicted = cron.next_runs(cron.parse(config.cron_expression), config.timezone, after=BEFORE_DST)
    entry = ModelEntry(PeriodicTask.objects.get(name=f"pull-config-{config.pk}"), app=celery_app)
    last_run = BEFORE_DST
    for run in predicted:
        entry.last_run_at = last_run
        # In UTC: wall-clock arithmetic in New York would step into the DST gap.
        just_before = run.astimezone(dt.UTC) - dt.timedelta(seconds=1)
        entry.schedule.nowfun = lambda moment=just_before: moment
        assert entry.is_due().is_due is False, f"beat would run before {run}"
        entry.schedule.nowfun = lambda moment=run: moment
        assert entry.is_due().is_due is True, f"beat would not run at {run}"
        last_run = run  # beat stores the run time as the new last_run_at


def test_the_preview_says_why_it_has_no_runs():
    assert cron.preview("0 0 30 2 *", "UTC").error.startswith("This schedule never runs")
    assert cron.preview("", "UTC").error == "Type a cron expression to see when it runs."
    bad_zone = cron.preview("0 0 * * *", "Mars/Olympus")
    assert "not a known time zone" in bad_zone.error
    assert bad_zone.runs == []
    assert len(cron.preview("0 * * * *", "Europe/Paris").runs) == 5
