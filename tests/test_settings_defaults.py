"""Each setting's default is defined once, in streamflow/settings.py (issue 27): the code reads `settings.X`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from monitoring.alerts import absolute_url


def _settings(**env: str) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'streamflow.settings'; django.setup(); "
        "from monitoring.alerts import absolute_url; print(absolute_url('/x/'))"
    )
    environ = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    return subprocess.run(
        [sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000/x/"),
        ({"SITE_URL": ""}, "http://127.0.0.1:8000/x/"),  # set but empty: the default, as alerts used to fall back
        ({"SITE_URL": "https://flow.example.org/"}, "https://flow.example.org/x/"),
    ],
)
def test_alert_links_use_site_url_and_its_one_default(env, expected):
    assert _settings(**env) == expected


def test_absolute_url_follows_the_setting(settings):
    settings.SITE_URL = "https://other.example.org"
    assert absolute_url("/runs/1/") == "https://other.example.org/runs/1/"
