"""The engine behind PgBouncer in transaction mode (DESIGN.md §4.9, issue 21 "Must show" 3).

A private pgbouncer (Debian's package) pools the test database with `pool_mode = transaction`; `manage.py run_pull`
runs in a subprocess whose DATABASE_URL is the pooler's (and DATABASE_POOLER=transaction), against the fake USGS
server; the test then compares what is stored with the fake's truth (tests/faults/truth.py).

One client alone would usually get the same server session back for every transaction, so session state would seem
to survive by luck. The pooler here resets a server session whenever a transaction gives it back
(`server_reset_query = DISCARD ALL`, `server_reset_query_always = 1`): every transaction starts as if on another
session, which is what transaction pooling allows under load. Temporary tables, prepared statements, server-side
cursors and session advisory locks are all gone between two transactions, every time, not only on a busy day.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.utils import timezone

from acquisition.models import PullRun
from pulls.models import PullConfiguration
from tests.acquisition_factories import FAST_QUOTA, make_configuration
from tests.conftest import PGBOUNCER
from tests.fakeusgs import FakeStation, FakeUSGS
from tests.faults.truth import verify_configuration

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.pgbouncer]

STATIONS = 6
BATCH_SERIES = 4  # 6 stations: two batches (4 + 2) per run
PAGE_LIMIT = 200  # several pages per batch: several stagings between transactions


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_user() -> str | None:
    """pgbouncer refuses to run as root ("PgBouncer should not run as root"): its `user` setting drops to another
    account after startup. Debian's postgresql package makes `postgres`; else `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no postgres or nobody account for pgbouncer to switch to")


class PgBouncer:
    """A pgbouncer process of its own: config in a temporary folder, TCP on a free port of 127.0.0.1, trust auth
    (the users of its auth_file; the server's own authentication still applies, with the file's password)."""

    def __init__(self, *, pool_mode: str = "transaction", reset_every_transaction: bool = True) -> None:
        db = settings.DATABASES["default"]
        self.server_host = db.get("HOST") or "127.0.0.1"
        self.server_port = int(db.get("PORT") or 5432)
        self.user = db.get("USER") or "postgres"
        self.password = db.get("PASSWORD") or ""
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sf-pgbouncer-"))
        self.dir.chmod(0o755)
        self.log_path = self.dir / "pgbouncer.log"
        reset = "server_reset_query = DISCARD ALL\nserver_reset_query_always = 1\n" if reset_every_transaction else ""
        run_as = _unprivileged_user()
        user_line = f"user = {run_as}\n" if run_as else ""
        (self.dir / "users.txt").write_text(f'"{self.user}" "{self.password}"\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={self.server_host} port={self.server_port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.dir / 'users.txt'}\n"
            f"pool_mode = {pool_mode}\n"
            f"{reset}"
            "default_pool_size = 4\n"
            "max_client_conn = 100\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"{user_line}"
        )
        for path in self.dir.iterdir():
            path.chmod(0o644)
        self.process: subprocess.Popen | None = None

    def url(self, dbname: str) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{auth}@127.0.0.1:{self.port}/{dbname}"

    def start(self, dbname: str, timeout: float = 20.0) -> PgBouncer:
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [PGBOUNCER, str(self.dir / "pgbouncer.ini")], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start:\n{self.output()}")
            try:
                with psycopg.connect(self.url(dbname), connect_timeout=2, prepare_threshold=None) as conn:
                    conn.execute("SELECT 1")
                return self
            except psycopg.OperationalError as exc:
                last_error = exc
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"pgbouncer did not answer in {timeout:.0f} s ({last_error}):\n{self.output()}")

    def output(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pgbouncer(transactional_db):
    bouncer = PgBouncer().start(settings.DATABASES["default"]["NAME"])
    yield bouncer
    bouncer.stop()  # before the test database is flushed or dropped: its server sessions end with it


@pytest.fixture
def fake(settings):
    stations = [
        FakeStation(
            f"USGS-{41000000 + i:08d}",
            f"POOLED CREEK {i} NR SOMEWHERE PA",
            daily_begin=dt.date(2026, 1, 1),
            continuous_begin=dt.date(2026, 11, 1),
            continuous_interval=15,
        )
        for i in range(STATIONS)
    ]
    fake = FakeUSGS(stations=stations)
    settings.USGS_API_URL = fake.start()
    yield fake
    fake.stop()


def run_pull(bouncer: PgBouncer, fake: FakeUSGS, config: PullConfiguration) -> subprocess.CompletedProcess:
    """`manage.py run_pull` in a process of its own, every query through the pooler."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_POOLER")}
    env.update(
        {
            "DATABASE_URL": bouncer.url(settings.DATABASES["default"]["NAME"]),
            "DATABASE_POOLER": "transaction",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "USGS_API_URL": fake.base_url,
            "USGS_API_KEY": "",
            "USGS_REQUESTS_PER_HOUR": str(FAST_QUOTA),
            "USGS_BACKOFF_BASE": "0.01",
            "USGS_PAGE_LIMIT": str(PAGE_LIMIT),
            "ACQUISITION_BATCH_SERIES": str(BATCH_SERIES),
            "SECRET_KEY": settings.SECRET_KEY,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "run_pull", str(config.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def manage(bouncer: PgBouncer, args: list[str], *, pooler: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_POOLER")}
    env.update(
        {
            "DATABASE_URL": bouncer.url(settings.DATABASES["default"]["NAME"]),
            "DATABASE_POOLER": pooler,
            "SECRET_KEY": settings.SECRET_KEY,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _explain(result: subprocess.CompletedProcess, bouncer: PgBouncer) -> str:
    return (
        f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        f"\n--- pgbouncer\n{bouncer.output()[-2000:]}"
    )


@pytest.mark.parametrize(
    "data_type,start",
    [
        (PullConfiguration.DataType.DAILY_MEAN, dt.date(2026, 3, 1)),
        (PullConfiguration.DataType.CONTINUOUS, dt.date(2026, 11, 10)),
    ],
)
def test_runs_through_pgbouncer_in_transaction_mode_store_exactly(pgbouncer, fake, data_type, start):
    sites = [s.monitoring_location_id for s in fake.stations]
    config = make_configuration(fake, sites, start_date=start, data_type=data_type)
    kind = "daily" if data_type == PullConfiguration.DataType.DAILY_MEAN else "continuous"

    # A first load: every page of each batch staged, then each member committed in its own transaction.
    first = run_pull(pgbouncer, fake, config)

    assert first.returncode == 0, _explain(first, pgbouncer)
    run = PullRun.objects.filter(configuration=config).latest("pk")
    assert run.status == PullRun.Status.SUCCEEDED, (run.message, _explain(first, pgbouncer))
    assert run.batches.count() >= 2
    verdict = verify_configuration(fake, config)
    assert verdict.ok, verdict.summary()
    assert verdict.stored > 2 * PAGE_LIMIT  # more than a page: many pages went through the stage

    # An append after an approval wave and a revision (the fake's clock stays: its own ageing approvals carry its
    # clock as last_modified, behind the worker's last success): the merge path, updates of stored rows.
    changed = timezone.now()
    for site in sites[:3]:
        fake.approve_through(site, start + dt.timedelta(days=3), changed)
    revised_at = start + dt.timedelta(days=1)
    if kind == "continuous":
        revised_at = dt.datetime.combine(revised_at, dt.time(17, 0), tzinfo=dt.UTC)
    fake.revise(sites[-1], revised_at, 1234.5, kind=kind, last_modified=changed)

    again = run_pull(pgbouncer, fake, config)

    assert again.returncode == 0, _explain(again, pgbouncer)
    run = PullRun.objects.filter(configuration=config).latest("pk")
    assert run.status == PullRun.Status.SUCCEEDED, (run.message, _explain(again, pgbouncer))
    assert run.values_updated > 0
    verdict = verify_configuration(fake, config)
    assert verdict.ok, verdict.summary()


@pytest.mark.parametrize("pooler", ["transaction", ""])
def test_database_pooler_transaction_reads_an_iterator_without_a_server_side_cursor(pgbouncer, pooler):
    """`QuerySet.iterator()` declares a server-side cursor WITH HOLD in one transaction and fetches from it in the
    next: behind the pooler that is another session. DATABASE_POOLER=transaction turns those cursors off."""
    from django.contrib.auth.models import Group

    Group.objects.bulk_create(Group(name=f"pooled-{i}") for i in range(5))
    code = (
        "from django.contrib.auth.models import Group; "
        "print('read', sum(1 for _ in Group.objects.iterator(chunk_size=2)))"
    )

    result = manage(pgbouncer, ["shell", "-c", code], pooler=pooler)

    if pooler:
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"read {Group.objects.count()}" in result.stdout
    else:  # the control: without the setting the same read fails behind the pooler
        assert result.returncode != 0
        assert "cursor" in result.stderr and "does not exist" in result.stderr, result.stderr[-3000:]
