"""Must show (issue 22, item 2): clients that stop reading API value streams cannot take the site down.

Real gunicorn, gthread as docker-compose.yml runs it (one worker, four threads here), on 127.0.0.1, and raw sockets
with a small receive buffer that read the response headers and then nothing more. One Viewer holds at most
EXPORTS_PER_USER streams across all their tokens (the rest are 429 at once); streams that stall anyway are cut off
after STREAM_SEND_TIMEOUT_SECONDS, so /health/ keeps answering while they are held.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from acquisition.models import ContinuousValue
from stations.models import TimeSeries
from tests.api_helpers import bearer
from tests.factories import MonitoringLocationFactory, TimeSeriesFactory, UserFactory
from tests.worker_fixtures import _database_url

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
THREADS = 4
SEND_TIMEOUT = 2
# About 15 MB of CSV: far more than loopback's socket buffers (4 MB send, a few KB receive here) hold.
VALUES = 120_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db):
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": _database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "EXPORTS_PER_USER": "2",
            "STREAM_SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT),
            "CONN_MAX_AGE": "0",  # no idle connection left to block the test database's teardown
            "API_RATE_LIMIT_PER_MINUTE": "10000",
        }
    )
    command = [sys.executable, "-m", "gunicorn", "streamflow.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--worker-class", "gthread", "--workers", "1", "--threads", str(THREADS), "--timeout", "60"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # threads still stuck in send() (the code before the fix)
            process.kill()
            process.wait()


@pytest.fixture
def long_series():
    series = TimeSeriesFactory(kind=TimeSeries.Kind.CONTINUOUS, location=MonitoringLocationFactory())
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    ContinuousValue.objects.bulk_create(
        (
            ContinuousValue(
                series=series, time=start + dt.timedelta(minutes=15 * i), value=100 + i % 97, approval_status="Approved"
            )
            for i in range(VALUES)
        ),
        batch_size=10_000,
    )
    return series


def _slow_reader(port: int, path: str, headers: dict[str, str]) -> tuple[socket.socket, str]:
    """Send a GET, read the status line, then stop reading; returns the socket (still open) and the status."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = sock.recv(64)
    return sock, head.split(b"\r\n", 1)[0].decode()


def _get(port: int, path: str, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        status = int(sock.recv(64).split(b" ", 2)[1])
    return status, time.monotonic() - started


def test_one_viewer_holds_two_streams_whatever_the_tokens_and_health_keeps_answering(gunicorn, viewer, long_series):
    path = f"/api/v1/series/{long_series.time_series_id}/values"
    held = []
    try:
        statuses = []
        for n in range(THREADS + 2):  # more stalled streams than the worker has threads, a new token each
            sock, status = _slow_reader(gunicorn, path, bearer(viewer, f"token {n}"))
            held.append(sock)
            statuses.append(status)

        assert statuses.count("HTTP/1.1 200 OK") == 2
        assert statuses.count("HTTP/1.1 429 Too Many Requests") == THREADS
        status, took = _get(gunicorn, "/health/", timeout=SEND_TIMEOUT)
        assert status in (200, 503) and took < SEND_TIMEOUT  # answered while the two streams are held
    finally:
        for sock in held:
            sock.close()


def test_streams_that_stop_reading_are_cut_off_and_free_their_threads(gunicorn, viewer, long_series):
    path = f"/api/v1/series/{long_series.time_series_id}/values"
    viewers = [viewer] + [UserFactory(username=f"viewer-{n}") for n in range(1, THREADS // 2)]
    for other in viewers[1:]:
        other.groups.set(viewer.groups.all())
    held = []
    try:
        for user in viewers:  # two streams each: every thread of the worker is stuck in send()
            for n in range(2):
                sock, status = _slow_reader(gunicorn, path, bearer(user, f"token {n}"))
                held.append(sock)
                assert status == "HTTP/1.1 200 OK"

        # Without a send timeout /health/ would wait for as long as the readers stay silent.
        status, took = _get(gunicorn, "/health/", timeout=SEND_TIMEOUT * 5)

        assert status in (200, 503) and took < SEND_TIMEOUT * 5
        time.sleep(SEND_TIMEOUT * 2)  # every stalled stream has met its timeout by now, not only the first
        for sock in held:  # the server gave up on each stalled stream: what it had sent, then the connection's end
            tail, deadline = b"", time.monotonic() + 30
            while chunk := sock.recv(1 << 20):
                tail = (tail + chunk)[-64:]
                assert time.monotonic() < deadline
            assert tail and not tail.endswith(b"\r\n0\r\n\r\n")  # cut off: no last chunk of the chunked body
    finally:
        for sock in held:
            sock.close()
