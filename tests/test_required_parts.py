"""CI's "nothing may skip" (tests/conftest.py): with STREAMFLOW_REQUIRE_ALL=1 a test whose part is missing fails
the run; without it the test skips with its reason.

Each test runs pytest in a subprocess over one browser test, with Chromium pointed at a path that does not exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "tests/test_browser_login.py::test_a_wrong_password_is_refused_with_a_message"


def _run_pytest(require_all: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env["CHROMIUM_PATH"] = "/nonexistent/chromium"
    env.setdefault("SECRET_KEY", "test-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz")
    env.pop("STREAMFLOW_REQUIRE_ALL", None)
    if require_all:
        env["STREAMFLOW_REQUIRE_ALL"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", TARGET, "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_part_fails_the_run_when_every_part_is_required():
    result = _run_pytest(require_all=True)

    assert result.returncode != 0, result.stdout
    assert "REQUIRED part missing" in result.stdout
    assert "chromium" in result.stdout
    assert "1 failed" in result.stdout or "1 error" in result.stdout


def test_a_missing_part_skips_with_its_reason_otherwise():
    result = _run_pytest(require_all=False)

    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "chromium" in result.stdout
