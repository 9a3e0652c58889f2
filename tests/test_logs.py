"""LOG_FORMAT=json: one JSON object per line with the context ids; no key, token or secret in any line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from acquisition.models import PullRun
from acquisition.smart_append import run_inline
from streamflow import logs
from tests.acquisition_factories import make_configuration

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = pytest.mark.django_db

API_KEY = "usgs-key-that-must-never-be-logged-7f3a9c"
SITES = ["USGS-01646500", "USGS-01638500"]


@pytest.fixture
def json_log():
    """Everything logged to the root logger, through the handler LOG_FORMAT=json configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    handler.addFilter(logs.RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_a_pull_logs_json_lines_with_the_run_id_and_never_the_api_key(json_log, fake_usgs, settings):
    fake_usgs.require_key = API_KEY
    settings.USGS_API_KEY = API_KEY
    fake_usgs.faults.retry_after = 0
    fake_usgs.faults.rate_limit_next = 1  # a retry line, which names the URL asked for
    config = make_configuration(fake_usgs, SITES)

    run = run_inline(config)

    assert run.status == PullRun.Status.SUCCEEDED, run.message
    assert all(r.headers.get("X-Api-Key") == API_KEY for r in fake_usgs.requests)  # the key was really sent
    output = json_log.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    run_lines = [line for line in lines if line["message"].startswith(f"run {run.pk}: ")]
    assert len(run_lines) >= 5
    assert all(line["run"] == run.pk for line in run_lines)
    assert any("HTTP 429" in line["message"] for line in run_lines)
    assert API_KEY not in output


def test_keys_tokens_and_registered_secrets_are_redacted_from_messages_and_tracebacks(json_log, settings):
    settings.USGS_API_KEY = API_KEY
    settings.METRICS_TOKEN = "metrics-token-abcdef"
    logs.register_secret("whsec-channel-secret-123456")
    log = logging.getLogger("tests.redaction")

    log.warning("headers %s", {"X-Api-Key": "other-key-1", "Authorization": "Bearer tok-2"})
    log.info("GET https://example.org/x?api_key=qs-key-3&f=json with key %s", API_KEY)
    log.info("signing with whsec-channel-secret-123456, metrics token metrics-token-abcdef")
    try:
        raise ValueError(f"boom with {API_KEY}")
    except ValueError:
        log.exception("failed")

    output = json_log.getvalue()
    for secret in (API_KEY, "other-key-1", "tok-2", "qs-key-3", "whsec-channel-secret-123456", "metrics-token-abcdef"):
        assert secret not in output
    assert output.count(logs.REDACTED) >= 7
    assert "f=json" in output  # only the secret part goes
    assert json.loads(output.splitlines()[-1])["exception"].startswith("Traceback")


def test_bound_ids_and_extra_ids_are_fields(json_log):
    log = logging.getLogger("tests.context")

    with logs.bound(run=12, configuration=3):
        log.info("inside")
    log.info("outside", extra={"station": "USGS-01646500"})

    inside, outside = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert (inside["run"], inside["configuration"]) == (12, 3)
    assert "run" not in outside and outside["station"] == "USGS-01646500"


def test_each_request_gets_an_id_in_its_response(json_log, operator_client):
    response = operator_client.get("/monitoring/runs/", headers={"X-Request-ID": "proxy-id-12345678"})
    other = operator_client.get("/monitoring/runs/", headers={"X-Request-ID": "bad id!"})

    assert response.status_code == other.status_code == 200

    assert response["X-Request-ID"] == "proxy-id-12345678"
    assert len(other["X-Request-ID"]) == 32 and other["X-Request-ID"] != "bad id!"


def test_the_request_id_is_on_the_lines_a_view_logs(json_log, client, settings):
    settings.METRICS_TOKEN = "metrics-token-abcdef"
    logging.getLogger("django.request").setLevel(logging.WARNING)

    client.get("/metrics", headers={"X-Request-ID": "req-id-87654321", "Authorization": "Bearer nope"})

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    unauthorized = [line for line in lines if line["logger"] == "django.request"]
    assert unauthorized and all(line["request_id"] == "req-id-87654321" for line in unauthorized)
    assert logs._context["request_id"].get() is None  # forgotten once the response closed
