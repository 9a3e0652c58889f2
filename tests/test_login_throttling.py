"""Login throttling (issue 12, item 2): django-axes locks a username out from one address after
LOGIN_FAILURE_LIMIT failures for LOGIN_COOLOFF_MINUTES; one address failing LOGIN_ADDRESS_FAILURE_LIMIT times over
any usernames is refused too. A refused attempt never checks a password (the cost an anonymous caller can impose),
is logged, and the login page says why and what to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.test import Client, override_settings
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LIMITS = override_settings(AXES_FAILURE_LIMIT=3, LOGIN_ADDRESS_FAILURE_LIMIT=5)


def _login(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client, username: str, times: int, address: str = "203.0.113.7") -> None:
    for _ in range(times):
        response = _login(client, username, "not-the-password", address)
        assert response.status_code in (200, 429)  # the failure that reaches the limit already answers 429
        assert "_auth_user_id" not in client.session


@pytest.fixture
def victor(db):
    return UserFactory(username="victor", password=PASSWORD)


@LIMITS
def test_it_locks_out_a_username_from_an_address_after_the_failure_limit(client, victor):
    _fail(client, "victor", 2)
    assert _login(client, "victor", "not-the-password").status_code == 429  # the third failure locks

    response = _login(client, "victor", PASSWORD)  # the right password, too late

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    body = response.content.decode()
    assert "Too many failed logins" in body
    assert "15 minutes" in body
    assert 'id="id_username"' in body  # the login page itself, with the message on it


@LIMITS
def test_a_locked_out_attempt_never_checks_a_password(client, victor):
    _fail(client, "victor", 3)

    with mock.patch("django.contrib.auth.backends.ModelBackend.authenticate") as checked:
        response = _login(client, "victor", PASSWORD)

    assert response.status_code == 429
    assert not checked.called


@LIMITS
def test_the_lockout_is_logged_with_the_username_and_address(client, victor, caplog):
    with caplog.at_level(logging.WARNING):
        _fail(client, "victor", 3)

    lockouts = [r.getMessage() for r in caplog.records if "Locking out" in r.getMessage()]
    assert lockouts and "victor" in lockouts[0] and "203.0.113.7" in lockouts[0]


@LIMITS
def test_the_same_username_from_another_address_can_still_log_in(client, victor):
    _fail(client, "victor", 3)

    response = _login(client, "victor", PASSWORD, address="198.51.100.9")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(victor.pk)


@LIMITS
def test_another_username_from_the_same_address_can_still_log_in(client, victor):
    UserFactory(username="olga", password=PASSWORD)
    _fail(client, "olga", 3)

    response = _login(client, "victor", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(victor.pk)


@LIMITS
def test_the_lockout_ends_after_the_cool_off(client, victor):
    from axes.models import AccessAttempt

    _fail(client, "victor", 3)
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))

    response = _login(client, "victor", PASSWORD)

    assert response.status_code == 302


@LIMITS
def test_a_success_before_the_limit_forgets_the_failures(client, victor):
    from axes.models import AccessAttempt

    _fail(client, "victor", 2)
    assert _login(client, "victor", PASSWORD).status_code == 302

    assert not AccessAttempt.objects.filter(username="victor").exists()


@LIMITS
def test_an_address_failing_over_many_usernames_is_refused_without_a_password_check(client, victor, caplog):
    for name in ("a", "b", "c", "d", "e"):  # five usernames, one failure each: no username reaches its limit
        _fail(client, name, 1)

    authenticate = mock.patch("django.contrib.auth.backends.ModelBackend.authenticate")
    with authenticate as checked, caplog.at_level(logging.WARNING):
        response = _login(client, "victor", PASSWORD)

    assert response.status_code == 429
    assert not checked.called
    assert "Too many failed logins" in response.content.decode()
    assert any("203.0.113.7" in r.getMessage() and "address" in r.getMessage() for r in caplog.records)
    # Another address is not affected.
    assert _login(client, "victor", PASSWORD, address="198.51.100.9").status_code == 302


def test_the_limits_are_settings_with_safe_defaults(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT == 50


def test_a_username_longer_than_axes_records_is_a_failed_login_not_a_500(client):
    # PostgreSQL refused axes' row for a 10,000-character username (its column holds 255): the login page was a 500.
    from axes.models import AccessAttempt

    response = _login(client, "x" * 10_000, "wrong")

    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "x" * 255


PROXY = "10.0.0.2"


def _via_proxy(client, username: str, password: str, forwarded_for: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


@LIMITS
def test_behind_a_trusted_proxy_one_attacker_does_not_lock_everyone_out(client, victor, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    for n in range(5):  # the address limit, over five usernames
        _via_proxy(client, f"guess-{n}", "nope", "203.0.113.66")

    refused = _via_proxy(client, "victor", PASSWORD, "203.0.113.66")
    other = Client()
    allowed = _via_proxy(other, "victor", PASSWORD, "198.51.100.7")

    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    assert allowed.status_code == 302 and other.session["_auth_user_id"] == str(victor.pk)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


@LIMITS
def test_a_forged_x_forwarded_for_is_not_believed(client, victor, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    # The client wrote "1.2.3.4, …" itself; the proxy appended the address it saw.
    for n in range(5):
        _via_proxy(client, f"guess-{n}", "nope", f"1.2.3.{n}, 203.0.113.66")

    assert _via_proxy(client, "victor", PASSWORD, "9.9.9.9, 203.0.113.66").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


@LIMITS
def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, victor, settings):
    settings.TRUSTED_PROXIES = []
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": f"guess-{n}", "password": "nope"},
            REMOTE_ADDR="203.0.113.66",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    assert _login(client, "victor", PASSWORD, "203.0.113.66").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}
