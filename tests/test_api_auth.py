"""Who may call the API: tokens (missing, unknown, revoked, rate-limited), the session, and the roles."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from streamflow.models import ApiToken, RateWindow, hash_token
from tests.api_helpers import bearer, make_catalog
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/stations"


def test_it_refuses_a_request_without_credentials_with_a_json_401(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "Authorization: Bearer" in response.json()["detail"]


def test_it_refuses_an_unknown_token(client, viewer):
    response = client.get(URL, headers={"Authorization": "Bearer sfd_not-a-real-token"})
    assert response.status_code == 401
    assert "Unknown API token" in response.json()["detail"]


def test_it_refuses_a_revoked_token(client, viewer):
    headers = bearer(viewer)
    ApiToken.objects.update(revoked_at=timezone.now())
    response = client.get(URL, headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_it_refuses_another_authorization_scheme(client, viewer):
    response = client.get(URL, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_a_bad_token_is_401_even_beside_a_logged_in_session(viewer_client):
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.get(URL, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_it_reads_with_a_viewer_token_and_records_the_last_use(client, viewer):
    headers = bearer(viewer)
    token = ApiToken.objects.get()
    assert token.last_used_at is None
    assert client.get(URL, headers=headers).status_code == 200
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < dt.timedelta(seconds=10)


def test_it_stores_only_the_hash_of_a_token(viewer):
    token, plaintext = ApiToken.issue(viewer, "script")
    assert token.key_hash == hash_token(plaintext) != plaintext
    assert plaintext.startswith(token.prefix)
    assert not ApiToken.objects.filter(key_hash=plaintext).exists()


def test_an_account_without_a_role_reads_nothing(client, db):
    from tests.factories import UserFactory

    response = client.get(URL, headers=bearer(UserFactory(username="nobody")))
    assert response.status_code == 403
    assert "Viewers or Operators" in response.json()["detail"]


def test_a_viewer_writing_gets_403_and_nothing_changes(client, viewer):
    catalog = make_catalog()
    config = catalog["config"]
    response = client.post(f"/api/v1/configurations/{config.pk}/pause", headers=bearer(viewer))
    assert response.status_code == 403
    assert "Operators" in response.json()["detail"]
    config.refresh_from_db()
    assert config.enabled


def test_it_answers_429_with_retry_after_past_the_rate_limit(client, viewer, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    headers = bearer(viewer)
    assert [client.get(URL, headers=headers).status_code for _ in range(2)] == [200, 200]
    response = client.get(URL, headers=headers)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "by your account: at most 2 a minute" in response.json()["detail"]


def test_a_second_token_or_the_session_of_the_same_user_shares_the_limit(client, viewer, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    assert [client.get(URL, headers=bearer(viewer, n)).status_code for n in ("first", "second")] == [200, 200]

    assert client.get(URL, headers=bearer(viewer, "third")).status_code == 429
    client.force_login(viewer)
    assert client.get(URL).status_code == 429
    assert RateWindow.objects.get(key=f"user:{viewer.pk}").count == 4
    other = UserFactory(username="other-viewer")
    other.groups.set(viewer.groups.all())
    assert client.get(URL, headers=bearer(other)).status_code == 200  # per user, not for everyone


def test_bad_tokens_and_anonymous_calls_are_limited_per_address(client, viewer, settings):
    settings.API_ADDRESS_RATE_LIMIT_PER_MINUTE = 3
    bad = {"Authorization": "Bearer sfd_not-a-token"}
    assert [client.get(URL, headers=bad).status_code for _ in range(2)] + [client.get(URL).status_code] == [401] * 3

    refused = client.get(URL, headers=bearer(viewer))  # even a good token, from that address, this minute

    assert refused.status_code == 429 and "from your address" in refused.json()["detail"]
    assert RateWindow.objects.get(key="address:127.0.0.1").count == 4
    assert client.get(URL, headers=bearer(viewer), REMOTE_ADDR="198.51.100.7").status_code == 200


def test_the_rate_limit_window_starts_again_each_minute(client, viewer, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    headers = bearer(viewer)
    assert client.get(URL, headers=headers).status_code == 200
    RateWindow.objects.update(window_start=timezone.now() - dt.timedelta(minutes=2))
    assert client.get(URL, headers=headers).status_code == 200
    assert RateWindow.objects.get(key=f"user:{viewer.pk}").count == 1


def test_windows_long_quiet_are_forgotten(client, viewer):
    RateWindow.objects.create(key="address:192.0.2.1", window_start=timezone.now() - dt.timedelta(hours=1), count=9)

    client.get(URL, headers=bearer(viewer))

    assert not RateWindow.objects.filter(key="address:192.0.2.1").exists()


def test_the_session_works_for_reads_and_needs_csrf_for_writes(operator):
    catalog = make_catalog()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator)
    assert browser.get(URL).status_code == 200
    response = browser.post(f"/api/v1/configurations/{catalog['config'].pk}/pause")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_openapi_document_needs_credentials(client, viewer):
    assert client.get("/api/v1/openapi.json").status_code == 401
    response = client.get("/api/v1/openapi.json", headers=bearer(viewer))
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/series/{time_series_id}/values" in schema["paths"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert {"401", "403", "429"} <= operation["responses"].keys(), f"{method} {path}"


def test_the_docs_page_uses_only_local_files(viewer_client):
    assert Client().get("/api/v1/docs").status_code == 302  # to the login page
    response = viewer_client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r"https?://", html), "the docs page must not load anything from another site"
    assert '"validatorUrl": null' in html
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert src.startswith("/static/"), src
        assert viewer_client.get(src).status_code == 200


def test_the_user_menu_links_the_tokens_page_and_the_docs(viewer_client):
    html = viewer_client.get("/").content.decode()
    assert 'href="/accounts/api-tokens/"' in html
    assert 'href="/api/v1/docs"' in html
