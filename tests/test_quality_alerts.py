"""Quality alerts: a new gap in recent data at a series complete before it, and a flat line reaching the newest
value — one alert per (condition, series) until it clears, then one recovery notice (monitoring/quality_alerts.py).
Expected gaps and flat lines are computed here from the rows stored."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acquisition.models import ContinuousValue, DailyValue, PullRun
from acquisition.smart_append import run_inline
from monitoring import quality_alerts
from monitoring.models import AlertChannel, AlertDelivery, AlertRule, AlertState
from monitoring.tasks import recheck_quality_alerts
from pulls.models import PullConfiguration
from stations.models import TimeSeries
from tests.acquisition_factories import make_configuration
from tests.factories import (
    MonitoringLocationFactory,
    PullConfigurationFactory,
    PullRunFactory,
    PullRunStationFactory,
    TimeSeriesFactory,
)

pytest_plugins = ["tests.worker_fixtures", "tests.alert_fixtures"]  # fake_usgs

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
DAY = dt.timedelta(days=1)
N = 7  # QUALITY_ALERT_GAP_DAYS / QUALITY_ALERT_FLAT_DAYS in these tests
SITE_URL = "https://streamflow.example.org"


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_EMAILS = ["oncall@example.org"]
    settings.SITE_URL = SITE_URL
    settings.QUALITY_ALERT_GAP_DAYS = N
    settings.QUALITY_ALERT_FLAT_DAYS = N
    settings.QUALITY_GAP_DAILY_DAYS = 1
    settings.QUALITY_GAP_CONTINUOUS_INTERVALS = 2
    settings.QUALITY_FLAT_DAILY_DAYS = 7
    settings.QUALITY_FLAT_CONTINUOUS_HOURS = 24
    return settings


@pytest.fixture
def channel(monkeypatch):
    """A Slack channel receiving both quality conditions and their recovery notices (deliveries recorded only)."""
    monkeypatch.setattr("monitoring.channels._enqueue", lambda pk: None)
    slack = AlertChannel.objects.create(name="Hydro", kind=AlertChannel.Kind.SLACK, url="https://hooks.example.org/x")
    AlertRule.objects.create(channel=slack, conditions=["new_gap", "flat_line"], send_recovery=True)
    return slack


def _station(config, name="POTOMAC RIVER NEAR WASH, DC", kind=TimeSeries.Kind.DAILY):
    location = MonitoringLocationFactory(name=name)
    config.add_stations([location.pk])
    return TimeSeriesFactory(location=location, kind=kind, primary=True)


def _store_days(series, start, end, *, skip=(), value=None):
    """Daily values start … end, varying (no flat line, no spike) unless `value` gives one; days in `skip` absent."""
    rows, day = [], start
    while day <= end:
        if day not in skip:
            v = value(day) if value else 100.0 + day.toordinal() % 5
            rows.append(DailyValue(series=series, date=day, value=v, approval_status="Provisional"))
        day += DAY
    DailyValue.objects.bulk_create(rows)


def _days(start, end):
    return {start + i * DAY for i in range((end - start).days + 1)}


def _run(config, *series):
    n = len(series)
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED, stations_total=n, stations_succeeded=n)
    for s in series:
        PullRunStationFactory(run=run, location=s.location, status="succeeded")
    return run


def _gaps_stored(series, start, end):
    """(first, last) of every run of more than one missing day in [start, end], from the rows stored."""
    present = set(
        DailyValue.objects.filter(series=series, date__range=(start, end), value__isnull=False).values_list(
            "date", flat=True
        )
    )
    gaps, run = [], []
    for day in sorted(_days(start, end)) + [end + DAY]:
        if day <= end and day not in present:
            run.append(day)
        else:
            if len(run) > 1:
                gaps.append((run[0], run[-1]))
            run = []
    return gaps


def _newest(series):
    return DailyValue.objects.filter(series=series, value__isnull=False).order_by("-date").first().date


# --- Off by default -----------------------------------------------------------------------------------------


def test_with_the_settings_off_nothing_is_queried_and_nothing_opens(alert_settings, committed):
    alert_settings.QUALITY_ALERT_GAP_DAYS = 0
    alert_settings.QUALITY_ALERT_FLAT_DAYS = 0
    config = PullConfigurationFactory()
    series = _station(config)
    _store_days(series, TODAY - 30 * DAY, TODAY - DAY, skip=_days(TODAY - 5 * DAY, TODAY - 3 * DAY))
    run = _run(config, series)
    AlertState.objects.create(key=f"new_gap:{series.pk}", kind="new_gap", active=True)

    with CaptureQueriesContext(connection) as queries:
        committed(quality_alerts.run_finished, run)
        recheck_quality_alerts.apply().get()
        assert quality_alerts.check_run(run.pk, now=NOW) == {"checked": 0, "opened": 0, "cleared": 0}

    assert queries.captured_queries == []
    assert mail.outbox == [] and AlertState.objects.filter(active=True).count() == 1


def test_the_defaults_are_off():
    import streamflow.settings as project  # as read from the environment, before the tests' overrides

    assert project.QUALITY_ALERT_GAP_DAYS == 0 and project.QUALITY_ALERT_FLAT_DAYS == 0


# --- New gap ------------------------------------------------------------------------------------------------


def test_a_gap_in_the_window_at_a_complete_station_opens_one_alert_and_a_second_check_none(committed, channel):
    config = PullConfigurationFactory(name="Potomac daily")
    series = _station(config)
    _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=_days(TODAY - 5 * DAY, TODAY - 3 * DAY))
    run = _run(config, series)
    window = TODAY - (N - 1) * DAY
    ((first, last),) = [g for g in _gaps_stored(series, window - N * DAY, _newest(series)) if g[0] >= window]

    result = committed(quality_alerts.check_run, run.pk, now=NOW)

    assert result == {"checked": 1, "opened": 1, "cleared": 0}
    (email,) = mail.outbox
    loc = series.location
    assert loc.monitoring_location_id in email.subject and f"{first} → {last}" in email.subject
    assert f"Station: {loc.monitoring_location_id} POTOMAC RIVER NEAR WASH, DC" in email.body
    assert f"- {first} → {last}: {(last - first).days + 1} values missing" in email.body
    assert (
        f"{SITE_URL}/monitoring/stations/{loc.monitoring_location_id}/quality/?kind=daily"
        f"&start={window - N * DAY}&end={TODAY}"
    ) in email.body
    state = AlertState.objects.get(key=f"new_gap:{series.pk}")
    assert state.active and state.kind == "new_gap" and state.location == loc and state.configuration == config
    (delivery,) = AlertDelivery.objects.filter(channel=channel)
    assert (delivery.condition, delivery.recovered, delivery.configuration) == ("new_gap", False, config)

    assert committed(quality_alerts.check_run, run.pk, now=NOW)["opened"] == 0
    assert len(mail.outbox) == 1 and AlertDelivery.objects.count() == 1


def test_filling_the_gap_clears_it_with_one_recovery_notice(committed, channel):
    config = PullConfigurationFactory()
    series = _station(config)
    missing = _days(TODAY - 5 * DAY, TODAY - 3 * DAY)
    _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=missing)
    run = _run(config, series)
    committed(quality_alerts.check_run, run.pk, now=NOW)

    _store_days(series, min(missing), max(missing))  # a re-pull brought the values back
    assert _gaps_stored(series, TODAY - 2 * N * DAY, TODAY - DAY) == []
    result = committed(quality_alerts.check_run, run.pk, now=NOW)
    committed(quality_alerts.check_run, run.pk, now=NOW)

    assert result == {"checked": 1, "opened": 0, "cleared": 1}
    assert not AlertState.objects.get(key=f"new_gap:{series.pk}").active
    deliveries = list(AlertDelivery.objects.filter(channel=channel).order_by("pk"))
    assert [(d.condition, d.recovered) for d in deliveries] == [("new_gap", False), ("new_gap", True)]
    assert deliveries[1].subject.startswith("[Streamflow] Recovered: ")
    assert len(mail.outbox) == 1  # the email went out once; recovery notices go to the channels


def test_a_gap_clears_once_its_start_leaves_the_window(committed, channel):
    config = PullConfigurationFactory()
    series = _station(config)
    missing = _days(TODAY - 5 * DAY, TODAY - 3 * DAY)
    _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=missing)
    committed(quality_alerts.check_run, _run(config, series).pk, now=NOW)

    # The gap's first day is TODAY - 5: it is in the window through TODAY + 1, out of it the day after.
    assert committed(quality_alerts.recheck_active, now=NOW + 1 * DAY)["cleared"] == 0
    assert committed(quality_alerts.recheck_active, now=NOW + 2 * DAY)["cleared"] == 1

    assert [d.recovered for d in AlertDelivery.objects.filter(channel=channel).order_by("pk")] == [False, True]


@pytest.mark.parametrize(
    "case",
    ["gap older than the window", "gaps before the window too", "record begins just before the window"],
)
def test_a_gap_that_is_not_new_or_at_a_station_not_complete_before_does_not_alert(committed, case):
    config = PullConfigurationFactory()
    series = _station(config)
    window = TODAY - (N - 1) * DAY
    if case == "gap older than the window":
        _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=_days(window - 4 * DAY, window - 2 * DAY))
    elif case == "gaps before the window too":
        skip = _days(window - 4 * DAY, window - 3 * DAY) | _days(TODAY - 4 * DAY, TODAY - 3 * DAY)
        _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=skip)
    else:
        _store_days(series, window - 3 * DAY, TODAY - DAY, skip=_days(TODAY - 4 * DAY, TODAY - 3 * DAY))
    stored = _gaps_stored(series, window - N * DAY, _newest(series))
    in_window, before = [g for g in stored if g[0] >= window], [g for g in stored if g[0] < window]
    assert before and bool(in_window) == (case != "gap older than the window")

    assert committed(quality_alerts.check_run, _run(config, series).pk, now=NOW) == {
        "checked": 1,
        "opened": 0,
        "cleared": 0,
    }
    assert mail.outbox == [] and not AlertState.objects.exists()


def test_the_silence_after_the_newest_value_is_the_stale_alert_s_not_a_gap(committed):
    config = PullConfigurationFactory()
    series = _station(config)
    _store_days(series, TODAY - 40 * DAY, TODAY - 4 * DAY)

    assert committed(quality_alerts.check_run, _run(config, series).pk, now=NOW) == {
        "checked": 1,
        "opened": 0,
        "cleared": 0,
    }
    assert mail.outbox == []


def test_a_gap_in_continuous_values_is_listed_with_its_times(committed):
    config = PullConfigurationFactory(data_type=PullConfiguration.DataType.CONTINUOUS)
    series = _station(config, kind=TimeSeries.Kind.CONTINUOUS)
    step = dt.timedelta(minutes=15)
    start = dt.datetime.combine(TODAY - 2 * N * DAY, dt.time(0), tzinfo=dt.UTC)
    hole_from, hole_to = NOW - dt.timedelta(hours=30), NOW - dt.timedelta(hours=28)  # 2 h: 8 values, not 9
    times, t = [], start
    while t < NOW - dt.timedelta(hours=1):
        if not hole_from <= t < hole_to:
            times.append(t)
        t += step
    ContinuousValue.objects.bulk_create(
        ContinuousValue(series=series, time=t, value=50.0 + (i % 4), approval_status="Provisional")
        for i, t in enumerate(times)
    )
    before_hole = max(x for x in times if x < hole_from)
    after_hole = min(x for x in times if x >= hole_to)
    first, last = before_hole + step, after_hole - step

    assert committed(quality_alerts.check_run, _run(config, series).pk, now=NOW)["opened"] == 1
    (email,) = mail.outbox
    zone = series.location.zone  # times in the station's own zone, named by its abbreviation
    first, last = first.astimezone(zone), last.astimezone(zone)
    assert f"{first:%Y-%m-%d %H:%M %Z} → {last:%Y-%m-%d %H:%M %Z}" in email.subject
    assert f"{(after_hole - before_hole) // step - 1} values missing (2 h)" in email.body
    assert "?kind=continuous" in email.body


# --- Flat line ----------------------------------------------------------------------------------------------


def _flat_since(series):
    """The first day of the run of equal values that ends at the newest stored value, from the rows stored."""
    rows = list(DailyValue.objects.filter(series=series, value__isnull=False).order_by("-date"))
    since = rows[0]
    for row in rows[1:]:
        if row.value != rows[0].value or (since.date - row.date).days > 1:
            break
        since = row
    return since.date, rows[0].value, (rows[0].date - since.date).days + 1


def test_a_flat_line_in_recent_data_opens_one_alert_and_clears_when_values_vary_again(committed, channel):
    config = PullConfigurationFactory()
    series = _station(config, name="SENECA CREEK AT DAWSONVILLE, MD")
    flat = _days(TODAY - 9 * DAY, TODAY - DAY)
    _store_days(series, TODAY - 40 * DAY, TODAY - DAY, value=lambda d: 123.0 if d in flat else 100.0 + d.day % 5)
    run = _run(config, series)
    since, value, length = _flat_since(series)
    assert length >= 7

    assert committed(quality_alerts.check_run, run.pk, now=NOW)["opened"] == 1
    (email,) = mail.outbox
    assert f"has been flat at {value:g} ft^3/s since {since}" in email.subject
    assert f"Station: {series.location.monitoring_location_id} SENECA CREEK AT DAWSONVILLE, MD" in email.body
    assert f"the same value {length} times in a row, from {since}" in email.body
    assert f"{SITE_URL}/monitoring/stations/{series.location.monitoring_location_id}/quality/" in email.body
    assert committed(quality_alerts.check_run, run.pk, now=NOW)["opened"] == 0

    _store_days(series, TODAY, TODAY, value=lambda d: 131.0)  # the gage moves again
    assert committed(quality_alerts.check_run, run.pk, now=NOW)["cleared"] == 1

    assert len(mail.outbox) == 1
    deliveries = AlertDelivery.objects.filter(channel=channel).order_by("pk")
    assert [(d.condition, d.recovered) for d in deliveries] == [("flat_line", False), ("flat_line", True)]
    assert not AlertState.objects.get(key=f"flat_line:{series.pk}").active


@pytest.mark.parametrize("case", ["six days", "zeros", "ended before the newest value"])
def test_a_short_flat_line_zero_flow_or_one_that_ended_does_not_alert(committed, case):
    config = PullConfigurationFactory()
    series = _station(config)
    if case == "six days":
        flat, v = _days(TODAY - 6 * DAY, TODAY - DAY), 123.0
    elif case == "zeros":
        flat, v = _days(TODAY - 20 * DAY, TODAY - DAY), 0.0
    else:
        flat, v = _days(TODAY - 12 * DAY, TODAY - 3 * DAY), 123.0
    _store_days(series, TODAY - 40 * DAY, TODAY - DAY, value=lambda d: v if d in flat else 100.0 + d.day % 5)

    assert committed(quality_alerts.check_run, _run(config, series).pk, now=NOW) == {
        "checked": 1,
        "opened": 0,
        "cleared": 0,
    }
    assert mail.outbox == []


# --- Scope, isolation, scheduling ---------------------------------------------------------------------------


def test_one_station_failing_its_check_does_not_stop_the_others(committed, monkeypatch, caplog):
    config = PullConfigurationFactory(name="Two gages")
    broken, fine = _station(config, name="BROKEN RUN"), _station(config, name="FINE CREEK")
    for series in (broken, fine):
        _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=_days(TODAY - 5 * DAY, TODAY - 3 * DAY))
    real = quality_alerts.series_quality

    def flaky(series, *args, **kwargs):
        if series.pk == broken.pk:
            raise RuntimeError("database hiccup")
        return real(series, *args, **kwargs)

    monkeypatch.setattr(quality_alerts, "series_quality", flaky)
    with caplog.at_level(logging.ERROR, logger="monitoring.quality_alerts"):
        result = committed(quality_alerts.check_run, _run(config, broken, fine).pk, now=NOW)

    assert result == {"checked": 1, "opened": 1, "cleared": 0}
    assert [m.subject for m in mail.outbox] == [AlertState.objects.get(key=f"new_gap:{fine.pk}").subject]
    assert fine.location.monitoring_location_id in mail.outbox[0].subject
    (record,) = [r for r in caplog.records if r.name == "monitoring.quality_alerts"]
    assert broken.location.monitoring_location_id in record.getMessage() and "Two gages" in record.getMessage()


def test_a_run_of_a_paused_configuration_and_failed_stations_are_not_checked(committed):
    config = PullConfigurationFactory()
    series = _station(config)
    _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=_days(TODAY - 5 * DAY, TODAY - 3 * DAY))
    failed = PullRunFactory(configuration=config, status=PullRun.Status.PARTIAL, stations_succeeded=1)
    PullRunStationFactory(run=failed, location=series.location, status="failed")
    assert committed(quality_alerts.check_run, failed.pk, now=NOW)["checked"] == 0

    PullConfiguration.objects.filter(pk=config.pk).update(enabled=False)
    assert committed(quality_alerts.check_run, _run(config, series).pk, now=NOW)["checked"] == 0
    assert mail.outbox == []


def test_the_hourly_recheck_clears_the_alert_of_a_station_no_enabled_configuration_pulls(committed, channel):
    config = PullConfigurationFactory()
    series = _station(config)
    _store_days(series, TODAY - 40 * DAY, TODAY - DAY, skip=_days(TODAY - 5 * DAY, TODAY - 3 * DAY))
    committed(quality_alerts.check_run, _run(config, series).pk, now=NOW)
    assert committed(quality_alerts.recheck_active, now=NOW) == {"checked": 1, "opened": 0, "cleared": 0}

    PullConfiguration.objects.filter(pk=config.pk).update(enabled=False)
    assert committed(quality_alerts.recheck_active, now=NOW)["cleared"] == 1
    assert [d.recovered for d in AlertDelivery.objects.filter(channel=channel).order_by("pk")] == [False, True]


def test_the_recheck_is_on_beat_s_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["monitoring-quality-alerts"]
    assert entry["task"] == recheck_quality_alerts.name


def test_a_broken_run_object_never_raises_into_the_run(caplog):
    class Broken:
        pk, configuration_name = 7, "Potomac daily"

        @property
        def status(self):
            raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="monitoring.quality_alerts"):
        quality_alerts.run_finished(Broken())
    (record,) = [r for r in caplog.records if r.name == "monitoring.quality_alerts"]
    assert "run 7 of 'Potomac daily'" in record.getMessage()


def test_the_channel_rule_form_and_pages_list_the_quality_conditions(operator_client, channel):
    page = operator_client.get(f"/monitoring/channels/{channel.pk}/").content.decode()
    assert 'value="new_gap"' in page and 'value="flat_line"' in page
    assert "New gap in recent data, Flat line in recent data" in page  # the existing rule's conditions
    AlertDelivery.objects.create(channel=channel, condition="flat_line", subject="USGS-1 has been flat")
    assert "Flat line in recent data" in operator_client.get("/monitoring/deliveries/").content.decode()


# --- A real pull ----------------------------------------------------------------------------------------------

SITE = "USGS-01646500"


def test_a_real_pull_that_stores_a_gap_opens_the_alert(fake_usgs, django_capture_on_commit_callbacks):
    from django.utils import timezone

    today = timezone.now().date()
    fake_usgs.today = today
    start = today - 30 * DAY
    config = make_configuration(fake_usgs, [SITE], start_date=start)
    hole = _days(today - 4 * DAY, today - 2 * DAY)
    stamp = dt.datetime.combine(today, dt.time(6), tzinfo=dt.UTC)
    for day in sorted(_days(start, today)):  # every day present (the fake drops one in 97) but the hole's
        value = None if day in hole else 200.0 + day.toordinal() % 7
        fake_usgs.revise(SITE, day, value, last_modified=stamp)

    with django_capture_on_commit_callbacks(execute=True):
        run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED
    series = TimeSeries.objects.get(time_series_id=fake_usgs.primary_series_id(SITE))
    window = today - (N - 1) * DAY
    ((first, last),) = _gaps_stored(series, window - N * DAY, _newest(series))
    assert first >= window
    state = AlertState.objects.get(key=f"new_gap:{series.pk}")
    assert state.active and state.configuration == config
    (email,) = mail.outbox
    assert f"{SITE} has a new gap: {first} → {last}" in email.subject
    assert fake_usgs.by_id[SITE].name in email.body
