"""`make demo` keeps its promise of no network (issue 23, items 11 and 14): the settings it starts with draw maps
from the shipped outlines (no tile server in the CSP), let webhooks reach this machine only, and honour another
port for the fake USGS server. Read from `make -n demo`, so the Makefile itself is what is checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'streamflow.settings'; django.setup(); "
    "from django.conf import settings as s; print(json.dumps({'tiles': s.MAP_TILE_URL, 'origins': s.MAP_TILE_ORIGINS, "
    "'img': [str(x) for x in s.SECURE_CSP['img-src']], 'hosts': s.ALERT_WEBHOOK_ALLOWED_HOSTS, "
    "'usgs': s.USGS_API_URL, 'debug': s.DEBUG}))"
)


def demo_settings(*make_args: str) -> dict:
    """The settings `make demo` (with `make_args`) starts the web server with."""
    dry_run = subprocess.run(["make", "-n", "demo", *make_args], cwd=ROOT, capture_output=True, text=True, check=True)
    line = next(line for line in dry_run.stdout.splitlines() if "manage.py runstack" in line)
    environment = line.split(" .venv/bin/python manage.py runstack", 1)[0]
    env = {k: v for k, v in os.environ.items() if k not in ("MAP_TILE_URL", "ALERT_WEBHOOK_ALLOWED_HOSTS")}
    env.pop("SECRET_KEY", None)  # DEBUG=1 and its development key, as on a laptop
    script = f"{environment} {sys.executable} -c \"{PRINT_SETTINGS}\""
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode, reason="needs make")
def test_the_demo_asks_no_tile_server_and_trusts_only_this_machine_for_webhooks():
    settings = demo_settings()

    assert settings["tiles"] == "" and settings["origins"] == []
    assert all(not source.startswith("http") for source in settings["img"])
    assert settings["hosts"] == ["localhost", "127.0.0.1"]
    assert settings["usgs"] == "http://127.0.0.1:8765/ogcapi/v1" and settings["debug"] is True


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode, reason="needs make")
def test_demo_port_moves_the_fake_usgs_server_and_the_apps_address_of_it():
    dry_run = subprocess.run(["make", "-n", "demo", "DEMO_PORT=8799"], cwd=ROOT, capture_output=True, text=True)

    assert "--port 8799" in dry_run.stdout
    assert demo_settings("DEMO_PORT=8799")["usgs"] == "http://127.0.0.1:8799/ogcapi/v1"
