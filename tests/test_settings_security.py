"""Production settings refuse the development secret key and a missing key; DEBUG is off by default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_settings(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    clean.update(env)
    code = "import streamflow.settings as s; print('DEBUG', s.DEBUG, 'SECURE', s.SESSION_COOKIE_HTTPONLY)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _load_settings({})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_the_development_key_in_production():
    from streamflow.settings import DEV_SECRET_KEY

    result = _load_settings({"SECRET_KEY": DEV_SECRET_KEY})
    assert result.returncode != 0
    assert "development key" in result.stderr


def test_debug_is_off_unless_asked_for():
    result = _load_settings({"SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


def test_a_bad_page_limit_fails_loudly():
    result = _load_settings({"SECRET_KEY": "x" * 50, "USGS_PAGE_LIMIT": "100000"})
    assert result.returncode != 0
    assert "USGS_PAGE_LIMIT" in result.stderr


def test_passwords_are_hashed_with_pbkdf2_outside_the_tests():
    # The test suite swaps in a fast hasher (tests/conftest.py); the settings themselves must keep Django's default.
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'streamflow.settings'; django.setup(); "
        "from django.contrib.auth.hashers import get_hasher; print(get_hasher().algorithm)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, "SECRET_KEY": "x" * 50}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pbkdf2_sha256"


def test_every_usgs_setting_the_code_names_is_a_real_documented_setting():
    """Error messages tell the operator which setting to check: each name must exist and be in the README."""
    import re

    from django.conf import settings

    readme = (ROOT / "README.md").read_text()
    names = set()
    for folder in ("acquisition", "stations", "pulls", "monitoring", "streamflow", "templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".html"):
                names |= set(re.findall(r"\bUSGS_[A-Z_]+\b", path.read_text()))
    assert "USGS_API_URL" in names
    for name in sorted(names):
        assert hasattr(settings, name), f"{name} is named in the code but is not a setting"
        assert f"`{name}`" in readme, f"{name} is not documented in README.md"


def test_database_pooler_transaction_turns_off_prepared_statements_and_server_side_cursors():
    code = (
        "import streamflow.settings as s; d = s.DATABASES['default']; "
        "print('PREPARE', d['OPTIONS']['prepare_threshold'], 'SSC', d['DISABLE_SERVER_SIDE_CURSORS'])"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")},
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://app@pooler.example:6432/streamflow?prepare_threshold=5",
        "DATABASE_POOLER": "transaction",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "PREPARE None SSC True" in result.stdout


def test_database_pooler_refuses_what_it_cannot_mean():
    base = {"SECRET_KEY": "x" * 50}
    session = _load_settings({**base, "DATABASE_URL": "postgres://app@db/streamflow", "DATABASE_POOLER": "session"})
    assert session.returncode != 0 and "DATABASE_POOLER must be" in session.stderr
    sqlite = _load_settings({**base, "DATABASE_URL": "sqlite:///var/x.sqlite3", "DATABASE_POOLER": "transaction"})
    assert sqlite.returncode != 0 and "needs a PostgreSQL DATABASE_URL" in sqlite.stderr
