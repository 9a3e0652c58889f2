"""Schemathesis fuzzes every operation of the live OpenAPI document through the WSGI app, as an Operator and as
a Viewer: no 5xx, and every response (its status, content type and body) as the document says.

Each example runs in a savepoint that is rolled back, so every example sees the same few stations,
configurations and runs (a DELETE does not empty the catalog for the rest) and the rate limit never trips.
Half the examples aim at the ids that exist, the rest at whatever the generator draws (mostly 404s).
Examples per operation are bounded (API_FUZZ_EXAMPLES, default 12): about 14 operations × 2 roles.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_helpers import bearer, make_catalog

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app():
    """The real WSGI application, minus what Django's test client also switches off: closing the database
    connection at each request's start and end would close the test's transaction (PostgreSQL, CONN_MAX_AGE)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _known_ids(catalog: dict) -> dict:
    return {
        "config_id": catalog["config"].pk,
        "run_id": catalog["run"].pk,
        "monitoring_location_id": catalog["potomac"].monitoring_location_id,
        "time_series_id": catalog["series"].time_series_id,
    }


def _fuzz(operation, headers: dict, known: dict, stats: dict) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), aim=st.booleans())
    def run(case, aim):
        if aim and case.path_parameters:
            for name in case.path_parameters:
                if name in known:
                    case.path_parameters[name] = known[name]
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        stats["cases"] += 1
        stats[f"{response.status_code // 100}xx"] = stats.get(f"{response.status_code // 100}xx", 0) + 1
        case.validate_response(response, checks=CHECKS)

    run()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_every_operation_conforms_to_the_schema_and_never_answers_5xx(role, request, monkeypatch, settings, wsgi_app):
    settings.API_RATE_LIMIT_PER_MINUTE = settings.API_ADDRESS_RATE_LIMIT_PER_MINUTE = 1_000_000
    # Run now and re-pull record the run; the task is not sent anywhere.
    monkeypatch.setattr("acquisition.tasks.run_configuration.delay", lambda *a, **kw: None)
    user = request.getfixturevalue(role)
    catalog = make_catalog()
    headers = bearer(user)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app, headers=headers)
    stats = {"cases": 0}
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        _fuzz(operation, headers, _known_ids(catalog), stats)
    elapsed = time.monotonic() - started
    print(f"schemathesis ({role}): {len(operations)} operations, {elapsed:.1f} s, {stats}")
    assert len(operations) >= 14
    assert stats["cases"] >= len(operations)
    assert stats.get("2xx", 0) > len(operations)  # the aimed half reaches real rows, not only 404s and 422s
