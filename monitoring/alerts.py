"""Alert emails for failed runs, repeated failures and stale stations (DESIGN §8)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import PullRun

logger = logging.getLogger(__name__)


def run_finished(run: PullRun) -> None:
    """Called by acquisition after every run reaches a terminal status. Never raises: alerts must not fail a run."""
    try:
        _run_finished(run)
    except Exception:  # noqa: BLE001 - an alert problem is logged, never propagated into the run
        logger.exception("Alert handling failed for run %s", run.pk)


def _run_finished(run: PullRun) -> None:
    # First version: the full alert logic (emails, alert state, auto-disable) lands shortly.
    return None
