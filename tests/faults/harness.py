"""Helpers for the fault scenarios: workers, beat, triggering runs and waiting for them to settle."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

from django.db.models import Q
from django.utils import timezone

from acquisition import janitor, run_bookkeeping
from acquisition.models import PullLogEntry, PullRun, PullRunStation
from acquisition.tasks import run_configuration
from pulls.models import PullConfiguration
from tests.fakeusgs import FakeUSGS
from tests.worker_fixtures import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]
PAGE_LIMIT = 25  # small pages, so a station's window takes many requests and a fault can land between them
START = dt.date(2026, 1, 1)  # ~320 daily values per station up to the fake's today (2026-11-20): 13 pages


def start_worker(fake: FakeUSGS, *, concurrency: int = 2, purge: bool = True) -> WorkerProcess:
    worker = WorkerProcess(fake.base_url, concurrency=concurrency, extra_env={"USGS_PAGE_LIMIT": str(PAGE_LIMIT)})
    if purge:
        return worker.start(timeout=60)
    # A restart keeps what is queued: that is the point of restarting.
    with mock.patch("celery.app.control.Control.purge", return_value=0):
        return worker.start(timeout=60)


def trigger(config: PullConfiguration) -> None:
    run_configuration.delay(config.pk, PullRun.Trigger.MANUAL, "fault suite")


def data_requests(fake: FakeUSGS) -> int:
    return sum(n for path, n in fake.path_counts.items() if path.endswith(("/daily/items", "/continuous/items")))


def statuses(fake: FakeUSGS) -> dict[int, int]:
    out: dict[int, int] = {}
    for record in list(fake.requests):
        if record.status is not None:
            out[record.status] = out.get(record.status, 0) + 1
    return out


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def newest_run(config_id: int, after: int = 0) -> PullRun | None:
    return (
        PullRun.objects.filter(configuration_id=config_id, pk__gt=after)
        .exclude(status=PullRun.Status.SKIPPED)
        .order_by("-pk")
        .first()
    )


def wait_run_end(run_id: int, *, quiet_for: float = 12.0, timeout: float = 90.0) -> tuple[PullRun, bool]:
    """Wait until the run ends by itself: (run, True). If nothing moves for `quiet_for` seconds while it is still
    active (its tasks were lost), return (run, False)."""
    deadline = time.monotonic() + timeout
    last_state, last_change = None, time.monotonic()
    while time.monotonic() < deadline:
        run = PullRun.objects.get(pk=run_id)
        if not run.is_active:
            return run, True
        state = list(PullRunStation.objects.filter(run_id=run_id).values_list("status", "windows_done", "attempts"))
        state.append(run.heartbeat_at)
        if state != last_state:
            last_state, last_change = state, time.monotonic()
        elif time.monotonic() - last_change > quiet_for:
            return run, False
        time.sleep(0.25)
    return PullRun.objects.get(pk=run_id), False


# The janitor's clock steps when a run's tasks were lost: first as it runs once a lost worker has missed its
# heartbeats for WORKER_LOST_AFTER (its running stations are resumed), then once a pending station's task has been
# silent for the pending timeout (lost from the queue: sent again). Both are minutes, not the time limit.
JANITOR_STEPS = (
    ("the lost worker's heartbeat is 2.5 min old", janitor.WORKER_LOST_AFTER + dt.timedelta(seconds=30)),
    ("pending tasks silent for 16 min", janitor.stale_after_default() + dt.timedelta(minutes=1)),
)


def resumed_lines(run_id: int) -> list[str]:
    return list(
        PullLogEntry.objects.filter(run_id=run_id, level=PullLogEntry.Level.WARNING)
        .filter(Q(message__contains="station resumed") | Q(message__contains="station sent again"))
        .values_list("message", flat=True)
    )


def settle(config: PullConfiguration, sc, *, run_id: int | None = None, attempts: int = 4) -> list[PullRun]:
    """Let the current run end; if its tasks were lost, run the janitor (with the clock steps above) so it resumes
    them; then run again until a run succeeds: the recovery an operator would see. Returns every run, in order."""
    seen: list[PullRun] = []
    for attempt in range(attempts + 1):
        if run_id is None:
            before = PullRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            trigger(config)
            run = wait_for(lambda b=before: newest_run(config.pk, b), 60, f"a new run of {config}")
            run_id = run.pk
        run, ended = wait_run_end(run_id)
        for why, step in JANITOR_STEPS:
            if ended:
                break
            stuck = list(run.stations.filter(status__in=run_bookkeeping.UNFINISHED).values_list("status", flat=True))
            sc.found(f"run #{run.pk} stuck {run.status} ({len(stuck)} stations unfinished: "
                     f"{stuck.count('running')} running, {stuck.count('pending')} pending)")  # fmt: skip
            before = len(resumed_lines(run.pk))
            janitor.janitor(now=timezone.now() + step)
            lines = resumed_lines(run.pk)[before:]
            sc.did(f"ran the janitor as it runs when {why}: {len(lines)} stations resumed"
                   + (f", e.g. “{lines[0][:110]}”" if lines else ""))  # fmt: skip
            run, ended = wait_run_end(run.pk)
        sc.found(
            f"run #{run.pk} ended {run.status}: {run.stations_succeeded}/{run.stations_total} stations, "
            f"{run.requests_made} requests, inserted {run.values_inserted}, updated {run.values_updated}, "
            f"unchanged {run.values_unchanged}" + (f" — {run.message[:120]}" if run.message else "")
        )
        seen.append(run)
        if run.status == PullRun.Status.SUCCEEDED:
            return seen
        if attempt < attempts:
            sc.did("ran the configuration again (the next scheduled run)")
        run_id = None
    raise AssertionError(f"{config} did not succeed within {attempts + 1} runs: {[r.status for r in seen]}")


class BeatProcess:
    """`celery -A streamflow beat` on the test database, as `make run` starts it."""

    def __init__(self, worker_env: dict[str, str]) -> None:
        self.env = worker_env
        self.log_path = ROOT / "var" / f"fault-beat-{uuid.uuid4().hex[:8]}.log"
        self.pidfile = self.log_path.with_suffix(".pid")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> BeatProcess:
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "streamflow", "beat", "-l", "info", "--pidfile", str(self.pidfile)],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: "beat: Starting" in self.output() or self.process.poll() is not None, timeout, "beat")
        if self.process.poll() is not None:
            raise AssertionError(f"beat exited at start:\n{self.output()}")
        return self

    def output(self) -> str:
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def _close(self) -> None:
        self.process = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        self.log_path.unlink(missing_ok=True)
        self.pidfile.unlink(missing_ok=True)
