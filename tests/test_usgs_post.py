"""Many series a request by POST (issue 25, SPEC §1, §5, §7.1): more ids than one 8 KB URL holds go in a CQL2-JSON
body; every next link gets the same body; a size refusal splits the list and is remembered. Client and fake, over
real HTTP."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
import requests

from acquisition.usgs import USGSClient, USGSError
from tests.fakeusgs import FakeStation, FakeUSGS

DAYS = (dt.date(2026, 11, 1), dt.date(2026, 11, 20))


@pytest.fixture
def fake():
    stations = [
        FakeStation(f"USGS-{70000000 + i:08d}", f"POST CREEK {i} NR SOMEWHERE PA", daily_begin=dt.date(2026, 10, 1))
        for i in range(600)
    ]
    with FakeUSGS(stations=stations) as server:
        yield server


@pytest.fixture(autouse=True)
def forget_refusals(monkeypatch):
    monkeypatch.setattr(USGSClient, "post_refused_at", None)


def ids(fake, n):
    return [fake.primary_series_id(s.monitoring_location_id) for s in fake.stations[:n]]


def rows(pages) -> list[tuple]:
    return sorted((r.time_series_id, r.time, r.value) for page in pages for r in page)


def data_requests(fake):
    return [r for r in fake.requests if r.path.endswith("/daily/items")]


def test_more_series_than_a_url_holds_go_in_one_post_and_every_page_posts_the_same_body(fake):
    client = USGSClient(fake.base_url, limit=5000)
    wanted = ids(fake, 500)

    got = rows(client.daily_pages(wanted, start=DAYS[0], end=DAYS[1]))

    requests_ = data_requests(fake)
    assert len(requests_) == 2 and {r.method for r in requests_} == {"POST"}  # 10,000 rows: two pages
    assert all(r.body == {"time_series_id": ",".join(wanted)} for r in requests_)
    assert all("time_series_id" not in r.params and len(r.url) < 1000 for r in requests_)
    expected = rows(
        USGSClient(fake.base_url, limit=5000, post_lists=False).daily_pages(wanted, start=DAYS[0], end=DAYS[1])
    )
    assert got == expected and len(got) == 500 * 20


def test_a_list_that_fits_a_url_stays_a_get(fake):
    USGSClient(fake.base_url).daily_pages(ids(fake, 50), start=DAYS[0], end=DAYS[1]).__next__()

    assert [r.method for r in data_requests(fake)] == ["GET"]


def test_a_post_refused_as_too_large_is_split_and_the_size_remembered(fake):
    fake.max_post_bytes = 8_000  # about 220 ids
    events = []
    client = USGSClient(fake.base_url, on_event=lambda kind, message, data: events.append((kind, message)))
    wanted = ids(fake, 500)

    got = rows(client.daily_pages(wanted, start=DAYS[0], end=DAYS[1]))

    assert len(got) == 500 * 20
    statuses = [r.status for r in data_requests(fake)]
    assert statuses.count(403) >= 1 and statuses[-1] == 200
    assert USGSClient.post_refused_at is not None and USGSClient.post_refused_at <= 250
    assert any(kind == "retry" and "refused a POST of 500 ids" in message for kind, message in events)
    fake.clear_requests()

    rows(USGSClient(fake.base_url).daily_pages(wanted, start=DAYS[0], end=DAYS[1]))

    assert {r.status for r in data_requests(fake)} == {200}  # a later client starts below the refused size


def test_a_key_refusal_of_a_post_is_not_taken_for_a_size_refusal(fake):
    fake.require_key = "right"
    client = USGSClient(fake.base_url, api_key="wrong")

    with pytest.raises(USGSError, match="USGS_API_KEY"):
        list(client.daily_pages(ids(fake, 500), start=DAYS[0], end=DAYS[1]))

    assert len(data_requests(fake)) == 1 and USGSClient.post_refused_at is None


def test_the_fake_answers_a_cql2_post_like_the_get_it_stands_for_and_refuses_what_it_cannot_read(fake):
    url = f"{fake.base_url}/collections/daily/items?f=json&limit=100&time=2026-11-01/2026-11-02"
    wanted = ids(fake, 3)
    body = {"op": "and", "args": [{"op": "in", "args": [{"property": "time_series_id"}, wanted]}]}
    cql = {"Content-Type": "application/query-cql-json"}

    posted = requests.post(url, data=orjson.dumps(body), headers=cql, timeout=10).json()
    got = requests.get(url + "&time_series_id=" + ",".join(wanted), timeout=10).json()
    wrong_type = requests.post(url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}, timeout=10)
    unknown_op = requests.post(url, data=b'{"op": "like", "args": [{"property": "id"}, "x%"]}', headers=cql, timeout=10)

    assert [f["id"] for f in posted["features"]] == [f["id"] for f in got["features"]] and len(got["features"]) == 6
    assert (wrong_type.status_code, unknown_op.status_code) == (400, 400)
    assert "not supported" in unknown_op.json()["description"]
