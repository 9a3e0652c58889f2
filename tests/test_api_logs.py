"""Tokens never appear in logs: not the app's, not the request log, not an error's."""

from __future__ import annotations

import logging

import pytest

from streamflow.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_token_used_revoked_and_mistyped_leaves_no_trace_in_any_log_line(client, operator, caplog):
    _, token = ApiToken.issue(operator, "notebook")
    headers = {"Authorization": f"Bearer {token}"}
    caplog.set_level(logging.DEBUG)

    assert client.get("/api/v1/stations", headers=headers).status_code == 200
    assert client.post("/api/v1/configurations", data="{not json", content_type="application/json", headers=headers)
    ApiToken.objects.update(revoked_at="2026-12-01T00:00:00Z")
    assert client.get("/api/v1/stations", headers=headers).status_code == 401
    assert client.get("/api/v1/stations", headers={"Authorization": f"Bearer {token}x"}).status_code == 401

    assert caplog.records  # the requests did log (401s are warnings)
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(getattr(record, "request", ""))
        assert token not in text, record.name
