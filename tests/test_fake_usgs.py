"""The fake USGS API over real HTTP: paging, limits, the recorded error bodies, duplicate series, faults."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.fakeusgs import FakeStation, FakeUSGS

REPO = Path(__file__).resolve().parents[1]
RECORDINGS = REPO / ".." / "shared" / "fixtures" / "usgs" / "ogc"
POTOMAC = "USGS-01646500"
DUPLICATE = "USGS-02196000"


@pytest.fixture
def fake():
    with FakeUSGS() as server:
        yield server


def get(fake: FakeUSGS, collection: str, **params) -> requests.Response:
    return requests.get(f"{fake.base_url}/collections/{collection}/items", params=params, timeout=30)


def next_href(body: dict) -> str | None:
    return next((link["href"] for link in body["links"] if link["rel"] == "next"), None)


def walk(fake: FakeUSGS, collection: str, **params) -> list[dict]:
    """Every page of a query, following next links verbatim."""
    pages = [get(fake, collection, **params).json()]
    while (href := next_href(pages[-1])) is not None:
        pages.append(requests.get(href, timeout=30).json())
    return pages


def recorded(name: str, fallback: dict) -> dict:
    """The recorded body, or skip where ../shared is absent (the fake's own body is then not checked)."""
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the recorded USGS responses live beside the repo, in ../shared")
    return json.loads(path.read_text())


# -- paging ----------------------------------------------------------------------------------------------------


def test_it_pages_daily_values_with_an_opaque_cursor_until_there_is_no_next_link(fake):
    pages = walk(fake, "daily", monitoring_location_id=POTOMAC, time="2026-09-01/2026-09-30", limit=7)
    assert [p["numberReturned"] for p in pages] == [7, 7, 7, 7, 2]
    assert all("numberMatched" not in p for p in pages)
    assert next_href(pages[-1]) is None
    features = [f for p in pages for f in p["features"]]
    times = [f["properties"]["time"] for f in features]
    expected = fake.expected_daily(POTOMAC, date(2026, 9, 1), date(2026, 9, 30))
    assert sorted(times) == [row["time"].isoformat() for row in expected]
    assert times != sorted(times)  # ordered by feature UUID, like the real daily collection
    ids = [f["id"] for f in features]
    assert ids == sorted(ids)


def test_a_cursor_is_base64_of_the_last_key_the_server_understands(fake):
    body = get(fake, "continuous", monitoring_location_id=POTOMAC, time="2026-10-01T00:00:00Z/2026-10-01T00:30:00Z",
               limit=4).json()  # fmt: skip
    cursor = parse_qs(urlsplit(next_href(body)).query)["cursor"][0]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert decoded == f"{fake.primary_series_id(POTOMAC, 'continuous')}|2026-10-01 00:15:00+00:00"
    assert [f["properties"]["time"][11:16] for f in body["features"]] == ["00:00", "00:05", "00:10", "00:15"]


def test_next_links_drop_the_api_key_and_f_json_but_keep_the_query(fake):
    body = get(fake, "daily", monitoring_location_id=POTOMAC, time="2026-09-01/2026-09-30", limit=5, f="json",
               api_key="SECRET", skipGeometry="true").json()  # fmt: skip
    href = next_href(body)
    query = parse_qs(urlsplit(href).query)
    assert href.startswith(fake.base_url + "/collections/daily/items?cursor=")
    assert "api_key" not in query and "SECRET" not in href
    assert "f" not in query
    assert query["monitoring_location_id"] == [POTOMAC]
    assert query["limit"] == ["5"] and query["skipGeometry"] == ["true"]


def test_v0_answers_like_v1_with_next_links_pointing_to_v1(fake):
    url = fake.base_url.replace("/v1", "/v0") + "/collections/daily/items"
    body = requests.get(
        url, params={"monitoring_location_id": POTOMAC, "time": "2026-09-01/2026-09-30"}, timeout=30
    ).json()
    assert body["numberReturned"] == 10
    assert "/ogcapi/v1/collections/daily/items?" in next_href(body)


def test_the_default_limit_is_ten(fake):
    body = get(fake, "daily", monitoring_location_id=POTOMAC, time="2026-01-01/2026-03-01").json()
    assert body["numberReturned"] == 10
    assert next_href(body) is not None


def test_an_empty_result_has_no_features_and_no_next_link(fake):
    body = get(fake, "daily", monitoring_location_id="USGS-00000000").json()
    assert body["features"] == [] and body["numberReturned"] == 0
    assert next_href(body) is None


def test_a_limit_above_50000_is_refused(fake):
    response = get(fake, "daily", monitoring_location_id=POTOMAC, limit=50001)
    assert response.status_code == 400
    assert response.json() == {"code": "InvalidParameterValue", "description": "Limit of 50000 exceeded"}


def test_continuous_over_1100_days_is_refused_with_the_recorded_body(fake):
    response = get(fake, "continuous", monitoring_location_id=POTOMAC, time="2023-01-01T00:00:00Z/2026-01-06T00:00:00Z")
    assert response.status_code == 400
    assert response.json() == recorded("v1_usgs_error_time_envelope.json", {"code": "InvalidQuery"})
    exactly = get(fake, "continuous", monitoring_location_id=POTOMAC, time="2023-01-01T00:00:00Z/2026-01-05T00:00:00Z",
                  limit=1)  # fmt: skip
    assert exactly.status_code == 200  # 1100 days is still allowed


def test_continuous_without_time_returns_only_the_most_recent_year(fake):
    body = get(fake, "continuous", monitoring_location_id="USGS-01638500", limit=1).json()
    first = datetime.fromisoformat(body["features"][0]["properties"]["time"])
    assert first == datetime.combine(fake.today + timedelta(days=1), datetime.min.time(), UTC) - timedelta(days=365)


def test_an_unknown_property_is_refused_with_the_recorded_body(fake):
    response = get(fake, "daily", monitoring_location_id=POTOMAC, properties="time,value,nonsense")
    assert response.status_code == 400
    assert response.json() == recorded("v1_usgs_error_unknown_property.json", {"code": "InvalidQuery"})


def test_properties_and_skip_geometry_shape_the_features(fake):
    body = get(fake, "daily", monitoring_location_id=POTOMAC, time="2026-09-28", properties="time,value,id",
               skipGeometry="true").json()  # fmt: skip
    (feature,) = body["features"]
    assert set(feature["properties"]) == {"time", "value", "id"}
    assert feature["properties"]["id"] == feature["id"]
    assert feature["geometry"] is None
    full = get(fake, "daily", monitoring_location_id=POTOMAC, time="2026-09-28").json()["features"][0]
    assert full["geometry"] == {"type": "Point", "coordinates": [-77.1276, 38.9497]}
    assert isinstance(full["properties"]["value"], str)


def test_time_accepts_instants_open_ends_and_durations(fake):
    def days(**params) -> list[str]:
        pages = walk(fake, "daily", monitoring_location_id=POTOMAC, limit=1000, **params)
        return sorted(f["properties"]["time"] for p in pages for f in p["features"])

    assert days(time="2026-09-28") == ["2026-09-28"]
    assert days(time="2026-11-18/..") == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert days(time="P3D") == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert days(time="../1990-01-02") == ["1990-01-01", "1990-01-02"]
    assert days(time="2026-09-28T00:00:00Z/2026-09-29T12:00:00Z") == ["2026-09-28", "2026-09-29"]


# -- data semantics ----------------------------------------------------------------------------------------------


def test_a_site_with_two_daily_series_returns_both_unless_filtered(fake):
    pages = walk(fake, "daily", monitoring_location_id=DUPLICATE, time="2026-01-01/2026-01-31", limit=100)
    by_series: dict[str, list] = {}
    for f in (f for p in pages for f in p["features"]):
        by_series.setdefault(f["properties"]["time_series_id"], []).append(f["properties"])
    assert len(by_series) == 2
    primary = fake.primary_series_id(DUPLICATE)
    other = next(s for s in by_series if s != primary)
    assert len(by_series[primary]) == len(by_series[other]) == 31
    assert [r["value"] for r in by_series[primary]] != [r["value"] for r in by_series[other]]
    meta = get(fake, "time-series-metadata", monitoring_location_id=DUPLICATE, statistic_id="00003").json()
    assert {f["id"]: f["properties"]["primary"] for f in meta["features"]} == {primary: "Primary", other: None}
    filtered = walk(fake, "daily", time_series_id=primary, time="2026-01-01/2026-01-31", limit=100)
    assert {f["properties"]["time_series_id"] for p in filtered for f in p["features"]} == {primary}


def test_values_are_strings_some_null_with_qualifiers_and_approval_by_age(fake):
    rows = fake.expected_daily(POTOMAC, date(2025, 1, 1), fake.today)
    assert any(r["value"] is None for r in rows)
    assert any(r["qualifiers"] == ["ESTIMATED"] for r in rows)
    assert any(r["qualifiers"] == ["ICE", "ESTIMATED"] for r in rows)
    cutoff = fake.today - timedelta(days=120)
    assert {r["approval_status"] for r in rows if r["time"] < cutoff} == {"Approved"}
    assert {r["approval_status"] for r in rows if r["time"] >= cutoff} == {"Provisional"}
    assert all(len(r["time_series_id"]) == 32 for r in rows)


def test_a_revision_changes_value_last_modified_and_feature_id(fake):
    day, stamp = date(2026, 11, 1), datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    before = get(fake, "daily", monitoring_location_id=POTOMAC, time=day.isoformat()).json()["features"][0]
    fake.revise(POTOMAC, day, 4242.0, last_modified=stamp)
    after = get(fake, "daily", monitoring_location_id=POTOMAC, time=day.isoformat()).json()["features"][0]
    assert after["properties"]["value"] == "4240"
    assert after["properties"]["last_modified"] == stamp.isoformat()
    assert after["id"] != before["id"]
    swept = walk(fake, "daily", monitoring_location_id=POTOMAC, last_modified="2026-11-22T00:00:00Z/..", limit=100)
    assert [f["properties"]["time"] for p in swept for f in p["features"]] == ["2026-11-01"]


def test_approve_through_approves_provisional_values(fake):
    stamp = datetime(2026, 11, 22, 12, tzinfo=UTC)
    fake.approve_through(POTOMAC, date(2026, 10, 31), stamp)
    rows = fake.expected_daily(POTOMAC, date(2026, 10, 25), date(2026, 11, 5))
    assert [r["approval_status"] for r in rows] == ["Approved"] * 7 + ["Provisional"] * 5
    assert {r["last_modified"] for r in rows[:7]} == {stamp}


def test_moving_today_adds_new_days(fake):
    before = get(fake, "latest-daily", monitoring_location_id=POTOMAC).json()["features"][0]["properties"]["time"]
    fake.today += timedelta(days=2)
    after = get(fake, "latest-daily", monitoring_location_id=POTOMAC).json()["features"][0]["properties"]["time"]
    assert (before, after) == ("2026-11-20", "2026-11-22")


def test_latest_continuous_has_one_row_per_series_at_its_newest_time(fake):
    body = get(fake, "latest-continuous", monitoring_location_id=f"{POTOMAC},USGS-01638500").json()
    times = {f["properties"]["monitoring_location_id"]: f["properties"]["time"] for f in body["features"]}
    assert times == {POTOMAC: "2026-11-20T23:55:00+00:00", "USGS-01638500": "2026-11-20T23:45:00+00:00"}


def test_monitoring_locations_filter_and_page(fake):
    pages = walk(fake, "monitoring-locations", state_code="24", limit=10)
    ids = [f["id"] for p in pages for f in p["features"]]
    assert len(pages) >= 3 and len(ids) == len(set(ids)) >= 25
    potomac = get(fake, "monitoring-locations", id=f"{POTOMAC},USGS-01638500").json()["features"]
    assert [f["properties"]["monitoring_location_name"] for f in potomac][1] == (
        "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA"
    )
    hucs = get(fake, "monitoring-locations", hydrologic_unit_code="0207", limit=100).json()["features"]
    assert hucs and all(f["properties"]["hydrologic_unit_code"].startswith("0207") for f in hucs)
    boxed = get(fake, "monitoring-locations", bbox="-77.2,38.9,-77.0,39.0").json()["features"]
    assert POTOMAC in [f["id"] for f in boxed]
    wells = get(fake, "monitoring-locations", site_type_code="GW").json()["features"]
    assert len(wells) == 2


def test_a_single_location_item_and_an_unknown_one(fake):
    item = requests.get(f"{fake.base_url}/collections/monitoring-locations/items/{POTOMAC}", timeout=30)
    assert item.json()["properties"]["hydrologic_unit_code"].startswith("02070008")
    missing = requests.get(f"{fake.base_url}/collections/monitoring-locations/items/USGS-999", timeout=30)
    assert missing.status_code == 404
    assert missing.json() == {"code": "NotFound", "description": "identifier not found"}


def test_stations_can_be_built_by_tests():
    station = FakeStation("USGS-99999999", "TEST CREEK AT NOWHERE, MD", daily_begin=date(2026, 11, 1),
                          continuous_interval=None)  # fmt: skip
    with FakeUSGS([station], today=date(2026, 11, 10)) as fake:
        body = get(fake, "daily", monitoring_location_id="USGS-99999999", limit=100).json()
        assert body["numberReturned"] == 10
        assert get(fake, "continuous", monitoring_location_id="USGS-99999999").json()["features"] == []


# -- key, quota, faults --------------------------------------------------------------------------------------------


def test_a_required_key_is_checked_like_the_gateway_does(fake):
    fake.require_key = "KEY"
    missing = get(fake, "daily", monitoring_location_id=POTOMAC)
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "API_KEY_MISSING"
    wrong = get(fake, "daily", monitoring_location_id=POTOMAC, api_key="nope")
    assert wrong.status_code == 403
    assert wrong.json() == recorded("v1_usgs_error_invalid_key.json", wrong.json())
    url = f"{fake.base_url}/collections/daily/items?monitoring_location_id={POTOMAC}&time=P1D"
    ok = requests.get(url, headers={"X-Api-Key": "KEY"}, timeout=30)
    assert ok.status_code == 200
    assert ok.headers["X-RateLimit-Limit"] == "4000"
    assert int(ok.headers["X-RateLimit-Remaining"]) == fake.ratelimit_remaining


def test_an_exhausted_quota_answers_429(fake):
    fake.ratelimit_remaining = 1
    statuses = [get(fake, "daily", api_key="K", monitoring_location_id=POTOMAC).status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_rate_limit_faults_answer_429_with_retry_after(fake):
    fake.faults.rate_limit_next = 2
    fake.faults.retry_after = 3
    first = get(fake, "daily", monitoring_location_id=POTOMAC)
    assert first.status_code == 429 and first.headers["Retry-After"] == "3"
    assert first.json()["error"]["code"] == "OVER_RATE_LIMIT"
    assert [get(fake, "latest-daily").status_code for _ in range(2)] == [429, 200]
    fake.faults.rate_limit_until = time.monotonic() + 60
    assert get(fake, "latest-daily").status_code == 429


def test_error_faults_answer_5xx(fake):
    fake.faults.error_next = 1
    assert get(fake, "latest-daily").status_code == 500
    fake.faults.error_rate = 1.0
    statuses = {get(fake, "latest-daily").status_code for _ in range(20)}
    assert statuses <= {500, 502, 503} and len(statuses) > 1


def test_a_dropped_body_and_a_malformed_body(fake):
    fake.faults.drop_mid_body_next = 1
    with pytest.raises(requests.exceptions.RequestException):
        get(fake, "daily", monitoring_location_id=POTOMAC).json()
    fake.faults.malformed_next = 1
    broken = get(fake, "daily", monitoring_location_id=POTOMAC)
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    assert get(fake, "daily", monitoring_location_id=POTOMAC).json()["numberReturned"] == 10


def test_failing_sites_and_failing_after_some_pages(fake):
    fake.faults.fail_sites = {POTOMAC}
    assert get(fake, "daily", monitoring_location_id=POTOMAC).status_code == 500
    assert get(fake, "daily", time_series_id=fake.primary_series_id(POTOMAC)).status_code == 500
    assert get(fake, "daily", monitoring_location_id="USGS-01638500").status_code == 200
    fake.faults.fail_sites = set()
    fake.faults.fail_after_pages = 2
    statuses = [get(fake, "daily", monitoring_location_id=POTOMAC).status_code for _ in range(3)]
    assert statuses == [200, 200, 500]


def test_requests_are_recorded_counted_and_hooked(fake):
    seen = []
    fake.faults.on_request = seen.append
    fake.faults.slow_seconds = 0.05
    started = time.monotonic()
    requests.get(f"{fake.base_url}/collections/latest-daily/items?limit=1", headers={"X-Api-Key": "K"}, timeout=30)
    assert time.monotonic() - started >= 0.05
    (record,) = fake.requests
    assert seen == [record]
    path = "/ogcapi/v1/collections/latest-daily/items"
    assert (record.method, record.path, record.params, record.status) == ("GET", path, {"limit": "1"}, 200)
    assert record.headers["X-Api-Key"] == "K"
    assert fake.path_counts[path] == 1
    fake.clear_requests()
    assert fake.requests == []


def test_it_runs_in_the_foreground_as_a_module():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeusgs", "--port", "0", "--today", "2026-11-20"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        body = requests.get(f"{url}/collections/latest-daily/items", params={"limit": 1}, timeout=30).json()
        assert body["numberReturned"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
