"""Run now and backfill as pulls asks for them. Pulls sits below the engine (DESIGN §2) and imports none of it:
it names here what it needs, and acquisition, above it, plugs the engine in when Django starts
(AcquisitionConfig.ready -> plug_in(acquisition.enqueueing)). Pulls' views and admin call this module's functions
(tests replace them here)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class RunEngine(Protocol):
    """What pulls needs of the engine; a run is acquisition's PullRun (pulls reads `.pk` and `.status`)."""

    def enqueue_run(
        self,
        configuration_id: int,
        triggered_by: str = "",
        range_start: dt.date | None = None,
        range_end: dt.date | None = None,
    ) -> Any: ...

    def active_run(self, configuration) -> Any: ...


_engine: RunEngine | None = None


def plug_in(engine: RunEngine) -> None:
    global _engine
    _engine = engine


def _plugged() -> RunEngine:
    if _engine is None:
        raise ImproperlyConfigured("No run engine is plugged in: 'acquisition' must be in INSTALLED_APPS.")
    return _engine


def enqueue_run(
    configuration_id: int,
    triggered_by: str = "",
    range_start: dt.date | None = None,
    range_end: dt.date | None = None,
) -> Any:
    """Record the run and send it to the workers (acquisition.enqueueing.enqueue_run); returns the run."""
    return _plugged().enqueue_run(configuration_id, triggered_by, range_start=range_start, range_end=range_end)


def active_run(configuration) -> Any:
    """The configuration's queued or running run, if any (the "already running" answer of Run now)."""
    return _plugged().active_run(configuration)
