"""Sessions end after SESSION_IDLE_MINUTES without activity (issue 12, item 11), not two weeks after login.

Activity moves the expiry forward, written at most once a minute (not on every request: the run page polls every
2 s); the pages' own polls are not activity, so an open dashboard does not keep a session alive forever.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

pytestmark = pytest.mark.django_db
HX_POLL = {"HX-Request": "true", "HX-Trigger": "dashboard-cards"}


def _expires_in(session_key: str) -> dt.timedelta:
    return Session.objects.get(session_key=session_key).expire_date - timezone.now()


def _expire_soon(client) -> None:
    """The session was last refreshed long ago and now has five minutes left."""
    session = client.session
    session["_idle_refreshed"] = 0
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now() + dt.timedelta(minutes=5))


def test_a_session_lasts_the_idle_timeout_not_two_weeks(settings, viewer_client):
    assert settings.SESSION_COOKIE_AGE == 120 * 60
    viewer_client.get("/")
    assert _expires_in(viewer_client.session.session_key) <= dt.timedelta(minutes=120)


def test_activity_moves_the_expiry_forward(settings, viewer_client):
    _expire_soon(viewer_client)

    response = viewer_client.get("/")

    assert response.status_code == 200
    assert _expires_in(viewer_client.session.session_key) > dt.timedelta(minutes=119)
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE


def test_requests_within_a_minute_do_not_write_the_session_again(viewer_client):
    viewer_client.get("/")
    key = viewer_client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + dt.timedelta(minutes=5))

    viewer_client.get("/")

    assert _expires_in(key) < dt.timedelta(minutes=6)


def test_a_page_poll_is_not_activity(viewer_client):
    _expire_soon(viewer_client)

    response = viewer_client.get("/", headers=HX_POLL)

    assert response.status_code == 200
    assert _expires_in(viewer_client.session.session_key) < dt.timedelta(minutes=6)


def test_an_idle_session_has_ended(viewer_client):
    key = viewer_client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    response = viewer_client.get("/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_anonymous_requests_create_no_session(client):
    client.get("/accounts/login/")
    client.get("/health/")
    assert not Session.objects.exists()
