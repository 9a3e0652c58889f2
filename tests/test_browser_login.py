"""A real browser logs in, sees the dashboard, and logs out."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_logs_in_sees_the_dashboard_and_logs_out(page, viewer):
    page.goto("/")
    assert "/accounts/login/" in page.url

    page.fill("#id_username", viewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert page.locator("nav").get_by_text("Configurations").is_visible()

    page.click("#user-menu")
    page.click("#logout-button")
    page.wait_for_url("**/accounts/login/")
    page.goto("/pulls/")
    assert "/accounts/login/" in page.url


def test_a_wrong_password_is_refused_with_a_message(page, viewer):
    page.goto("/accounts/login/")
    page.fill("#id_username", viewer.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "didn't match" in page.locator(".alert-danger").inner_text()
