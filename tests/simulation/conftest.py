"""Fixtures of the simulation: the engine's clock on the fake's, no broker, Django's default CONN_MAX_AGE=0."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from tests.acquisition_factories import FAST_QUOTA
from tests.simulation import engine
from tests.simulation.machine import CLOCK, ENV, STATS


@pytest.fixture
def simulation(settings, monkeypatch):
    """Everything a sequence needs besides its own fake (the machine starts one per sequence)."""
    settings.USGS_API_KEY = ""
    settings.USGS_REQUESTS_PER_HOUR = FAST_QUOTA
    settings.USGS_BACKOFF_BASE = 0.01
    ENV.settings = settings
    monkeypatch.setattr(timezone, "now", CLOCK.now)
    sent: list = []
    engine.mute_task_sends(monkeypatch, sent)
    from monitoring import alerts  # alerts would queue mail through the broker; the simulation judges the data

    monkeypatch.setattr(alerts, "run_finished", lambda run: None)
    # Django's default, and what SQLite always has: a connection closed where the engine drops it.
    old = connection.settings_dict.get("CONN_MAX_AGE")
    connection.settings_dict["CONN_MAX_AGE"] = 0
    connection.close()
    yield sent
    connection.settings_dict["CONN_MAX_AGE"] = old
    CLOCK.fake = None


def pytest_terminal_summary(terminalreporter):
    if not STATS.sequences:
        return
    write = terminalreporter.write_line
    terminalreporter.section("simulation (tests/simulation)")
    write(
        f"sequences run: {STATS.sequences}; steps run: {STATS.steps - STATS.sequences}; "
        f"invariant checks made: {STATS.checks}; failures found: {len(STATS.failures)}"
    )
    for number, failure in enumerate(STATS.failures, 1):
        write(f"--- failure {number}")
        for line in failure.splitlines():
            write(line)
