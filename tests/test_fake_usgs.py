"""The fake USGS API over real HTTP: paging, limits, the recorded error bodies, duplicate series, faults."""

from __future__ import annotations

import base64
import importlib.util
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


# -- lists, interleaving, URL size, batch faults, clock, scale (SPEC §7.1) -----------------------------------------

ROCKS = "USGS-01638500"
JUG = "USGS-01643000"
ONE_DAY = {"daily": "2026-09-28", "continuous": "2026-09-28T00:00:00Z/2026-09-28T00:30:00Z"}


def features(fake: FakeUSGS, collection: str, **params) -> list[dict]:
    return [f for p in walk(fake, collection, limit=1000, **params) for f in p["features"]]


@pytest.mark.parametrize("collection", ["daily", "continuous", "latest-daily", "latest-continuous"])
def test_data_collections_take_comma_separated_series_and_site_lists(fake, collection):
    kind = "daily" if "daily" in collection else "continuous"
    series = {site: fake.primary_series_id(site, kind) for site in (POTOMAC, ROCKS, JUG)}
    time_param = {"time": ONE_DAY[collection]} if collection in ONE_DAY else {}
    by_series = features(fake, collection, time_series_id=f"{series[POTOMAC]},{series[JUG]}", **time_param)
    assert {f["properties"]["time_series_id"] for f in by_series} == {series[POTOMAC], series[JUG]}
    by_site = features(fake, collection, monitoring_location_id=f"{POTOMAC},{ROCKS}", **time_param)
    assert {f["properties"]["monitoring_location_id"] for f in by_site} == {POTOMAC, ROCKS}
    # Two lists AND together; unknown members are ignored, not an error.
    both = features(fake, collection, monitoring_location_id=f"{POTOMAC},{ROCKS},USGS-00000000",
                    time_series_id=f"{series[ROCKS]},{series[JUG]}", **time_param)  # fmt: skip
    assert {f["properties"]["time_series_id"] for f in both} == {series[ROCKS]}
    # A list of one answers exactly as the single value does.
    one = features(fake, collection, time_series_id=series[ROCKS], **time_param)
    assert [f["id"] for f in one] == [f["id"] for f in both]


def test_time_series_metadata_takes_site_and_id_lists(fake):
    meta = features(fake, "time-series-metadata", monitoring_location_id=f"{POTOMAC},{DUPLICATE}", statistic_id="00003")
    assert sorted(f["properties"]["monitoring_location_id"] for f in meta) == [POTOMAC, DUPLICATE, DUPLICATE]
    wanted = [fake.primary_series_id(POTOMAC), fake.primary_series_id(ROCKS, "continuous")]
    by_id = features(fake, "time-series-metadata", id=",".join(wanted))
    assert sorted(f["id"] for f in by_id) == sorted(wanted)


def test_continuous_rows_of_many_series_interleave_and_page_by_time_then_series(fake):
    ids = sorted(fake.primary_series_id(site, "continuous") for site in (POTOMAC, ROCKS, JUG))
    window = "2026-10-01T00:00:00Z/2026-10-01T01:00:00Z"
    pages = walk(fake, "continuous", time_series_id=",".join(ids), time=window, limit=5)
    rows = [f["properties"] for p in pages for f in p["features"]]
    first_page = [f["properties"]["time_series_id"] for f in pages[0]["features"]]
    assert len(set(first_page)) == 3  # a page mixes series: no series' rows are contiguous
    keys = [(datetime.fromisoformat(r["time"]), r["time_series_id"]) for r in rows]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 1, 1, tzinfo=UTC)
    expected = {
        (row["time"], row["time_series_id"])
        for site in (POTOMAC, ROCKS, JUG)
        for row in fake.expected_continuous(site, start, end)
    }
    assert set(keys) == expected and len(expected) == 13 + 5 + 5  # Potomac is 5-minute, the others 15-minute
    cursor = parse_qs(urlsplit(next_href(pages[0])).query)["cursor"][0]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    last = pages[0]["features"][-1]["properties"]
    assert decoded == f"{datetime.fromisoformat(last['time']).isoformat(sep=' ')}|{last['time_series_id']}"


def test_daily_rows_of_many_series_interleave_in_feature_id_order(fake):
    ids = [fake.primary_series_id(site) for site in (POTOMAC, ROCKS, JUG)]
    pages = walk(fake, "daily", time_series_id=",".join(ids), time="2026-09-01/2026-09-30", limit=20)
    rows = [f for p in pages for f in p["features"]]
    assert [f["id"] for f in rows] == sorted(f["id"] for f in rows) and len(rows) == 90
    assert len({f["properties"]["time_series_id"] for f in pages[0]["features"]}) == 3
    for site, sid in zip((POTOMAC, ROCKS, JUG), ids, strict=True):
        mine = sorted(f["properties"]["time"] for f in rows if f["properties"]["time_series_id"] == sid)
        assert mine == [r["time"].isoformat() for r in fake.expected_daily(site, date(2026, 9, 1), date(2026, 9, 30))]


def _url_of_length(fake: FakeUSGS, length: int) -> str:
    """A daily request for Potomac's 2026-09-28 whose path + query is exactly ``length`` bytes."""
    path = f"/ogcapi/v1/collections/daily/items?time=2026-09-28&monitoring_location_id={POTOMAC},USGS-"
    return fake.base_url.removesuffix("/ogcapi/v1") + path + "9" * (length - len(path))


def test_a_url_over_8200_bytes_answers_414_with_nginx_html(fake):
    ok = requests.get(_url_of_length(fake, 8200), timeout=30)
    assert ok.status_code == 200 and ok.json()["numberReturned"] == 1
    refused = requests.get(_url_of_length(fake, 8201), timeout=30)
    assert refused.status_code == 414
    assert refused.headers["Content-Type"] == "text/html"
    assert "<title>414 Request-URI Too Large</title>" in refused.text and "nginx" in refused.text
    assert [len(r.url) for r in fake.requests] == [8200, 8201]
    assert [r.status for r in fake.requests] == [200, 414]  # logged (and counted) like any request


def test_failing_sites_also_fail_metadata_requests_naming_them(fake):
    fake.faults.fail_sites = {ROCKS}
    assert get(fake, "time-series-metadata", monitoring_location_id=f"{POTOMAC},{ROCKS}").status_code == 500
    assert get(fake, "time-series-metadata", id=fake.primary_series_id(ROCKS)).status_code == 500
    assert get(fake, "daily", time_series_id=f"{fake.primary_series_id(POTOMAC)},"
               f"{fake.primary_series_id(ROCKS)}").status_code == 500  # fmt: skip
    assert get(fake, "time-series-metadata", monitoring_location_id=f"{POTOMAC},{JUG}").status_code == 200
    assert get(fake, "monitoring-locations", id=ROCKS).status_code == 200  # the catalog is not a data request


def test_fail_requests_containing_fails_one_batch_including_its_next_pages(fake):
    batch_a = ",".join(fake.primary_series_id(s) for s in (POTOMAC, ROCKS))
    batch_b = ",".join(fake.primary_series_id(s) for s in (JUG, DUPLICATE))
    first = get(fake, "daily", time_series_id=batch_a, time="2026-09-01/2026-09-30", limit=10).json()
    fake.faults.fail_requests_containing = {fake.primary_series_id(ROCKS)}
    assert requests.get(next_href(first), timeout=30).status_code == 500  # the batch's follow-up page fails too
    assert get(fake, "daily", time_series_id=batch_a, time="P1D").status_code == 500
    assert get(fake, "continuous", monitoring_location_id=POTOMAC,
               time_series_id=fake.primary_series_id(ROCKS)).status_code == 500  # fmt: skip
    assert get(fake, "daily", time_series_id=batch_b, time="P1D").status_code == 200
    fake.faults.fail_requests_containing = set()
    assert get(fake, "daily", time_series_id=batch_a, time="P1D").status_code == 200


def test_the_clock_steps_by_less_than_a_day(fake):
    assert fake.clock == datetime(2026, 11, 21, tzinfo=UTC)  # the end of today
    fake.clock = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert fake.today == date(2026, 11, 20)
    latest = get(fake, "latest-continuous", monitoring_location_id=ROCKS).json()["features"][0]["properties"]["time"]
    assert latest == "2026-11-20T11:45:00+00:00"  # strictly before the clock
    before = features(fake, "continuous", monitoring_location_id=ROCKS, time="2026-11-20T11:00:00Z/..")
    fake.clock += timedelta(hours=1)
    after = features(fake, "continuous", monitoring_location_id=ROCKS, time="2026-11-20T11:00:00Z/..")
    assert [f["properties"]["time"][11:16] for f in after[len(before) :]] == ["12:00", "12:15", "12:30", "12:45"]
    truth = fake.expected_continuous(ROCKS, datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    assert truth[-1]["time"] == datetime(2026, 11, 20, 12, 45, tzinfo=UTC)
    assert features(fake, "daily", monitoring_location_id=ROCKS, time="2026-11-20")  # today's daily value exists
    fake.today = date(2026, 11, 22)
    assert fake.clock == datetime(2026, 11, 23, tzinfo=UTC)
    with pytest.raises(TypeError):
        fake.clock = datetime(2026, 11, 23)


def test_a_catalog_of_10000_stations_starts_fast_and_answers_a_200_series_batch_quickly():
    from tests.fakeusgs import synthetic_catalog

    started = time.monotonic()
    catalog = synthetic_catalog(10_000)
    with FakeUSGS(catalog) as fake:
        built = time.monotonic() - started
        assert len(fake.series) == 20_000 and len({s.monitoring_location_id for s in catalog}) == 10_000
        sites = [s.monitoring_location_id for s in catalog[-200:]]
        fake.faults.fail_sites = {catalog[0].monitoring_location_id}  # the fault check must not scan every series
        ids = ",".join(fake.primary_series_id(site) for site in sites)
        cids = ",".join(fake.primary_series_id(site, "continuous") for site in sites)
        started = time.monotonic()
        daily = get(fake, "daily", time_series_id=ids, time="2026-11-19/..", limit=50000, skipGeometry="true")
        revisions = get(fake, "daily", time_series_id=ids, last_modified="2026-11-19T00:00:00Z/..", limit=50000)
        continuous = get(fake, "continuous", time_series_id=cids, time="2026-11-20T23:00:00Z/..", limit=50000)
        answered = time.monotonic() - started
        assert [r.status_code for r in (daily, revisions, continuous)] == [200, 200, 200]
        assert daily.json()["numberReturned"] == 400 and continuous.json()["numberReturned"] == 800
        assert revisions.json()["numberReturned"] >= 400
    # Generous bounds for a shared CI core; an O(catalog rows) step takes minutes here, not seconds.
    assert built < 5 and answered < 5, (built, answered)


# -- bench/requests.py runs end to end (the pattern of tests/test_bench_smoke.py; it lives here to stay in this
# module's files) ------------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_requests_benchmark_runs_and_prints_its_table():
    import os
    import uuid

    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = f"sf_bench_smoke_{uuid.uuid4().hex[:8]}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-smoke-key")}
    env.pop("DATABASE_URL", None)
    try:
        result = subprocess.run(
            [sys.executable, "bench/requests.py", "--database-url", url, "--sizes", "3", "--latency", "0",
             "--daily-days", "3"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        admin = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
        with psycopg.connect(admin, autocommit=True, password=db.get("PASSWORD") or None) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("3 ")]
    assert [(r[1], r[2]) for r in rows] == [
        ("daily", "first"), ("daily", "incremental"), ("continuous", "first"), ("continuous", "incremental")
    ]  # fmt: skip
    # The three stations share one batch: series lookup + window on the first run, window + revision pass after;
    # 4 values a daily station (3 days back, inclusive), 2 on the incremental run (the boundary day, the new day).
    assert rows[0][3] == "2" and rows[0][6] == "12"
    assert rows[1][3] == "2" and rows[1][6] == "6"
    if importlib.util.find_spec("dataretrieval") is None:  # a bench-only extra: `make test` installs dev.txt
        assert result.stdout.count("n/a: dataretrieval is not installed") == 4, result.stdout
    else:
        assert all(r[7] != "n/a" for r in rows), result.stdout  # the peer ran


# -- the clock in the Date header, answers held back, what it served earlier -------------------------------------


def test_its_date_header_comes_from_its_own_clock_not_the_real_time(fake):
    fake.clock = datetime(2026, 11, 1, 6, 30, 15, tzinfo=UTC)

    answer = get(fake, "daily", monitoring_location_id=POTOMAC, time="2026-10-01/2026-10-02")

    assert answer.headers["Date"] == "Sun, 01 Nov 2026 06:30:15 GMT"


def test_it_holds_back_an_answer_until_released_and_answers_others_meanwhile(fake):
    import threading

    gate = fake.hold(lambda r: r.path.endswith("/daily/items"))
    held: list[requests.Response] = []
    worker = threading.Thread(target=lambda: held.append(get(fake, "daily", monitoring_location_id=POTOMAC)))
    worker.start()

    assert gate.wait_arrived(5)
    other = get(fake, "continuous", monitoring_location_id=POTOMAC, time="2026-11-19T00:00:00Z/2026-11-19T01:00:00Z")
    assert other.status_code == 200 and not held  # answered while the daily request waits
    again = get(fake, "daily", monitoring_location_id=POTOMAC, time="2026-11-01/2026-11-02")
    assert again.status_code == 200  # a gate holds one request only

    gate.release()
    worker.join(5)
    assert held[0].status_code == 200 and not gate.timed_out


def test_a_held_answer_is_computed_when_released(fake):
    import threading

    gate = fake.hold(lambda r: r.path.endswith("/daily/items"))
    held: list[dict] = []
    query = {"monitoring_location_id": POTOMAC, "time": "2026-11-10/2026-11-10"}
    worker = threading.Thread(target=lambda: held.append(get(fake, "daily", **query).json()))
    worker.start()
    assert gate.wait_arrived(5)

    fake.revise(POTOMAC, date(2026, 11, 10), 1234.0, last_modified=fake.now())
    gate.release()
    worker.join(5)

    assert held[0]["features"][0]["properties"]["value"] == "1230"


def test_a_gate_never_blocks_for_ever(fake):
    gate = fake.hold(lambda r: True, timeout=0.2)

    answer = get(fake, "daily", monitoring_location_id=POTOMAC, time="2026-11-01/2026-11-01")

    assert answer.status_code == 200 and gate.timed_out


def test_truth_as_of_an_earlier_epoch_is_what_it_served_then(fake):
    before = fake.epoch
    old = fake.truth_as_of(POTOMAC, "daily", date(2026, 11, 10), date(2026, 11, 20))
    fake.revise(POTOMAC, date(2026, 11, 12), 99.0, last_modified=fake.now())
    fake.today += timedelta(days=2)

    assert fake.truth_as_of(POTOMAC, "daily", date(2026, 11, 10), date(2026, 11, 30), before) == old
    now = fake.truth_as_of(POTOMAC, "daily", date(2026, 11, 10), date(2026, 11, 30))
    assert len(now) == len(old) + 2 and now[2]["value"] == 99.0
    assert now == fake.expected_daily(POTOMAC, date(2026, 11, 10), date(2026, 11, 30))
