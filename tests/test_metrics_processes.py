"""Must show (issue 16): after a real pull on PostgreSQL + Redis, /metrics as served by two separate web processes
(gunicorn, two ports) parses with prometheus_client's parser, equals the database's numbers, and is the same in
both processes — every number is read from the database, none from a process's memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Sum
from prometheus_client.parser import text_string_to_metric_families

from acquisition.models import PullRun
from acquisition.smart_append import run_inline
from tests.acquisition_factories import make_configuration
from tests.worker_fixtures import _database_url

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-for-the-process-test"
SITES = ["USGS-01646500", "USGS-01638500", "USGS-01643000"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def two_web_processes(transactional_db):
    ports = [_free_port(), _free_port()]
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "METRICS_TOKEN": TOKEN,
            "CONN_MAX_AGE": "0",  # no idle connection left to block the test database's teardown
        }
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "streamflow.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        yield ports, processes
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=10)


def test_two_web_processes_report_the_database_numbers_after_a_real_pull(two_web_processes, fake_usgs):
    ports, processes = two_web_processes
    config = make_configuration(fake_usgs, SITES, name="Potomac basin")
    first = run_inline(config)
    fake_usgs.faults.retry_after = 0
    fake_usgs.faults.rate_limit_next = 1  # one 429, retried: it shows in the run log and in the metrics
    second = run_inline(config)
    assert first.status == second.status == PullRun.Status.SUCCEEDED

    a, b = _scrape(ports[0]), _scrape(ports[1])

    assert a == b
    assert {p.pid for p in processes} and processes[0].pid != processes[1].pid
    db = PullRun.objects.filter(configuration=config).aggregate(
        inserted=Sum("values_inserted"),
        updated=Sum("values_updated"),
        unchanged=Sum("values_unchanged"),
        requests=Sum("requests_made"),
    )
    label = ("configuration", "Potomac basin")
    assert a[("streamflow_runs_total", (label, ("status", "succeeded")))] == 2
    for outcome in ("inserted", "updated", "unchanged"):
        assert a[("streamflow_values_total", (label, ("outcome", outcome)))] == db[outcome]
    assert db["inserted"] > 0 and db["unchanged"] > 0
    assert a[("streamflow_usgs_requests_total", (label,))] == db["requests"] == len(fake_usgs.requests)
    assert a[("streamflow_run_duration_seconds_count", ())] == 2
    assert a[("streamflow_station_duration_seconds_count", ())] == 2 * len(SITES)
    assert a[("streamflow_usgs_retries_last_hour", (("cause", "http_429"),))] == 1
    assert a[("streamflow_runs_active", (("status", "running"),))] == 0
