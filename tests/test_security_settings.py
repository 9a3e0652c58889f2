"""Production settings: cookie flags and DEBUG, read from a fresh interpreter with a production-like environment.

tests/test_settings_security.py covers the secret key; this file covers what the cookies and headers become.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {"SECRET_KEY": "p" * 50}
NAMES = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "PLAIN_HTTP",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_TIME",
    "LOGIN_ADDRESS_FAILURE_LIMIT",
    "SESSION_COOKIE_AGE",
]


def _load(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DEBUG", "PLAIN_HTTP") and not k.startswith(("SECURE_", "LOGIN_", "SESSION_"))
    }
    clean.update(PRODUCTION)
    clean.update(env)
    code = (
        "import json, streamflow.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {NAMES!r}}}, default=str))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def production_settings(**env: str) -> dict:
    result = _load(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_stays_off_even_when_tls_is_configured():
    assert production_settings(SECURE_SSL_REDIRECT="1")["DEBUG"] is False


def test_behind_tls_the_session_and_csrf_cookies_are_secure_httponly_and_samesite():
    s = production_settings(SECURE_SSL_REDIRECT="1")
    assert s["SESSION_COOKIE_SECURE"] is True
    assert s["CSRF_COOKIE_SECURE"] is True
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert s["CSRF_COOKIE_SAMESITE"] in ("Lax", "Strict")


def test_session_cookie_secure_can_be_asked_for_without_the_redirect():
    s = production_settings(SESSION_COOKIE_SECURE="1")
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True


def test_production_is_https_by_default_secure_cookies_and_a_year_of_hsts():
    s = production_settings()
    assert s["PLAIN_HTTP"] is False
    assert s["SESSION_COOKIE_SECURE"] is True and s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600


def test_plain_http_is_an_explicit_opt_out_cookies_stay_httponly_and_samesite():
    """Plain HTTP (a private network): a Secure cookie would never come back and login would loop."""
    s = production_settings(PLAIN_HTTP="1")
    assert s["SESSION_COOKIE_SECURE"] is False and s["CSRF_COOKIE_SECURE"] is False
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_with_debug_is_plain_http_unless_told_otherwise():
    assert production_settings(DEBUG="1")["SESSION_COOKIE_SECURE"] is False
    assert production_settings(DEBUG="1", PLAIN_HTTP="0")["SESSION_COOKIE_SECURE"] is True


def test_headers_refuse_framing_and_sniffing_in_production():
    s = production_settings()
    assert s["X_FRAME_OPTIONS"] == "DENY"
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True


def test_a_tls_proxy_header_is_trusted_only_when_asked_for():
    assert production_settings()["SECURE_PROXY_SSL_HEADER"] is None
    assert production_settings(BEHIND_TLS_PROXY="1")["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_debug_is_on_only_when_asked_for_explicitly(value):
    assert production_settings(DEBUG=value)["DEBUG"] is True


def test_login_throttling_comes_from_the_environment():
    s = production_settings(LOGIN_FAILURE_LIMIT="8", LOGIN_COOLOFF_MINUTES="30", LOGIN_ADDRESS_FAILURE_LIMIT="200")
    assert (s["AXES_FAILURE_LIMIT"], s["AXES_COOLOFF_TIME"], s["LOGIN_ADDRESS_FAILURE_LIMIT"]) == (8, "0:30:00", 200)


@pytest.mark.parametrize("name", ["LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES", "LOGIN_ADDRESS_FAILURE_LIMIT"])
def test_a_login_limit_of_zero_fails_loudly(name):
    result = _load(**{name: "0"})
    assert result.returncode != 0
    assert name in result.stderr


def test_the_session_idle_timeout_comes_from_the_environment():
    assert production_settings()["SESSION_COOKIE_AGE"] == 120 * 60
    assert production_settings(SESSION_IDLE_MINUTES="30")["SESSION_COOKIE_AGE"] == 30 * 60
    result = _load(SESSION_IDLE_MINUTES="0")
    assert result.returncode != 0
    assert "SESSION_IDLE_MINUTES" in result.stderr


def test_a_trusted_proxy_that_is_not_an_address_fails_loudly():
    result = _load(TRUSTED_PROXIES="10.0.0.5,proxy.internal")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr and "proxy.internal" in result.stderr
