"""A hostile upstream gets nothing: no key, no unbounded memory, no hang (issue: hardening).

A small server of this module's own plays the USGS API on 127.0.0.1 and misbehaves as told; a second one on
127.0.0.2 plays the attacker who wants the key. The client under test is the product's own (acquisition.usgs).
"""

from __future__ import annotations

import gzip
import itertools
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from acquisition.usgs import USGSClient, USGSError

KEY = "SECRET-KEY-123"
PAGE = (
    b'{"type":"FeatureCollection","numberReturned":1,"features":[{"type":"Feature","id":"x","geometry":null,'
    b'"properties":{"time_series_id":"a","time":"2026-09-01","value":"1"}}],"links":[]}'
)


class Server:
    """A loopback HTTP server whose every GET is answered by `respond(handler)`; it records what it was sent."""

    def __init__(self, host: str) -> None:
        self.seen: list[dict] = []
        self.respond: Callable[[BaseHTTPRequestHandler], None] = lambda h: _send(h, 200, PAGE)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.seen.append({"path": self.path, "key": self.headers.get("X-Api-Key")})
                outer.respond(self)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = f"http://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(handler, status: int, body: bytes, headers: dict | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def usgs():
    server = Server("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def attacker():
    server = Server("127.0.0.2")
    yield server
    server.stop()


def client_for(server: Server, **options) -> USGSClient:
    options.setdefault("sleep", lambda s: None)
    options.setdefault("max_retries", 0)
    return USGSClient(f"{server.origin}/ogcapi/v1", KEY, **options)


def evil_locations(usgs: Server, attacker: Server) -> list[str]:
    a, u = attacker.origin.removeprefix("http://"), usgs.origin.removeprefix("http://")
    return [
        f"{attacker.origin}/ogcapi/v1/collections/daily/items",  # plainly elsewhere
        f"http://{a}\\@{u}/ogcapi/v1/collections/daily/items",  # urlsplit says 127.0.0.1, urllib3 connects to .2
        f"http://{a}%5C@{u}/ogcapi/v1/collections/daily/items",  # the same, percent-encoded
        f"http://user:pass@{u}/ogcapi/v1/collections/daily/items",  # credentials in the link
        f"//{a}/ogcapi/v1/collections/daily/items",  # scheme-relative
        f"https://{u}/ogcapi/v1/collections/daily/items",  # another scheme: another origin
    ]


@pytest.mark.parametrize("variant", range(6))
def test_a_redirect_to_another_origin_is_refused_and_the_key_goes_nowhere(usgs, attacker, variant):
    location = evil_locations(usgs, attacker)[variant]
    usgs.respond = lambda h: _send(h, 302, b"", {"Location": location})

    with pytest.raises(USGSError) as caught:
        client_for(usgs).daily(time_series_id="a", start=None)

    assert caught.value.code == "CROSS_HOST_REDIRECT"
    assert "refusing to follow it" in str(caught.value)
    assert attacker.seen == []
    assert [s["key"] for s in usgs.seen] == [KEY]  # the one request, to the real origin


@pytest.mark.parametrize("variant", range(6))
def test_a_next_link_to_another_origin_is_refused_and_the_key_goes_nowhere(usgs, attacker, variant):
    href = evil_locations(usgs, attacker)[variant] + "?cursor=abc"
    body = PAGE.replace(
        b'"links":[]', b'"links":[{"rel":"next","href":"' + href.replace("\\", "\\\\").encode() + b'"}]'
    )
    usgs.respond = lambda h: _send(h, 200, body, {"Content-Type": "application/geo+json"})

    with pytest.raises(USGSError) as caught:
        client_for(usgs).daily(time_series_id="a", start=None)

    assert caught.value.code == "CROSS_HOST_NEXT"
    assert attacker.seen == []


def test_a_redirect_within_the_origin_is_followed_with_the_key(usgs, attacker):
    def respond(h):
        if "moved" in h.path:
            _send(h, 200, PAGE)
        else:
            _send(h, 301, b"", {"Location": "/ogcapi/v1/moved/items?f=json"})

    usgs.respond = respond

    readings = client_for(usgs).daily(time_series_id="a", start=None)

    assert len(readings) == 1
    assert [s["key"] for s in usgs.seen] == [KEY, KEY] and attacker.seen == []


def test_a_gzip_bomb_is_cut_at_the_body_cap_without_expanding_it(usgs):
    bomb = gzip.compress(b" " * (64 * 2**20), compresslevel=9)  # 64 MB of spaces in ~64 KB
    usgs.respond = lambda h: _send(h, 200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
    client = client_for(usgs, max_body_bytes=2 * 2**20)

    with pytest.raises(USGSError) as caught:
        client.daily(time_series_id="a", start=None)

    assert caught.value.code == "BODY_TOO_LARGE"
    assert "more than 2 MB (decompressed)" in str(caught.value)


def test_an_oversized_plain_body_is_cut_at_the_cap(usgs):
    big = b"[" + b"1," * (3 * 2**20) + b"1]"
    usgs.respond = lambda h: _send(h, 200, big, {"Content-Type": "application/json"})

    with pytest.raises(USGSError) as caught:
        client_for(usgs, max_body_bytes=2**20).daily(time_series_id="a", start=None)

    assert caught.value.code == "BODY_TOO_LARGE"


def test_a_drip_fed_answer_is_abandoned_at_the_deadline(usgs):
    def drip(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(PAGE)))
        h.end_headers()
        for byte in PAGE:
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(0.3)  # well inside any read timeout, forever in total

    usgs.respond = drip
    client = client_for(usgs, deadline=1.5, timeout=(2, 5))
    started = time.monotonic()

    with pytest.raises(USGSError) as caught:
        client.daily(time_series_id="a", start=None)

    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert time.monotonic() - started < 4


def test_endless_unique_cursors_stop_at_the_page_cap(usgs):
    counter = itertools.count()

    def endless(h):
        href = f"{usgs.origin}/ogcapi/v1/collections/daily/items?cursor=c{next(counter)}"
        body = PAGE.replace(b'"links":[]', b'"links":[{"rel":"next","href":"' + href.encode() + b'"}]')
        _send(h, 200, body, {"Content-Type": "application/geo+json"})

    usgs.respond = endless

    with pytest.raises(USGSError) as caught:
        client_for(usgs, max_pages=15).daily(time_series_id="a", start=None)

    assert caught.value.code == "TOO_MANY_PAGES"
    assert len(usgs.seen) == 15
