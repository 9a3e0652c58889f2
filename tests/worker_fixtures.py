"""Fixtures for acquisition tests: a fake USGS server over HTTP, configurations of its stations, and a REAL
Celery worker process (`celery -A streamflow worker`) pointed at the pytest database, the broker and the fake.

Load it in a test module with `pytest_plugins = ["tests.worker_fixtures"]`; the plain helpers live in
tests/acquisition_factories.py.
The worker fixtures need PostgreSQL + Redis (mark the tests `worker`; they auto-skip elsewhere) and
`transactional_db`, since the worker can only see committed rows.

    def test_it_runs(transactional_db, celery_worker):
        fake, worker = celery_worker.fake, celery_worker
        config = make_configuration(fake, ["USGS-01646500"])
        run_configuration.delay(config.pk)
        run = wait_for_run(config)

`WorkerProcess` can also be started and stopped (or killed with SIGKILL) by hand, for fault tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.acquisition_factories import FAST_QUOTA, make_configuration, wait_for_run
from tests.fakeusgs import FakeUSGS

__all__ = ["WorkerProcess", "celery_worker", "fake_usgs", "make_configuration", "wait_for_run"]

ROOT = Path(__file__).resolve().parent.parent


# --- The fake USGS server ------------------------------------------------------------------------------


@pytest.fixture
def fake_usgs(settings):
    """A FakeUSGS on a free port, with USGS_API_URL pointing at it and fast retries for in-process clients."""
    fake = FakeUSGS()
    settings.USGS_API_URL = fake.start()
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01  # read by acquisition.throttled_client.build_client
    yield fake
    fake.stop()


# --- A real Celery worker ------------------------------------------------------------------------------


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    """`celery -A streamflow worker` in a subprocess, on the pytest database (whatever NAME it has now)."""

    def __init__(self, usgs_api_url: str, *, concurrency: int = 3, extra_env: dict[str, str] | None = None) -> None:
        self.usgs_api_url = usgs_api_url
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.hostname = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / f"test-worker-{uuid.uuid4().hex[:8]}.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": _database_url(),
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "CELERY_TASK_ALWAYS_EAGER": "0",
                "USGS_API_URL": self.usgs_api_url,
                "USGS_API_KEY": "",
                "USGS_REQUESTS_PER_HOUR": str(FAST_QUOTA),
                "SECRET_KEY": settings.SECRET_KEY,
                "CONN_MAX_AGE": "0",  # no idle connections left to block the test database's teardown
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0, *, purge: bool = True) -> WorkerProcess:
        """Start and wait until the worker says it is ready. `purge=False` keeps queued tasks (a restart)."""
        from streamflow.celery import app

        if purge:
            app.control.purge()  # tasks left by an earlier test must not run against this one's data
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "streamflow", "worker",
                "--loglevel=INFO", "--pool=prefork", f"--concurrency={self.concurrency}",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", self.hostname,
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() can signal the pool children too
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited at start:\n{self.output()}")
            if " ready." in self.output():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the Celery worker did not become ready in {timeout:.0f} s:\n{self.output()}")

    def output(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the worker and its pool: a worker lost mid-task, as when a machine dies."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown: finish current tasks
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
        self._log.close()
        self.log_path.unlink(missing_ok=True)


@pytest.fixture
def celery_worker(transactional_db, fake_usgs):
    """A started WorkerProcess (attribute `.fake`: the FakeUSGS it talks to); stopped after the test."""
    worker = WorkerProcess(fake_usgs.base_url)
    worker.fake = fake_usgs
    worker.start()
    yield worker
    worker.stop()
