"""The parsers against every recorded USGS response in ../shared/fixtures/usgs/ogc, plus the edge cases."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from acquisition.usgs import READING_PROPERTIES
from acquisition.usgs.parsers import (
    Reading,
    parse_continuous_page,
    parse_daily_page,
    parse_error,
    parse_monitoring_locations,
    parse_readings_text,
    parse_series_metadata,
)

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "usgs" / "ogc"
ABSENT = "../shared/fixtures/usgs/ogc is absent: the recorded USGS responses live beside the repo, not in it"


def _fixture_names() -> list:
    if not FIXTURES.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT))]
    return sorted(p.name for p in FIXTURES.glob("*.json"))


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


def assert_readings(readings: list[Reading], kind: str, expected_count: int) -> None:
    assert len(readings) == expected_count
    for r in readings:
        assert isinstance(r.time_series_id, str)
        if kind == "daily":
            assert type(r.time) is date
        else:
            assert isinstance(r.time, datetime)
            assert r.time.tzinfo is UTC
        assert r.value is None or isinstance(r.value, float)
        assert isinstance(r.qualifiers, list)
        assert all(isinstance(q, str) for q in r.qualifiers)
        assert r.approval_status in (None, "Provisional", "Approved")
        assert r.last_modified is None or r.last_modified.tzinfo is UTC
        assert_texts_read_back(r, kind)


def assert_texts_read_back(r: Reading, kind: str) -> None:
    """The text a Reading carries for storage (None: formatted from the typed field) means exactly that field."""
    if r.time_text is not None:
        if kind == "daily":
            assert r.time_text == r.time.isoformat()
        else:
            assert datetime.fromisoformat(r.time_text) == r.time and r.time_text.endswith("+00:00")
    if r.value is None:
        assert r.value_text is None
    elif r.value_text is not None:
        assert float(r.value_text) == r.value or (math.isnan(r.value) and r.value_text == "nan")
    if r.last_modified is None:
        assert r.last_modified_text is None
    elif r.last_modified_text is not None:
        assert datetime.fromisoformat(r.last_modified_text) == r.last_modified


def assert_locations(rows: list[dict], expected_count: int) -> None:
    assert len(rows) == expected_count
    for row in rows:
        assert row["monitoring_location_id"]
        assert row["site_number"] and isinstance(row["site_number"], str)
        assert row["latitude"] is None or -90 <= row["latitude"] <= 90
        assert row["longitude"] is None or -180 <= row["longitude"] <= 180
        assert row["drainage_area_sqmi"] is None or isinstance(row["drainage_area_sqmi"], float)


def check_v1_daily(obj: dict) -> None:
    readings = parse_daily_page(obj)
    assert_readings(readings, "daily", 3)
    assert [r.value for r in readings] == [3800.0, 3330.0, 2840.0]
    assert [r.time for r in readings] == [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30)]
    assert readings[0].last_modified == datetime(2026, 9, 29, 7, 8, 17, 284720, tzinfo=UTC)
    assert {r.approval_status for r in readings} == {"Provisional"}


def check_v0_daily_page(obj: dict) -> None:
    readings = parse_daily_page(obj)
    assert_readings(readings, "daily", 10)
    times = [r.time for r in readings]
    assert times != sorted(times)  # recorded in feature-UUID order; the parser keeps it, callers sort
    assert {r.approval_status for r in readings} == {"Approved"}


def check_v0_daily_unfiltered(obj: dict) -> None:
    readings = parse_daily_page(obj)
    assert_readings(readings, "daily", 2)
    assert None in {r.approval_status for r in readings}


def check_v1_continuous(obj: dict) -> None:
    readings = parse_continuous_page(obj)
    assert_readings(readings, "continuous", 4)
    assert [r.time.minute for r in readings] == [0, 5, 10, 15]
    assert readings[0].time == datetime(2026, 10, 1, tzinfo=UTC)
    assert readings[0].value == 2700.0


def check_v1_continuous_slim(obj: dict) -> None:
    # Asked for without time_series_id: the caller's series id fills it in.
    readings = parse_continuous_page(obj, default_series_id="66a4e3fb8abe42fcb0942b5c0fe98f68")
    assert_readings(readings, "continuous", 3)
    assert {r.time_series_id for r in readings} == {"66a4e3fb8abe42fcb0942b5c0fe98f68"}
    assert {r.last_modified for r in readings} == {None}


def check_v0_continuous(obj: dict) -> None:
    readings = parse_continuous_page(obj)
    assert_readings(readings, "continuous", 11)
    assert readings[0].time == datetime(2026, 3, 9, 7, 5, tzinfo=UTC)
    assert readings[0].value == 1.31


def check_v1_location(obj: dict) -> None:
    rows = parse_monitoring_locations(obj)
    assert_locations(rows, 1)
    row = rows[0]
    assert row["monitoring_location_id"] == "USGS-01646500"
    assert row["name"] == "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA"
    assert (row["agency_code"], row["site_number"]) == ("USGS", "01646500")
    assert (row["state_fips"], row["state_postal"], row["state_name"]) == ("24", "MD", "Maryland")
    assert row["huc"] == "020700081005"
    assert row["drainage_area_sqmi"] == 11560.0
    assert (row["tz_abbreviation"], row["uses_dst"], row["site_type"]) == ("EST", True, "ST")
    assert row["latitude"] == pytest.approx(38.9498, abs=1e-3)
    assert row["longitude"] == pytest.approx(-77.1276, abs=1e-3)


def check_v0_location_item(obj: dict) -> None:
    rows = parse_monitoring_locations(obj)  # a single Feature, not a collection
    assert_locations(rows, 1)
    assert rows[0]["monitoring_location_id"] == "USGS-02238500"
    assert rows[0]["drainage_area_sqmi"] == 879.0
    assert rows[0]["county_name"] == "Marion County"


def check_v0_locations(obj: dict) -> None:
    rows = parse_monitoring_locations(obj)
    assert_locations(rows, 2)
    assert rows[0]["agency_code"] == "AL012"  # not every agency is USGS
    assert rows[0]["latitude"] is None  # geometry null


def check_error(expected_code: str, expected_start: str):
    def check(obj: dict, text: str) -> None:
        status = 403 if expected_code.startswith("API_KEY") else 400
        code, description = parse_error(status, text)
        assert code == expected_code
        assert description.startswith(expected_start)

    return check


def check_all_collections(obj: dict) -> None:
    assert_readings(parse_daily_page(obj["daily"]), "daily", 2)
    assert_readings(parse_daily_page(obj["latest-daily"]), "daily", 2)
    assert_readings(parse_continuous_page(obj["continuous"]), "continuous", 2)
    assert_readings(parse_continuous_page(obj["latest-continuous"]), "continuous", 2)
    assert_locations(parse_monitoring_locations(obj["monitoring-locations"]), 2)
    series = parse_series_metadata(obj["time-series-metadata"])
    assert [s.time_series_id for s in series] == [
        "04585e9fb4ec467aafa86c7c0b3f1439",
        "0aa968f7d6494e2eb214d1829754532d",
    ]
    assert all(s.primary for s in series)
    assert series[1].computation_period_identifier == "Daily"
    # begin_utc wins over the naive local begin; naive last_modified is read as UTC.
    assert series[1].begin == datetime(1990, 10, 1, 5, tzinfo=UTC)
    assert series[0].last_modified.tzinfo is UTC
    assert len(parse_series_metadata(obj["combined-metadata"])) == 2


def check_probe(obj: dict) -> None:
    assert_locations(parse_monitoring_locations(obj["new_locations"]), 1)
    daily = parse_daily_page(obj["new_daily"]["first"])
    assert_readings(daily, "daily", 2)
    assert daily[1].qualifiers == ["ESTIMATED"]
    assert daily[0].value == 8.0
    assert_readings(parse_continuous_page(obj["new_continuous"]["first"]), "continuous", 2)
    latest = parse_continuous_page(obj["new_latest"])
    assert_readings(latest, "continuous", obj["new_latest"]["numberReturned"])
    assert len({r.time_series_id for r in latest}) == len(latest)  # one row per series


def check_queryables(obj: dict) -> None:
    # Not a response: the property names our client asks for must all be recorded queryables.
    for collection in ("daily", "continuous"):
        assert set(READING_PROPERTIES.split(",")) <= set(obj[collection])


CHECKS = {
    "v1_usgs_daily_items.json": check_v1_daily,
    "v0_daily_USGS-02238500_page1_cursor_next.json": check_v0_daily_page,
    "v0_daily_unfiltered_limit2_cursor.json": check_v0_daily_unfiltered,
    "v1_usgs_continuous_items.json": check_v1_continuous,
    "v1_usgs_continuous_slim_page1.json": check_v1_continuous_slim,
    "v0_continuous_USGS-01593450_one_page.json": check_v0_continuous,
    "v1_usgs_monitoring_location.json": check_v1_location,
    "v0_monitoring_location_item_USGS-02238500.json": check_v0_location_item,
    "v0_monitoring_locations_limit2_cursor.json": check_v0_locations,
    "v1_usgs_error_time_envelope.json": check_error("InvalidQuery", "The requested time envelope is too large"),
    "v1_usgs_error_unknown_property.json": check_error("InvalidQuery", "At least one requested property"),
    "v1_usgs_error_invalid_key.json": check_error("API_KEY_INVALID", "An invalid api_key was supplied"),
    "v0_all_collections_trimmed.json": check_all_collections,
    "probe_2026-10-01_mixed.json": check_probe,
    "queryables.json": check_queryables,
}


@pytest.mark.parametrize("name", _fixture_names())
def test_every_recorded_response_parses_with_the_right_parser(name: str) -> None:
    assert name in CHECKS, f"new recording {name}: add a check for it to CHECKS"
    check = CHECKS[name]
    if name.startswith("v1_usgs_error_"):
        text = (FIXTURES / name).read_text()
        check(json.loads(text), text)
    else:
        check(load(name))


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=ABSENT)
def test_the_fast_text_path_agrees_with_the_dict_path_on_recordings() -> None:
    for name, kind in (
        ("v1_usgs_daily_items.json", "daily"),
        ("v0_continuous_USGS-01593450_one_page.json", "continuous"),
    ):
        raw = (FIXTURES / name).read_bytes()
        by_dict = parse_daily_page(load(name)) if kind == "daily" else parse_continuous_page(load(name))
        assert parse_readings_text(raw, kind) == by_dict
        assert parse_readings_text(raw.decode(), kind) == by_dict


# ---------------------------------------------------------------------------------------------------------------
# Edge cases, on hand-written pages
# ---------------------------------------------------------------------------------------------------------------


def feature(**props) -> dict:
    base = {"time_series_id": "a" * 32, "time": "2026-09-28", "value": "12.4", "approval_status": "Provisional",
            "qualifier": None, "last_modified": "2026-09-29T07:08:17.284720+00:00"}  # fmt: skip
    return {"type": "Feature", "properties": {**base, **props}, "id": "x", "geometry": None}


def page(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features), "numberReturned": len(features)}


def test_a_null_value_is_missing_not_zero() -> None:
    (reading,) = parse_daily_page(page(feature(value=None)))
    assert reading.value is None


def test_a_numeric_or_blank_value_is_handled_defensively() -> None:
    readings = parse_daily_page(
        page(feature(value=12), feature(time="2026-09-29", value=""), feature(time="2026-09-30"))
    )
    assert [r.value for r in readings] == [12.0, None, 12.4]


def test_qualifier_null_string_and_list_all_become_lists() -> None:
    readings = parse_daily_page(
        page(
            feature(qualifier=None),
            feature(time="2026-09-29", qualifier="ESTIMATED"),
            feature(time="2026-09-30", qualifier=["ICE", "ESTIMATED"]),
            feature(time="2026-10-01", qualifier="ICE,EQUIP"),
        )
    )
    assert [r.qualifiers for r in readings] == [[], ["ESTIMATED"], ["ICE", "ESTIMATED"], ["ICE", "EQUIP"]]


def test_a_null_approval_status_stays_none() -> None:
    (reading,) = parse_daily_page(page(feature(approval_status=None)))
    assert reading.approval_status is None


def test_rows_out_of_time_order_are_kept_in_page_order() -> None:
    readings = parse_daily_page(
        page(feature(time="2026-09-30"), feature(time="2026-09-01"), feature(time="2026-09-15"))
    )
    assert [r.time.day for r in readings] == [30, 1, 15]


def test_two_series_in_one_response_are_both_kept() -> None:
    readings = parse_daily_page(page(feature(time_series_id="a" * 32), feature(time_series_id="b" * 32)))
    assert [r.time_series_id for r in readings] == ["a" * 32, "b" * 32]
    assert readings[0].time == readings[1].time


def test_continuous_instants_with_any_offset_become_utc() -> None:
    readings = parse_continuous_page(
        page(
            feature(time="2026-03-09T02:05:00-05:00"),
            feature(time="2026-03-09T07:10:00Z"),
            feature(time="2026-03-09T07:15:00+00:00", last_modified="2026-03-09T03:20:00-04:00"),
        )
    )
    assert [r.time for r in readings] == [
        datetime(2026, 3, 9, 7, 5, tzinfo=UTC),
        datetime(2026, 3, 9, 7, 10, tzinfo=UTC),
        datetime(2026, 3, 9, 7, 15, tzinfo=UTC),
    ]
    assert all(r.time.tzinfo is UTC for r in readings)
    assert readings[2].last_modified == datetime(2026, 3, 9, 7, 20, tzinfo=UTC)


def test_a_daily_time_written_as_an_instant_keeps_its_calendar_date() -> None:
    (reading,) = parse_daily_page(page(feature(time="2026-09-28T00:00:00+00:00")))
    assert reading.time == date(2026, 9, 28)


def test_rows_without_a_usable_time_are_skipped() -> None:
    readings = parse_daily_page(page(feature(time=None), feature(time="not a date"), feature()))
    assert len(readings) == 1


def test_the_response_text_is_kept_for_storage_only_where_it_reads_back_as_parsed() -> None:
    readings = parse_daily_page(
        page(
            feature(),  # the service's own shapes: all three texts kept
            feature(time="2026-W40-1", value="1e3", last_modified="2026-09-29T07:08:17Z"),
            feature(time="20260930", value=" 12.5 ", last_modified="2026-09-29T03:08:17-04:00"),
            feature(time="2026-10-01", value="1_000", last_modified="2026-09-29T07:08:17"),
            feature(time="2026-10-02", value=7, last_modified=None),
            feature(time="2026-10-03", value="nan", last_modified="2026-09-29T07:08:17.284720+00:00"),
        )
    )
    first, week, basic, underscore, number, nan = readings
    assert (first.time_text, first.value_text, first.last_modified_text) == (
        "2026-09-28",
        "12.4",
        "2026-09-29T07:08:17.284720+00:00",
    )
    # Forms Python reads but PostgreSQL would read differently (or refuse) are written from the typed field instead.
    assert (week.time, week.time_text, week.value, week.value_text) == (date(2026, 9, 28), None, 1000.0, "1000.0")
    assert week.last_modified_text == "2026-09-29T07:08:17+00:00"
    assert (basic.time_text, basic.value_text) == (None, "12.5")
    assert basic.last_modified == datetime(2026, 9, 29, 7, 8, 17, tzinfo=UTC)
    assert basic.last_modified_text == "2026-09-29T07:08:17+00:00"
    assert (underscore.value, underscore.value_text, underscore.last_modified_text) == (
        1000.0,
        "1000.0",
        "2026-09-29T07:08:17+00:00",
    )
    assert (number.value, number.value_text) == (7.0, "7.0")
    assert (number.last_modified, number.last_modified_text) == (None, None)
    # Not a number to store (issue 12, item 4): missing, as test_malicious_values pins for every non-finite form.
    assert (nan.value, nan.value_text) == (None, None)
    assert nan.last_modified == datetime(2026, 9, 29, 7, 8, 17, 284720, tzinfo=UTC)
    for r in readings:
        assert_texts_read_back(r, "daily")
    instants = parse_continuous_page(
        page(
            feature(time="2026-03-09T07:05:00+00:00"),
            feature(time="2026-03-09T07:10:00Z"),
            feature(time="2026-03-09T02:15:00-05:00"),
        )
    )
    assert [r.time_text for r in instants] == ["2026-03-09T07:05:00+00:00", None, None]
    for r in instants:
        assert_texts_read_back(r, "continuous")


def test_the_text_path_accepts_bytes_and_str() -> None:
    body = orjson.dumps(page(feature(), feature(time="2026-09-29", value=None)))
    assert parse_readings_text(body, "daily") == parse_readings_text(body.decode(), "daily")
    assert parse_readings_text(body, "daily") == parse_daily_page(orjson.loads(body))
    with pytest.raises(ValueError):
        parse_readings_text(body, "hourly")  # type: ignore[arg-type]


def test_parse_error_reads_both_json_shapes() -> None:
    assert parse_error(400, b'{"code":"InvalidParameterValue","description":"Limit of 50000 exceeded"}') == (
        "InvalidParameterValue",
        "Limit of 50000 exceeded",
    )
    assert parse_error(429, '{"error":{"code":"OVER_RATE_LIMIT","message":"You have exceeded your rate limit."}}') == (
        "OVER_RATE_LIMIT",
        "You have exceeded your rate limit.",
    )


def test_parse_error_survives_html_and_empty_bodies() -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    code, description = parse_error(502, html)
    assert code == "HTTP_502"
    assert "502 Bad Gateway" in description and "<" not in description
    assert parse_error(503, "") == ("HTTP_503", "Service Unavailable")
    assert parse_error(500, b"{not json") == ("HTTP_500", "{not json")


def test_series_metadata_primary_flag_and_naive_times() -> None:
    meta = page(
        {"type": "Feature", "id": "c" * 32, "properties": {"primary": "Primary", "begin": "2007-10-01T00:00:00.000001",
         "end": None, "computation_period_identifier": "Points", "last_modified": "2026-06-05T17:16:13.005607"}},
        {"type": "Feature", "id": "d" * 32, "properties": {"primary": None}},
    )  # fmt: skip
    first, second = parse_series_metadata(meta)
    assert first.primary and not second.primary
    assert first.begin == datetime(2007, 10, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert first.end is None and second.begin is None
