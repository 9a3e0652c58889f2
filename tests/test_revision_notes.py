"""USGS's revision notes beside a configuration's revision list (issue 24): shown where their period overlaps what
changed, once per station and note, and fetched from the fake's time-series-revisions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from acquisition.models import RevisionNote
from acquisition.storage import store_readings
from acquisition.usgs.parsers import Reading
from pulls.models import PullConfigurationStation
from stations.models import TimeSeries
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory, TimeSeriesFactory

pytestmark = pytest.mark.django_db
LM = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
TEXT = "Revisions: Discharge for the period Oct. 1, 2026 to Oct. 1, 2026, was revised on Nov. 19, 2026, based on X."


def reading(day: int, value: float) -> Reading:
    return Reading("ts", dt.date(2026, 10, day), value, [], "Provisional", LM)


def note(location, series, begin, end, text=TEXT, *, tsid=None) -> RevisionNote:
    return RevisionNote.objects.create(
        location=location, series=series, time_series_id=tsid or series.time_series_id, note=text,
        begin=begin, end=end, fetched_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture
def revised():
    config = PullConfigurationFactory()
    run = PullRunFactory(configuration=config)
    location = MonitoringLocationFactory(name="REVISED CREEK", tz_abbreviation="EST", uses_dst=True)
    PullConfigurationStation.objects.create(configuration=config, location=location)
    series = TimeSeriesFactory(location=location, kind=TimeSeries.Kind.DAILY)
    store_readings("daily", series.pk, [reading(1, 1.0), reading(5, 5.0)])
    store_readings("daily", series.pk, [reading(1, 1.5), reading(5, 5.0)], run_id=run.pk)  # Oct 1 revised
    return config, location, series


def page_notes(client, config) -> str:
    html = client.get(f"/monitoring/configurations/{config.pk}/revisions/").content.decode()
    return html.split('id="revision-notes"')[1].split("</aside>")[0] if 'id="revision-notes"' in html else ""


def test_a_note_whose_period_covers_a_revision_is_shown_once(viewer_client, revised):
    config, location, series = revised
    # Oct 1 (EDT) runs 04:00 UTC Oct 1 to 04:00 UTC Oct 2: a period ending at 02:00 UTC Oct 2 overlaps it.
    begin, end = dt.datetime(2026, 10, 2, 0, tzinfo=dt.UTC), dt.datetime(2026, 10, 2, 2, tzinfo=dt.UTC)
    note(location, series, begin, end)
    note(location, None, begin, end, tsid="f" * 32)  # the same event's row for a series not mirrored: not shown
    note(location, series, dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 2, 1, tzinfo=dt.UTC), "OLD")
    shown = page_notes(viewer_client, config)
    assert shown.count(TEXT) == 1 and "OLD" not in shown
    assert "1 of the revisions listed fall in it" in shown and location.monitoring_location_id in shown


def test_a_note_outside_every_revision_is_not_shown(viewer_client, revised):
    config, location, series = revised
    # Ends 03:00 UTC Oct 1: before the station's Oct 1 began (04:00 UTC).
    note(location, series, dt.datetime(2026, 9, 20, tzinfo=dt.UTC), dt.datetime(2026, 10, 1, 3, tzinfo=dt.UTC))
    assert page_notes(viewer_client, config) == ""


def test_two_rows_of_one_event_for_two_listed_series_show_one_note(viewer_client, revised):
    config, location, series = revised
    other = TimeSeriesFactory(location=location, kind=TimeSeries.Kind.DAILY, primary=False)
    store_readings("daily", other.pk, [reading(1, 1.0)])
    store_readings("daily", other.pk, [reading(1, 2.0)], run_id=PullRunFactory(configuration=config).pk)
    begin, end = dt.datetime(2026, 9, 30, tzinfo=dt.UTC), dt.datetime(2026, 10, 3, tzinfo=dt.UTC)
    note(location, series, begin, end)
    note(location, other, begin, end)
    shown = page_notes(viewer_client, config)
    assert shown.count(TEXT) == 1 and "2 of the revisions listed" in shown
