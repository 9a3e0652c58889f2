"""A run's log lines (monitoring.PullLogEntry) and the client hook that writes them as the run goes.

Lines are written immediately (autocommit, outside any station transaction) so the run page's live log shows them
while the station is still working; a failed station's lines stay even though its values rolled back.
"""

from __future__ import annotations

import logging

from django.db.models import F
from django.utils import timezone

from monitoring.models import PullLogEntry, PullRun, PullRunStation

logger = logging.getLogger("acquisition.runs")

INFO = PullLogEntry.Level.INFO
WARNING = PullLogEntry.Level.WARNING
ERROR = PullLogEntry.Level.ERROR
DEBUG = PullLogEntry.Level.DEBUG

_MAX_MESSAGE = 4000


def log(run_id: int, message: str, *, level: int = INFO, location_id: int | None = None) -> PullLogEntry:
    """Write one line of run `run_id`'s log (and the same line to the process log)."""
    logger.log(level, "run %s: %s", run_id, message)
    message = message[:_MAX_MESSAGE]
    return PullLogEntry.objects.create(run_id=run_id, level=level, location_id=location_id, message=message)


def touch(run_id: int) -> None:
    """Mark the run alive; the janitor fails runs whose heartbeat stops."""
    PullRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())


class StationEvents:
    """The USGSClient `on_event` hook for one station of one run.

    Moves the station's page and request counters (the run page's progress) and writes retries and errors, with
    their reasons and URLs, to the run log.
    """

    def __init__(self, run_station: PullRunStation, site: str) -> None:
        self.run_id = run_station.run_id
        self.station_pk = run_station.pk
        self.location_id = run_station.location_id
        self.site = site
        self.client = None  # set once the client exists: its request count is copied on every event
        self.pages = 0
        self.values = 0
        self.echo = None  # run_pull's progress display: called with every line this station logs

    def say(self, message: str, *, level: int = INFO) -> None:
        """A line about this station in the run log (and on the echo, when one is set)."""
        log(self.run_id, message, level=level, location_id=self.location_id)
        if self.echo is not None:
            self.echo(message)

    def _requests(self) -> int:
        return getattr(self.client, "requests_made", 0) or 0

    def __call__(self, kind: str, message: str, data: dict) -> None:
        try:
            self._record(kind, message, data)
        except Exception:  # progress display must never break the pull itself
            logger.warning("could not record %s event for run %s", kind, self.run_id, exc_info=True)

    def _record(self, kind: str, message: str, data: dict) -> None:
        now = timezone.now()
        if kind == "page":
            self.pages += 1
            features = int(data.get("features") or 0)
            self.values += features
            PullRunStation.objects.filter(pk=self.station_pk).update(
                pages_fetched=F("pages_fetched") + 1, requests_made=self._requests()
            )
            PullRun.objects.filter(pk=self.run_id).update(heartbeat_at=now)
            quota = data.get("ratelimit_remaining")
            suffix = f"; quota left {quota}" if quota is not None else ""
            self.say(f"{self.site}: {message}{suffix}")
        elif kind == "retry":
            PullRunStation.objects.filter(pk=self.station_pk).update(requests_made=self._requests())
            PullRun.objects.filter(pk=self.run_id).update(heartbeat_at=now)
            self.say(f"{self.site}: {message}", level=WARNING)
        elif kind == "error":
            PullRunStation.objects.filter(pk=self.station_pk).update(requests_made=self._requests())
            self.say(f"{self.site}: {message}", level=ERROR)
        else:
            self.say(f"{self.site}: {message}", level=DEBUG)

    def throttled(self, wait: float) -> None:
        """The shared rate limiter made us wait: say so once per wait and keep the run's heartbeat fresh."""
        touch(self.run_id)
        if wait >= 1.0:
            log(
                self.run_id,
                f"{self.site}: waiting {wait:.0f} s for the shared USGS request quota (USGS_REQUESTS_PER_HOUR)",
                level=DEBUG,
                location_id=self.location_id,
            )
