"""Monitoring-location ids (issue 12, item 3): validated wherever they enter, and never able to break a URL.

A valid id is AGENCY-NUMBER: an agency of 1 to 10 letters or digits, one hyphen, a number of digits. Importers reject
any other id with its line number. A bad id that is stored anyway (written before this rule, or by hand) still gets a
URL from reverse(), so no page that links to it can fail: the dashboard once was a 500 for everyone.
"""

from __future__ import annotations

import re
from io import StringIO
from urllib.parse import unquote

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import resolve, reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from acquisition.models import PullRun
from pulls.models import StationProgress
from stations.importers import RowError, parse_location_text, row_from_api
from stations.models import MonitoringLocation, validate_monitoring_location_id
from tests.factories import (
    MonitoringLocationFactory,
    PullConfigurationFactory,
    PullRunFactory,
    PullRunStationFactory,
)

BAD_IDS = [
    "USGS-01/../x",
    "USGS-0164/6500",
    'USGS-01646500"',
    "USGS-<script>",
    "USGS-01646500-2",
    "USGS-0164650a",
    "USGS 01646500",
    "-01646500",
    "ABCDEFGHIJK-01646500",
    "USGS-",
    "USGS-01646500\x00",
    "USGS\u200b-01646500",
]
GOOD_IDS = ["USGS-01646500", "AZ014-331117110503401", "N-1", "usgs-12345678"]
ID_ROUTES = ["stations:detail", "monitoring:station_data", "monitoring:station_data_csv"]


# --- The rule, on the model (the admin's forms use it) -----------------------------------------------------------


@pytest.mark.parametrize("location_id", BAD_IDS)
def test_the_model_refuses_a_malformed_id(location_id):
    with pytest.raises(ValidationError):
        validate_monitoring_location_id(location_id)


@pytest.mark.parametrize("location_id", GOOD_IDS)
def test_the_model_accepts_agency_hyphen_digits(location_id):
    validate_monitoring_location_id(location_id)


@pytest.mark.django_db
def test_full_clean_refuses_a_slash_in_the_id_agency_or_number():
    location = MonitoringLocation(
        monitoring_location_id="USGS-01/../x", agency_code="US/GS", site_number="01/2", name="X"
    )
    with pytest.raises(ValidationError) as excinfo:
        location.full_clean()
    assert {"monitoring_location_id", "agency_code", "site_number"} <= set(excinfo.value.message_dict)


# --- File importers: the row is rejected with its line number ----------------------------------------------------

RDB_HEAD = "# USGS site service\nagency_cd\tsite_no\tstation_nm\tdec_lat_va\tdec_long_va\n5s\t15s\t50s\t16s\t16s\n"


@pytest.mark.parametrize("agency", ["US/GS", "US GS", "<b>", "ABCDEFGHIJK", 'U"S', "US-GS", "US\x00GS"])
def test_an_rdb_row_with_a_bad_agency_is_rejected_with_its_line_number(agency):
    text = RDB_HEAD + "USGS\t01646500\tPOTOMAC\t38.9\t-77.1\n" + f"{agency}\t01594440\tPATUXENT\t38.9\t-76.7\n"
    parsed = parse_location_text(text)
    assert [row["monitoring_location_id"] for _, row in parsed.rows] == ["USGS-01646500"]
    (rejection,) = parsed.rejected
    assert rejection.line == 5
    assert "agency" in rejection.reason


@pytest.mark.parametrize("location_id", [i for i in BAD_IDS if "\x00" not in i])
def test_a_csv_row_with_a_bad_id_is_rejected_with_its_line_number(location_id):
    text = f'monitoring_location_id,name\nUSGS-01646500,POTOMAC\n"{location_id.replace(chr(34), 2 * chr(34))}",BAD\n'
    parsed = parse_location_text(text)
    assert [row["monitoring_location_id"] for _, row in parsed.rows] == ["USGS-01646500"]
    (rejection,) = parsed.rejected
    assert rejection.line == 3


def test_a_csv_row_with_a_bad_agency_column_is_rejected():
    parsed = parse_location_text("agency,site_no,name\nUS/GS,01646500,POTOMAC\nUSGS,01594440,PATUXENT\n")
    assert [row["monitoring_location_id"] for _, row in parsed.rows] == ["USGS-01594440"]
    assert parsed.rejected[0].line == 2 and "agency" in parsed.rejected[0].reason


@pytest.mark.django_db
def test_the_command_reports_the_bad_rows_and_imports_the_good(tmp_path):
    path = tmp_path / "sites.rdb"
    path.write_text(RDB_HEAD + "USGS\t01646500\tPOTOMAC\t38.9\t-77.1\nUS/../GS\t01594440\tPATUXENT\t38.9\t-76.7\n")
    out = StringIO()
    call_command("import_stations", "--file", str(path), stdout=out)
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in out.getvalue()
    assert "line 5: agency 'US/../GS'" in out.getvalue()
    assert list(MonitoringLocation.objects.values_list("monitoring_location_id", flat=True)) == ["USGS-01646500"]


# --- The API importer --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("location_id", BAD_IDS)
def test_an_api_location_with_a_bad_id_is_refused(location_id):
    with pytest.raises(RowError):
        row_from_api({"monitoring_location_id": location_id, "name": "X"})


@pytest.mark.parametrize(
    "fields", [{"agency_code": "US/GS"}, {"site_number": "01/2"}, {"agency_code": "NWIS"}, {"site_number": "999"}]
)
def test_an_api_location_whose_agency_or_number_disagrees_with_its_id_is_refused(fields):
    with pytest.raises(RowError):
        row_from_api({"monitoring_location_id": "USGS-01646500", "name": "X", **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"latitude": float("inf"), "longitude": -77.0},
        {"latitude": 38.9, "longitude": float("nan")},
        {"latitude": 91.0, "longitude": -77.0},
        {"drainage_area_sqmi": float("inf")},
        {"drainage_area_sqmi": -3.0},
    ],
)
def test_an_api_location_with_a_non_finite_or_impossible_number_is_refused(fields):
    with pytest.raises(RowError):
        row_from_api({"monitoring_location_id": "USGS-01646500", "name": "X", **fields})


# --- URLs: reverse() never raises for a stored id, and the view sees the id it was given ---------------------------


@settings(max_examples=150, deadline=None)
@given(location_id=st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=45))
@pytest.mark.parametrize("route", ID_ROUTES)
def test_any_stored_id_reverses_and_resolves_back_to_itself(route, location_id):
    url = reverse(route, args=[location_id])
    assert url.count("/") == reverse(route, args=["USGS-01646500"]).count("/")
    # The server decodes the path once (WSGI's PATH_INFO) before Django resolves it.
    match = resolve(unquote(url))
    assert match.url_name == route.split(":")[1]
    assert match.kwargs["monitoring_location_id"] == location_id


@pytest.mark.django_db
def test_pages_that_link_a_malformed_stored_id_still_render(operator_client):
    bad = MonitoringLocationFactory(monitoring_location_id="USGS-01/../x", site_number="01", name="SLASHED")
    config = PullConfigurationFactory(name="Slashed")
    config.memberships.create(location=bad)
    now = timezone.now()
    run = PullRunFactory(configuration=config, status=PullRun.Status.FAILED, started_at=now, finished_at=now)
    PullRunStationFactory(run=run, location=bad, status="failed", error="boom")
    StationProgress.objects.update_or_create(
        configuration=config, location=bad, defaults={"consecutive_failures": 3, "last_error": "HTTP 503"}
    )
    session = operator_client.session
    session["basket"] = [bad.monitoring_location_id]
    session.save()

    pages = [
        reverse("monitoring:dashboard"),
        config.get_absolute_url(),
        reverse("pulls:edit", args=[config.pk]),
        run.get_absolute_url(),
        reverse("stations:search") + "?q=SLASHED",
        reverse("stations:basket"),
    ]
    for page in pages:
        response = operator_client.get(page)
        assert response.status_code == 200, page
    body = operator_client.get(config.get_absolute_url()).content.decode()
    assert reverse("stations:detail", args=[bad.monitoring_location_id]) in body
    # The id stays one path segment: a browser does not resolve it away.
    assert not [href for href in re.findall(r'href="([^"]*)"', body) if "/../" in href or "/./" in href]

    # Its own pages answer 404 with a sentence (the id cannot be valid), never a 500.
    for route in ID_ROUTES:
        response = operator_client.get(reverse(route, args=[bad.monitoring_location_id]))
        assert response.status_code == 404, route


def test_an_empty_id_still_reverses_to_a_url():
    for route in ID_ROUTES:
        assert reverse(route, args=[""]).startswith("/")
