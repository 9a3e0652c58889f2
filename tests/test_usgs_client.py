"""The USGS client against the fake USGS API over real HTTP: paging, the key, retries, refusals, windows, limits."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import urllib3

from acquisition.usgs import (
    MAX_URL_BYTES,
    USGSBadRequest,
    USGSClient,
    USGSError,
    USGSRateLimited,
    USGSTransient,
)
from acquisition.usgs.parsers import Reading, SeriesInfo, choose_primary, merge_readings, sorted_readings
from tests.fakeusgs import FakeStation, FakeUSGS

POTOMAC = "USGS-01646500"
DUPLICATE = "USGS-02196000"
SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))


class Sleeps(list):
    """An injected ``sleep`` that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake():
    with FakeUSGS() as server:
        yield server


def make_client(fake: FakeUSGS, **options) -> USGSClient:
    options.setdefault("sleep", Sleeps())
    return USGSClient(fake.base_url, options.pop("api_key", "KEY"), **options)


def as_rows(readings) -> list[dict]:
    return [
        {"time_series_id": r.time_series_id, "time": r.time, "value": r.value, "qualifiers": r.qualifiers,
         "approval_status": r.approval_status, "last_modified": r.last_modified}
        for r in readings
    ]  # fmt: skip


def data_requests(fake: FakeUSGS, collection: str = "daily") -> list:
    return [r for r in fake.requests if r.path.endswith(f"/collections/{collection}/items")]


# -- paging and the key ---------------------------------------------------------------------------------------------


def test_it_follows_next_links_until_none(fake):
    client = make_client(fake, limit=7)
    readings = client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert as_rows(readings) == fake.expected_daily(POTOMAC, *SEPTEMBER)  # merged and sorted by time
    assert len(fake.requests) == client.requests_made == 5  # 7 + 7 + 7 + 7 + 2


def test_it_sends_the_api_key_header_on_every_request_and_never_in_a_url(fake):
    fake.require_key = "KEY"
    client = make_client(fake, limit=7)
    client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert len(fake.requests) == 5
    assert all(r.headers.get("X-Api-Key") == "KEY" for r in fake.requests)
    assert all("api_key" not in r.params and "KEY" not in r.url for r in fake.requests)
    assert all(r.status == 200 for r in fake.requests)


def test_every_request_asks_for_json_a_limit_no_geometry_and_a_property_list(fake):
    client = make_client(fake, limit=7)
    client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    first, *rest = fake.requests
    assert first.params["parameter_code"] == "00060" and first.params["statistic_id"] == "00003"
    assert first.params["time"] == "2026-09-01/2026-09-30"
    for record in fake.requests:
        assert record.params["f"] == "json"  # re-added where the next link dropped it
        assert record.params["limit"] == "7"
        assert record.params["skipGeometry"] == "true"
        assert record.params["properties"] == "time_series_id,time,value,approval_status,qualifier,last_modified"
    assert all("cursor" in r.params for r in rest)


def test_it_stops_at_an_empty_page_even_when_it_has_a_next_link(fake):
    fake.lazy_next_links = True  # a full last page still links to an empty page
    client = make_client(fake, limit=10)
    readings = client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert len(readings) == 30
    assert len(fake.requests) == 4  # 10 + 10 + 10 + an empty page


def test_it_keeps_the_newer_row_when_a_key_appears_twice(fake):
    client = make_client(fake, limit=7)
    day = date(2026, 9, 10)
    stamp = datetime(2026, 11, 21, tzinfo=UTC)

    def revise_mid_paging(kind: str, message: str, data: dict) -> None:
        if kind == "page" and data["page"] == 1:
            fake.revise(POTOMAC, day, 1.0, last_modified=stamp)  # its feature id changes: it may come back

    client.on_event = revise_mid_paging
    readings = client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    keys = [(r.time_series_id, r.time) for r in readings]
    assert len(keys) == len(set(keys)) == 30


def test_pages_merge_to_one_row_per_key_the_later_modified_winning_in_time_then_series_order():
    early, late = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)

    def r(series: str, day: int, value: float, modified: datetime | None) -> Reading:
        return Reading(series, date(2026, 9, day), value, [], "Provisional", modified)

    merged: dict = {}
    merge_readings(merged, [r("b", 2, 1.0, early), r("a", 2, 1.0, early), r("a", 1, 1.0, late), r("b", 1, 1.0, None)])
    merge_readings(merged, [r("a", 2, 2.0, late), r("a", 1, 2.0, early), r("b", 1, 2.0, early), r("b", 2, 2.0, None)])
    rows = [(x.time.day, x.time_series_id, x.value) for x in sorted_readings(merged)]
    # a/2 revised later: taken; a/1 came back older: kept; b/1 had no stamp: the stamped one wins; b/2 unstamped
    # second copy never replaces a stamped one.
    assert rows == [(1, "a", 1.0), (1, "b", 2.0), (2, "a", 2.0), (2, "b", 1.0)]


def test_it_pulls_revisions_by_last_modified(fake):
    stamp = datetime(2026, 11, 22, 8, tzinfo=UTC)
    fake.revise(POTOMAC, date(2025, 3, 4), 77.0, last_modified=stamp)
    client = make_client(fake)
    readings = client.daily(time_series_id=fake.primary_series_id(POTOMAC), start=None,
                            last_modified_since=stamp - timedelta(hours=1))  # fmt: skip
    assert [(r.time, r.value) for r in readings] == [(date(2025, 3, 4), 77.0)]
    assert fake.requests[0].params["last_modified"] == "2026-11-22T07:00:00Z/.."


# -- retries ------------------------------------------------------------------------------------------------------


def test_a_429_is_waited_out_for_its_retry_after_and_the_same_page_is_asked_again(fake):
    client = make_client(fake, limit=7)

    def rate_limit_page_three(kind: str, message: str, data: dict) -> None:
        if kind == "page" and data["page"] == 2:
            fake.faults.rate_limit_next = 1
            fake.faults.retry_after = 3

    client.on_event = rate_limit_page_three
    readings = client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert as_rows(readings) == fake.expected_daily(POTOMAC, *SEPTEMBER)
    assert [r.status for r in fake.requests] == [200, 200, 429, 200, 200, 200]
    assert fake.requests[2].url == fake.requests[3].url  # resumed at the same page
    (wait,) = client.sleep
    assert 3 <= wait < 4


def test_a_retry_after_given_as_an_http_date_is_honoured(fake):
    client = make_client(fake)
    fake.faults.rate_limit_next = 1
    fake.faults.retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    (wait,) = client.sleep
    assert 15 <= wait <= 21


def test_a_retry_after_longer_than_we_will_wait_raises_rate_limited_at_once(fake):
    client = make_client(fake, max_retry_after=120)
    fake.faults.rate_limit_next = 1
    fake.faults.retry_after = 3600
    with pytest.raises(USGSRateLimited) as caught:
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert caught.value.retry_after == 3600
    assert client.sleep == [] and len(fake.requests) == 1
    assert "3600 s" in str(caught.value) and fake.base_url in str(caught.value)


def test_429s_that_outlast_the_retries_raise_rate_limited(fake):
    client = make_client(fake, max_retries=2)
    fake.faults.rate_limit_next = 10
    fake.faults.retry_after = None
    with pytest.raises(USGSRateLimited) as caught:
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert len(fake.requests) == 3 and caught.value.code == "OVER_RATE_LIMIT"


def test_server_errors_are_retried_with_full_jitter_backoff_then_succeed(fake):
    client = make_client(fake, backoff_base=0.5, backoff_cap=30)
    fake.faults.error_next = 3
    readings = client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert len(readings) == 30
    assert [r.status for r in fake.requests] == [500, 500, 500, 200]
    assert [0 <= wait <= 0.5 * 2**attempt for attempt, wait in enumerate(client.sleep)] == [True] * 3


def test_html_5xx_pages_from_the_proxy_are_retried_too(fake):
    client = make_client(fake)
    fake.faults.error_next = 2
    fake.faults.error_status = 502
    assert len(client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])) == 30
    assert [r.status for r in fake.requests] == [502, 502, 200]


def test_it_gives_up_after_max_retries_with_a_transient_error_naming_the_url(fake):
    client = make_client(fake, max_retries=2)
    fake.faults.fail_sites = {POTOMAC}
    with pytest.raises(USGSTransient) as caught:
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert len(fake.requests) == 3
    assert caught.value.status == 500 and caught.value.url.startswith(fake.base_url)
    assert "3 attempts" in str(caught.value)


def test_a_failure_after_some_pages_raises_instead_of_returning_part_of_the_window(fake):
    client = make_client(fake, limit=7, max_retries=1)
    fake.faults.fail_after_pages = 2
    with pytest.raises(USGSTransient):
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert [r.status for r in fake.requests] == [200, 200, 500, 500]


def test_a_body_cut_off_mid_stream_is_retried(fake):
    client = make_client(fake)
    fake.faults.drop_mid_body_next = 1
    assert len(client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])) == 30
    assert len(fake.requests) == 2 and len(client.sleep) == 1


def test_malformed_json_is_retried(fake):
    client = make_client(fake)
    fake.faults.malformed_next = 2
    assert len(client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])) == 30
    assert len(fake.requests) == 3


def test_a_refused_connection_is_retried_then_reported():
    client = USGSClient("http://127.0.0.1:9/ogcapi/v1", sleep=Sleeps(), max_retries=1, timeout=(0.5, 1))
    with pytest.raises(USGSTransient) as caught:
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0])
    assert client.requests_made == 2 and "broken connection" in str(caught.value)


# -- no retries for requests that are wrong -----------------------------------------------------------------------


def test_a_400_is_not_retried(fake):
    client = make_client(fake)
    with pytest.raises(USGSBadRequest) as caught:
        list(client.get_pages("daily", {"monitoring_location_id": POTOMAC, "properties": "time,bogus"}))
    assert len(fake.requests) == 1 and client.sleep == []
    assert (caught.value.status, caught.value.code) == (400, "InvalidQuery")
    assert caught.value.description == "At least one requested property wasn't found"
    assert "will not help" in str(caught.value)


def test_a_wrong_key_is_not_retried_and_says_to_check_usgs_api_key(fake):
    fake.require_key = "RIGHT"
    client = make_client(fake, api_key="WRONG")
    with pytest.raises(USGSError) as caught:
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0])
    assert len(fake.requests) == 1
    assert (caught.value.status, caught.value.code) == (403, "API_KEY_INVALID")
    assert "USGS_API_KEY" in str(caught.value) and fake.base_url in str(caught.value)


def test_a_missing_key_is_reported_as_such(fake):
    fake.require_key = "RIGHT"
    with pytest.raises(USGSError) as caught:
        make_client(fake, api_key=None).daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0])
    assert caught.value.code == "API_KEY_MISSING" and "Set USGS_API_KEY" in str(caught.value)


def test_a_404_is_not_retried(fake):
    client = make_client(fake)
    with pytest.raises(USGSBadRequest) as caught:
        list(client.get_pages("no-such-collection", {}))
    assert len(fake.requests) == 1 and caught.value.status == 404


# -- refusals -----------------------------------------------------------------------------------------------------


def test_a_url_over_8000_bytes_is_refused_before_sending(fake):
    client = make_client(fake)
    sites = [f"USGS-{n:015d}" for n in range(500)]
    with pytest.raises(USGSBadRequest) as caught:
        list(client.get_pages("daily", {"monitoring_location_id": sites}))
    assert fake.requests == []
    assert caught.value.code == "URL_TOO_LONG" and str(MAX_URL_BYTES) in str(caught.value)


def test_long_site_lists_are_chunked_under_8_kb(fake):
    client = make_client(fake)
    sites = [f"USGS-{n:015d}" for n in range(1200)] + [POTOMAC, "USGS-01638500"]
    newest = client.latest("continuous", sites)
    assert set(newest) == {fake.primary_series_id(POTOMAC, "continuous"),
                           fake.primary_series_id("USGS-01638500", "continuous")}  # fmt: skip
    assert len(fake.requests) >= 3
    assert all(len(r.url) + len("http://127.0.0.1:65535") < MAX_URL_BYTES for r in fake.requests)
    asked = [s for r in fake.requests for s in r.params["monitoring_location_id"].split(",")]
    assert sorted(asked) == sorted(sites)


def test_a_next_link_to_another_host_is_refused(fake):
    fake.link_base = "http://evil.example:8080/ogcapi/v1"
    client = make_client(fake, limit=7)
    with pytest.raises(USGSError) as caught:
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert caught.value.code == "CROSS_HOST_NEXT" and "evil.example" in str(caught.value)
    assert len(fake.requests) == 1


class CannedSession(requests.Session):
    """Answers every GET with the same page: a server that hands out one cursor forever."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body
        self.urls: list[str] = []

    def get(self, url, **kwargs):
        self.urls.append(url)
        response = requests.Response()
        response.status_code = 200
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(self.body), status=200, preload_content=False)
        response.headers["Content-Type"] = "application/geo+json"
        response.url = url
        return response


def test_a_cursor_seen_twice_is_refused():
    page = (
        b'{"type":"FeatureCollection","numberReturned":1,"features":[{"type":"Feature","id":"x","geometry":null,'
        b'"properties":{"time_series_id":"a","time":"2026-09-01","value":"1"}}],"links":[{"rel":"next",'
        b'"href":"https://api.example/ogcapi/v1/collections/daily/items?cursor=SAME&limit=1"}]}'
    )
    session = CannedSession(page)
    client = USGSClient("https://api.example/ogcapi/v1", "KEY", session=session, sleep=Sleeps())
    with pytest.raises(USGSError) as caught:
        client.daily(time_series_id="a", start=None)
    assert caught.value.code == "CURSOR_REPEATED"
    assert len(session.urls) == 2


def test_naive_datetimes_are_refused():
    client = USGSClient("https://api.example/ogcapi/v1")
    with pytest.raises(ValueError):
        client.continuous(time_series_id="a", start=datetime(2026, 1, 1), end=datetime(2026, 2, 1))
    with pytest.raises(ValueError):
        client.daily(start=None)  # neither a series nor a site


# -- quota and hooks --------------------------------------------------------------------------------------------------


def test_it_pauses_when_the_hourly_quota_is_nearly_used(fake):
    client = make_client(fake, limit=7, low_quota_pause=2.0)
    fake.ratelimit_remaining = 150  # under 5% of 4000
    client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert client.sleep == [2.0] * 4  # before every request after the first answer told us
    assert client.min_ratelimit_remaining == 145


def test_it_does_not_pause_with_quota_to_spare(fake):
    client = make_client(fake, limit=7)
    client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert client.sleep == [] and client.ratelimit_limit == 4000


def test_throttle_is_called_before_every_request_including_retries(fake):
    calls = []
    client = make_client(fake, limit=7, throttle=lambda: calls.append(len(fake.requests)))
    fake.faults.error_next = 1
    client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    assert calls == list(range(6)) and client.requests_made == 6


def test_events_report_pages_retries_and_errors(fake):
    events = []
    client = make_client(fake, limit=7, max_retries=1, on_event=lambda *e: events.append(e))
    fake.faults.error_next = 1
    client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0], end=SEPTEMBER[1])
    kinds = [kind for kind, _, _ in events]
    assert kinds == ["retry", "page", "page", "page", "page", "page"]
    assert events[0][2]["status"] == 500 and events[0][2]["url"].startswith(fake.base_url)
    fake.faults.error_next = 5
    with pytest.raises(USGSTransient):
        client.daily(monitoring_location_id=POTOMAC, start=SEPTEMBER[0])
    assert events[-1][0] == "error"


# -- series, locations -------------------------------------------------------------------------------------------


def test_a_site_with_two_series_returns_both_and_choose_primary_picks_the_primary(fake):
    client = make_client(fake)
    both = client.daily(monitoring_location_id=DUPLICATE, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert len({r.time_series_id for r in both}) == 2 and len(both) == 62
    series = client.time_series_metadata(DUPLICATE, kind="daily")
    chosen = choose_primary(series)
    assert chosen.time_series_id == fake.primary_series_id(DUPLICATE) and chosen.primary
    assert USGSClient.choose_primary(series) == chosen
    only = client.daily(time_series_id=chosen.time_series_id, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert as_rows(only) == fake.expected_daily(DUPLICATE, date(2026, 1, 1), date(2026, 1, 31))


def test_choose_primary_prefers_primary_then_the_latest_end():
    def info(series_id: str, primary: bool, end_year: int | None) -> SeriesInfo:
        end = None if end_year is None else datetime(end_year, 1, 1, tzinfo=UTC)
        return SeriesInfo(series_id, "USGS-1", "00060", "00003", "Mean", "Daily", primary, None, end, None, "ft^3/s")

    assert choose_primary([]) is None
    assert choose_primary([info("a", False, 2026), info("b", True, 2001)]).time_series_id == "b"
    assert (
        choose_primary([info("a", False, 2020), info("b", False, 2025), info("c", False, None)]).time_series_id == "b"
    )


def test_continuous_series_are_found_in_metadata(fake):
    client = make_client(fake)
    series = client.time_series_metadata([POTOMAC, "USGS-01638500"], kind="continuous")
    assert {s.time_series_id for s in series} == {fake.primary_series_id(POTOMAC, "continuous"),
                                                  fake.primary_series_id("USGS-01638500", "continuous")}  # fmt: skip
    assert all(s.computation_period_identifier == "Points" for s in series)


def test_monitoring_locations_are_paged_and_normalized(fake):
    client = make_client(fake, limit=10)
    rows = list(client.monitoring_locations(state_code="24"))
    assert len(rows) == sum(s.state_code == "24" for s in fake.stations)
    assert len(fake.requests) == -(-len(rows) // 10)
    potomac = next(r for r in rows if r["monitoring_location_id"] == POTOMAC)
    assert potomac["name"] == "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA"
    assert (potomac["state_postal"], potomac["site_number"], potomac["latitude"]) == ("MD", "01646500", 38.9497)
    assert fake.requests[0].params["skipGeometry"] == "false"
    picked = list(client.monitoring_locations(ids=[POTOMAC, DUPLICATE], with_geometry=False))
    assert {r["monitoring_location_id"] for r in picked} == {POTOMAC, DUPLICATE}
    assert all(r["latitude"] is None for r in picked)


def test_latest_daily_is_a_cheap_anything_new_check(fake):
    client = make_client(fake)
    assert client.latest("daily", [POTOMAC]) == {fake.primary_series_id(POTOMAC): date(2026, 11, 20)}
    assert len(fake.requests) == 1


def test_a_station_built_by_a_test_is_pulled_whole():
    station = FakeStation("USGS-12345678", "TEST CREEK NEAR ANYWHERE, MD", daily_begin=date(2026, 10, 1),
                          continuous_interval=None)  # fmt: skip
    with FakeUSGS([station], today=date(2026, 11, 20)) as fake:
        readings = make_client(fake, limit=13).daily(monitoring_location_id="USGS-12345678", start=None)
        assert as_rows(readings) == fake.expected_daily("USGS-12345678", date(2026, 10, 1), date(2026, 11, 20))
