"""A run's log lines (PullLogEntry) and the client hook that writes them as a batch goes.

Lines are written immediately (autocommit, outside any station transaction) so the run page's live log shows them
while the station is still working; a failed station's lines stay even though its values rolled back.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.utils import timezone

from acquisition.models import PullLogEntry, PullRun, PullRunBatch, PullRunStation

logger = logging.getLogger("acquisition.runs")

INFO = PullLogEntry.Level.INFO
WARNING = PullLogEntry.Level.WARNING
ERROR = PullLogEntry.Level.ERROR
DEBUG = PullLogEntry.Level.DEBUG

_MAX_MESSAGE = 4000
BEAT_SECONDS = 15.0  # a waiting attempt's heartbeat: well inside the janitor's silence threshold


def log(run_id: int, message: str, *, level: int = INFO, location_id: int | None = None) -> PullLogEntry:
    """Write one line of run `run_id`'s log (and the same line to the process log)."""
    logger.log(level, "run %s: %s", run_id, message)
    message = message[:_MAX_MESSAGE]
    return PullLogEntry.objects.create(run_id=run_id, level=level, location_id=location_id, message=message)


def when(value: dt.date | dt.datetime | None) -> str:
    """A date as YYYY-MM-DD, an instant as "YYYY-MM-DD HH:MM UTC" (log lines are read by people)."""
    if value is None:
        return "now"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return f"{value:%Y-%m-%d}"


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"  # 18,141 as the pages' intcomma writes it


class BatchEvents:
    """The USGSClient `on_event` hook for one batch of one run (a batch's requests serve all its members).

    Every page moves the batch's counters and heartbeat (the janitor's sign of life), writes the batch's progress
    into each running member's row (so every member's bar moves with its batch's pages), records the quota USGS
    reported, and writes a line to the run log naming the batch and the request ("batch 3 of 12, 200 stations:
    window 2026-11-01 → now: page 2, 50,000 values"). Waits (a retry's back-off, the shared quota) and the commit
    phase beat too, so a live attempt is never silent for long.

    Every write is the attempt's own (DESIGN.md §4.9): conditional on the batch and its members still being at
    this attempt, so a superseded attempt's counters and bars never overwrite the live one's.
    """

    def __init__(self, batch: PullRunBatch, batches_total: int) -> None:
        self.batch = batch
        self.attempt = batch.attempts
        self.run_id = batch.run_id
        self.label = f"Batch {batch.number} of {batches_total}"
        self.client = None  # set once the client exists: its request count is copied on every event
        self.earlier_requests = batch.requests_made or 0  # earlier attempts' requests were made: they count
        self.pages = 0
        self.phase = ""
        self.echo = None  # run_pull's progress display
        self._later: list[PullLogEntry] = []

    def say(self, message: str, *, level: int = INFO, location_id: int | None = None, site: str = "") -> None:
        log(self.run_id, message, level=level, location_id=location_id)
        if self.echo is not None:
            self.echo(f"{site}: {message}" if site else message)

    def requests(self) -> int:
        return self.earlier_requests + (getattr(self.client, "requests_made", 0) or 0)

    def say_later(self, message: str, *, location_id: int, site: str) -> None:
        """A member's INFO line, written with the others of the batch by `flush` (one INSERT, not one commit a
        station: at 10,000 stations the per-line commits were a good part of a run's time)."""
        self._later.append(PullLogEntry(run_id=self.run_id, level=INFO, location_id=location_id, message=message))
        logger.info("run %s: %s", self.run_id, message)
        if self.echo is not None:
            self.echo(f"{site}: {message}")

    def flush(self) -> None:
        if self._later:
            PullLogEntry.objects.bulk_create(self._later, batch_size=500)
            self._later = []

    def _mine(self):
        return PullRunBatch.objects.filter(pk=self.batch.pk, attempts=self.attempt, status=PullRunBatch.Status.RUNNING)

    def set_phase(self, label: str) -> None:
        self.phase = label
        self._mine().update(phase=label[:200], heartbeat_at=timezone.now())

    def beat(self) -> None:
        """A sign of life (the commit phase writes one after each member)."""
        now = timezone.now()
        if self._mine().update(heartbeat_at=now):
            PullRun.objects.filter(pk=self.run_id).update(heartbeat_at=now)

    def sleep(self, seconds: float) -> None:
        """The client's back-off sleep, beating every BEAT_SECONDS while it waits."""
        deadline = time.monotonic() + max(0.0, seconds)
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, BEAT_SECONDS))
            self.beat()

    def window_done(self) -> None:
        self.batch.windows_done += 1
        self._save_progress()

    def _save_progress(self) -> None:
        now = timezone.now()
        batch = self.batch
        batch.requests_made = self.requests()
        if not self._mine().update(
            windows_done=batch.windows_done,
            pages_fetched=batch.pages_fetched,
            values_received=batch.values_received,
            requests_made=batch.requests_made,
            heartbeat_at=now,
        ):
            return  # superseded: the live attempt's counters stand
        PullRunStation.objects.filter(batch=batch, status=PullRunStation.Status.RUNNING, attempts=self.attempt).update(
            progress=batch.progress_percent,
            windows_done=batch.windows_done,
            pages_fetched=batch.pages_fetched,
            heartbeat_at=now,
        )
        PullRun.objects.filter(pk=self.run_id).update(heartbeat_at=now)

    def __call__(self, kind: str, message: str, data: dict) -> None:
        try:
            self._record(kind, message, data)
        except Exception:  # progress display must never break the pull itself
            logger.warning("could not record %s event for run %s", kind, self.run_id, exc_info=True)

    def _record(self, kind: str, message: str, data: dict) -> None:
        if kind == "page":
            self.pages += 1
            features = int(data.get("features") or 0)
            self.batch.pages_fetched += 1
            self.batch.values_received += features
            self._save_progress()
            quota = data.get("ratelimit_remaining")
            if quota is not None:
                record_quota(getattr(self.client, "ratelimit_limit", None), quota)
            suffix = f"; quota left {quota}" if quota is not None else ""
            what = f"{self.phase}: " if self.phase else ""
            page = data.get("page") or self.pages
            stations = plural(self.batch.stations, "station")
            self.say(f"{self.label} ({stations}): {what}page {page}, {plural(features, 'value')}{suffix}")
        elif kind == "retry":
            self._save_progress()
            self.say(f"{self.label}: {message}", level=WARNING)
        elif kind == "error":
            self._save_progress()
            self.say(f"{self.label}: {message}", level=ERROR)
        else:
            self.say(message, level=DEBUG)

    def throttled(self, wait: float) -> None:
        """The shared rate limiter made us wait: keep the heartbeats fresh and say so once per long wait."""
        self.beat()
        if wait >= 1.0:
            log(
                self.run_id,
                f"{self.label}: waiting {wait:.0f} s for the shared USGS request quota (USGS_REQUESTS_PER_HOUR)",
                level=DEBUG,
            )


def record_quota(limit: int | None, remaining: int | None) -> None:
    """What USGS last said about the hourly quota (X-RateLimit-*), for the dashboard and run pages."""
    from acquisition.models import RateLimitBucket
    from acquisition.throttled_client import BUCKET_NAME

    fields = {"quota_remaining": remaining, "quota_seen_at": timezone.now()}
    if limit is not None:
        fields["quota_limit"] = limit
    RateLimitBucket.objects.filter(name=BUCKET_NAME).update(**fields)
