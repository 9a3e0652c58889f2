"""Enqueue a run now. The one place pulls imports acquisition (DESIGN §2: only "run now" and task routing do)."""

from __future__ import annotations


def enqueue_run(configuration_id: int, triggered_by: str = "") -> None:
    """Send the run to the workers directly (`.delay`), never through a one-off PeriodicTask (DESIGN §5)."""
    # Imported here: acquisition imports pulls, and the web process needs the task only when someone clicks.
    from acquisition.tasks import run_configuration

    run_configuration.delay(configuration_id, trigger="manual", triggered_by=triggered_by)
