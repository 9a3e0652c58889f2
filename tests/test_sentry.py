"""SENTRY_DSN: unset, sentry_sdk is never imported (nothing sent, no cost); set, it starts with the Django and
Celery integrations, no personal data and the package's version as the release."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from streamflow.sentry import package_version

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import django
django.setup()
import streamflow.celery, streamflow.composition.urls  # web and worker import paths
result = {"imported": "sentry_sdk" in sys.modules}
if result["imported"]:
    import sentry_sdk
    client = sentry_sdk.get_client()
    result.update(
        active=client.is_active(),
        release=client.options["release"],
        pii=client.options["send_default_pii"],
        integrations=sorted(client.integrations),
    )
print(json.dumps(result))
"""


def probe(**env_overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"}
    env.update({"DJANGO_SETTINGS_MODULE": "streamflow.settings", "SECRET_KEY": "x" * 50, **env_overrides})
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_without_a_dsn_sentry_sdk_is_not_even_imported():
    assert probe() == {"imported": False}


def test_with_a_dsn_it_starts_with_django_and_celery_no_pii_and_the_release():
    # Port 9 (discard) on loopback: nothing is listening, and this test sends no event anyway.
    got = probe(SENTRY_DSN="http://publickey@127.0.0.1:9/1")

    assert got["imported"] and got["active"]
    assert got["pii"] is False
    assert got["release"] == f"streamflow-dataops@{package_version()}"
    assert {"django", "celery"} <= set(got["integrations"])


def test_the_release_is_the_version_in_pyproject():
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert package_version() == tomllib.load(f)["project"]["version"]
