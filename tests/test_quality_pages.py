"""The quality pages: a station's (heat map, gaps, flags, a chosen range, bad input, nothing stored) and a
configuration's roll-up (worst first, sortable, CSV, the configuration page's worst-stations box)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.management import call_command

from acquisition.models import DailyValue
from acquisition.smart_append import run_inline
from monitoring.quality_rollup import configuration_rollup
from stations.models import MonitoringLocation, TimeSeries
from tests.acquisition_factories import make_configuration
from tests.factories import MonitoringLocationFactory

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

SITES = ["USGS-01646500", "USGS-01638500", "USGS-01643000"]
START = dt.date(2025, 10, 1)


@pytest.fixture
def pulled(fake_usgs):
    config = make_configuration(fake_usgs, SITES, start_date=START)
    run_inline(config)
    # The second station loses a week of the last 30 days: it must come first in the roll-up.
    DailyValue.objects.filter(
        series__location__monitoring_location_id=SITES[1],
        date__range=(fake_usgs.today - dt.timedelta(days=10), fake_usgs.today - dt.timedelta(days=4)),
    ).delete()
    call_command("rebuild_quality_tallies")  # the change above bypassed the commit that keeps them
    return config, fake_usgs.today


def url(site: str) -> str:
    return f"/monitoring/stations/{site}/quality/"


def test_the_station_page_shows_one_heat_map_cell_per_month_and_the_gap(viewer_client, pulled):
    config, today = pulled

    response = viewer_client.get(url(SITES[1]))

    assert response.status_code == 200
    page = response.content.decode()
    months = (today.year - START.year) * 12 + today.month - START.month + 1
    assert len(re.findall(r'<rect class="qcell"', page)) == months == 14
    gap = response.context["quality"].gaps
    assert [(g.start, g.end) for g in gap] == [(today - dt.timedelta(days=10), today - dt.timedelta(days=4))]
    assert "Screening rules in force" in page and "QUALITY_SPIKE_FACTOR" in page


def test_a_chosen_range_answers_htmx_with_the_body_only(viewer_client, pulled):
    response = viewer_client.get(
        url(SITES[0]), {"start": "2026-01-01", "end": "2026-03-31"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert b"<html" not in response.content and b'id="quality-body"' in response.content
    assert response.content.count(b'class="qcell"') == 3
    assert response.context["quality"].expected == 31 + 28 + 31


def test_a_range_with_no_data_says_so(viewer_client, pulled):
    response = viewer_client.get(url(SITES[0]), {"start": "1990-01-01", "end": "1990-12-31"})

    assert response.status_code == 200 and b'id="quality-empty"' in response.content


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": "2026-05-01", "end": "2026-01-01"}, 400),
        ({"start": "not-a-date"}, 400),
        ({"kind": "hourly"}, 400),
        ({"start": "2030-01-01"}, 400),  # after the record ends, with no end: inverted too
    ],
)
def test_bad_input_is_a_clear_400(viewer_client, pulled, params, status):
    response = viewer_client.get(url(SITES[0]), params)
    assert response.status_code == status and response.content


def test_an_unknown_station_is_a_404(viewer_client, db):
    assert viewer_client.get(url("USGS-99999999")).status_code == 404
    assert viewer_client.get("/monitoring/configurations/999999/quality/").status_code == 404


def test_a_station_with_nothing_stored_says_what_to_pull(viewer_client, db):
    location = MonitoringLocationFactory()

    response = viewer_client.get(url(location.monitoring_location_id))

    assert response.status_code == 200
    assert b'id="quality-nothing"' in response.content and b"configuration" in response.content


def test_the_rollup_puts_the_worst_station_first_and_sorts(viewer_client, pulled):
    config, today = pulled
    rows = configuration_rollup(config, today)
    assert [r.location.monitoring_location_id for r in rows][0] == SITES[1]
    assert rows[0].longest_gap == dt.timedelta(days=7)
    for row in rows:
        present = DailyValue.objects.filter(
            series__location__monitoring_location_id=row.location.monitoring_location_id,
            date__gt=today - dt.timedelta(days=30),
            value__isnull=False,
        ).count()
        assert row.last_30 == pytest.approx(100 * present / 30)
        assert row.newest == today

    page = viewer_client.get(f"/monitoring/configurations/{config.pk}/quality/")
    assert page.status_code == 200  # (roll-up at the real date: the fake's data ends 2026-11-20)
    sorted_page = viewer_client.get(
        f"/monitoring/configurations/{config.pk}/quality/",
        {"sort": "station", "dir": "desc"},
        headers={"HX-Request": "true"},
    )
    assert b"<html" not in sorted_page.content
    stations = re.findall(r'data-station="([^"]+)"', sorted_page.content.decode())
    assert stations == sorted(SITES, reverse=True)


def test_the_rollup_csv_has_one_row_per_station(viewer_client, pulled):
    config, _ = pulled

    response = viewer_client.get(f"/monitoring/configurations/{config.pk}/quality.csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["monitoring_location_id"] for r in rows) == sorted(SITES)
    assert all(r["completeness_record_pct"] for r in rows)


def test_the_configuration_page_loads_its_worst_stations(viewer_client, pulled):
    config, _ = pulled

    detail = viewer_client.get(config.get_absolute_url()).content.decode()
    box = viewer_client.get(f"/monitoring/configurations/{config.pk}/quality/worst/")

    assert f"/monitoring/configurations/{config.pk}/quality/worst/" in detail
    assert box.status_code == 200 and b'id="quality-worst"' in box.content and b"<html" not in box.content
    assert MonitoringLocation.objects.filter(series__kind=TimeSeries.Kind.DAILY).count() == 3
