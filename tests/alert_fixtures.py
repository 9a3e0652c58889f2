"""Fixtures of the alert tests (tests/test_alerts.py, tests/test_quality_alerts.py), loaded with `pytest_plugins`;
those modules use `eager_tasks` for every test (pytestmark)."""

from __future__ import annotations

import pytest

from streamflow.celery import app


@pytest.fixture
def eager_tasks():
    # Alert emails and channel deliveries run in the test's process, as a worker would run them.
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Call fn as if in its own transaction: what it queued with on_commit (emails, deliveries) runs as it returns."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call
