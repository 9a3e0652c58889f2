"""import_stations --file: USGS RDB (basic / expanded), CSV, GAGES-II TSV; an upsert with honest counts."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from stations.models import MonitoringLocation

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
BASIC_206 = FIXTURES / "usgs" / "legacy" / "site_basic_huc0505_206sites.rdb"
EXPANDED_8 = FIXTURES / "usgs" / "legacy" / "site_expanded_8sites.rdb"
GAGES2 = FIXTURES / "stations" / "gages2_9322.tsv"

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_stations", *args, stdout=out)
    return out.getvalue()


@pytest.mark.skipif(not BASIC_206.exists(), reason="shared fixtures not present")
def test_it_creates_206_locations_and_a_second_import_creates_none():
    first = run("--file", str(BASIC_206))
    assert "206 created, 0 updated, 0 unchanged, 0 rejected" in first
    assert MonitoringLocation.objects.count() == 206
    location = MonitoringLocation.objects.get(monitoring_location_id="USGS-03161500")
    assert location.site_number == "03161500"  # leading zero kept
    assert location.name == "SOUTH FORK NEW RIVER NR CRUMPLER, NC"
    assert location.huc == "05050001"
    assert location.latitude == pytest.approx(36.53484707)

    second = run("--file", str(BASIC_206))
    assert "0 created, 0 updated, 206 unchanged, 0 rejected" in second
    assert MonitoringLocation.objects.count() == 206


@pytest.mark.skipif(not EXPANDED_8.exists(), reason="shared fixtures not present")
def test_the_expanded_rdb_fills_drainage_area_state_huc_and_time_zone():
    output = run("--file", str(EXPANDED_8))
    assert "8 created" in output
    merced = MonitoringLocation.objects.get(monitoring_location_id="USGS-11264500")
    assert merced.drainage_area_sqmi == 181
    assert (merced.state_code, merced.state_fips, merced.county_code) == ("CA", "06", "06043")
    assert merced.huc == "18040008"
    assert (merced.tz_abbreviation, merced.uses_dst) == ("PST", True)


def test_a_basic_reimport_updates_the_name_but_keeps_fields_it_does_not_have(tmp_path):
    rdb = (
        "# comment\nagency_cd\tsite_no\tstation_nm\tsite_tp_cd\tdec_lat_va\tdec_long_va\thuc_cd\n"
        "5s\t15s\t50s\t7s\t16s\t16s\t16s\n"
    )
    expanded = tmp_path / "expanded.csv"
    expanded.write_text(
        "site_no,name,state,huc,drainage_area_sqmi,lat,lon\n01646500,OLD NAME,MD,02070008,11560,38.9,-77.1\n"
    )
    run("--file", str(expanded))
    basic = tmp_path / "basic.rdb"
    basic.write_text(
        rdb + "USGS\t01646500\tPOTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA\tST\t38.9497\t-77.1276\t02070008\n"
    )

    output = run("--file", str(basic))

    assert "0 created, 1 updated, 0 unchanged" in output
    location = MonitoringLocation.objects.get(monitoring_location_id="USGS-01646500")
    assert location.name == "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA"
    assert location.drainage_area_sqmi == 11560  # not in the basic file: untouched
    assert location.state_code == "MD"
    assert location.latitude == pytest.approx(38.9497)


def test_bad_rows_are_reported_with_their_line_numbers_and_skipped(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(
        "monitoring_location_id,name,state,huc,drainage_area_sqmi,lat,lon\n"
        "USGS-01646500,POTOMAC RIVER NEAR WASH,MD,02070008,11560,38.9,-77.1\n"
        "USGS-123,TOO SHORT,MD,02070008,1,38.9,-77.1\n"
        "USGS-01491000,CHOPTANK RIVER,ZZ,02060005,113,38.99,-75.78\n"
        "USGS-01645000,SENECA CREEK,MD,0207,lots,39.1,-77.3\n"
        "USGS-01594440,PATUXENT RIVER,MD,02060006,348,139.0,-76.69\n"
        "USGS-01646500,POTOMAC AGAIN,MD,02070008,11560,38.9,-77.1\n"
        "USGS-01589000,PATAPSCO,MD\n"
        "USGS-01589300,GWYNNS FALLS,MD,02060003,32.5,39.3,-76.7\n"
    )

    output = run("--file", str(path))

    assert "2 created, 0 updated, 0 unchanged, 6 rejected" in output
    assert "line 3: site number '123' is not 8 to 15 digits" in output
    assert "line 4: state 'ZZ' is not a US state or territory" in output
    assert "line 5: drainage area 'lots' is not a number" in output
    assert "line 6: latitude '139.0' is out of range" in output
    assert "line 7 (USGS-01646500): repeats line 2" in output
    assert "line 8: has 3 fields where the header has 7" in output
    assert set(MonitoringLocation.objects.values_list("monitoring_location_id", flat=True)) == {
        "USGS-01646500",
        "USGS-01589300",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,state\nPOTOMAC,MD\n", "needs a monitoring_location_id or site_no column"),
        ("# only comments\n#\n", "has no header row"),
        ("agency_cd\tsite_no\tstation_nm\nUSGS\t01646500\tPOTOMAC\n", "should be the RDB format row"),
        ("STATION\tNAME\nx\ty\n", "neither site_no"),
        ("site_no,lat\n01646500,38.9\n", "missing the column(s) name"),
    ],
)
def test_a_malformed_file_fails_before_writing_anything(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)

    with pytest.raises(CommandError) as excinfo:
        run("--file", str(path))

    assert message in str(excinfo.value)
    assert "Nothing was imported" in str(excinfo.value)
    assert MonitoringLocation.objects.count() == 0


def test_a_file_that_is_not_utf8_text_is_refused(tmp_path):
    path = tmp_path / "binary.rdb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(CommandError, match="not UTF-8"):
        run("--file", str(path))
    assert MonitoringLocation.objects.count() == 0


def test_it_needs_a_source():
    with pytest.raises(CommandError, match="Say what to import"):
        run()


@pytest.mark.skipif(not GAGES2.exists(), reason="shared fixtures not present")
def test_it_imports_the_gages2_table_with_progress_and_reimports_as_unchanged():
    output = run("--file", str(GAGES2), "--progress-every", "4000")
    assert "9322 created, 0 updated, 0 unchanged, 0 rejected" in output
    assert "… 4000 / 9322" in output and "… 8000 / 9322" in output
    allagash = MonitoringLocation.objects.get(monitoring_location_id="USGS-01011000")
    assert allagash.state_code == "ME"
    assert allagash.huc == "01"
    assert allagash.drainage_area_sqmi == pytest.approx(3186.844 / 2.589988, rel=1e-4)
    # "10U" (upper Missouri) is kept as its HUC region digits.
    assert not MonitoringLocation.objects.exclude(huc__regex=r"^\d\d$").exists()

    again = run("--file", str(GAGES2), "--progress-every", "5000")
    assert "0 created, 0 updated, 9322 unchanged" in again
    assert MonitoringLocation.objects.count() == 9322
