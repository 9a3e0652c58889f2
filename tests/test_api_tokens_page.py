"""The API tokens page: create (shown once), list, revoke."""

from __future__ import annotations

import re

import pytest

from streamflow.models import ApiToken, hash_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PAGE = "/accounts/api-tokens/"


def test_it_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_creates_a_token_and_shows_it_once(viewer_client, viewer):
    response = viewer_client.post(PAGE, {"name": "notebook"})
    assert response.status_code == 200
    html = response.content.decode()
    plaintext = re.search(r'value="(sfd_[^"]+)"', html).group(1)
    token = ApiToken.objects.get(user=viewer)
    assert token.name == "notebook"
    assert token.key_hash == hash_token(plaintext)
    # Shown once: the page afterwards lists the token by its prefix, never the whole of it.
    again = viewer_client.get(PAGE).content.decode()
    assert plaintext not in again
    assert token.prefix in again
    assert viewer_client.get("/api/v1/stations", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200


def test_it_refuses_a_second_token_with_the_same_name(viewer_client, viewer):
    ApiToken.issue(viewer, "notebook")
    response = viewer_client.post(PAGE, {"name": "Notebook"})
    assert "already have a token with this name" in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_it_revokes_a_token(viewer_client, viewer, client):
    token, plaintext = ApiToken.issue(viewer, "notebook")
    response = viewer_client.post(f"{PAGE}{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/stations", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_it_does_not_revoke_someone_elses_token(viewer_client):
    other, _ = ApiToken.issue(UserFactory(username="someone"), "theirs")
    assert viewer_client.post(f"{PAGE}{other.pk}/revoke/").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_it_lists_only_the_users_own_tokens(viewer_client, viewer):
    ApiToken.issue(viewer, "mine")
    ApiToken.issue(UserFactory(username="someone"), "theirs")
    html = viewer_client.get(PAGE).content.decode()
    assert "mine" in html
    assert "theirs" not in html
