"""Login is required everywhere except the login page and /health/; roles decide who may change things."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["/", "/stations/", "/stations/basket/", "/pulls/", "/monitoring/runs/"]


@pytest.mark.parametrize("url", PAGES)
def test_it_redirects_anonymous_users_to_login(anonymous_client, url):
    response = anonymous_client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_it_serves_the_login_page_to_anonymous_users(anonymous_client):
    response = anonymous_client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_it_logs_in_with_the_login_form(anonymous_client, viewer):
    response = anonymous_client.post(
        reverse("login"), {"username": viewer.username, "password": "correct-horse-battery-staple"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring:dashboard")
    assert anonymous_client.get("/").status_code == 200


def test_it_logs_out_on_post(viewer_client):
    response = viewer_client.post(reverse("logout"))
    assert response.status_code == 302
    assert viewer_client.get("/").status_code == 302


def test_the_dashboard_shows_the_layout_with_navbar_and_version(viewer_client):
    response = viewer_client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    for label in ("Stations", "Basket", "Configurations", "Runs", "Dashboard"):
        assert f">{label}" in body
    assert "Streamflow DataOps v" in body
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "/static/django_htmx/htmx-2.min.js" in body


def test_the_admin_is_for_staff_only(viewer_client):
    response = viewer_client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_operators_and_viewers_have_their_permissions(operator, viewer):
    assert operator.has_perm("pulls.change_pullconfiguration")
    assert operator.has_perm("pulls.run_pullconfiguration")
    assert viewer.has_perm("pulls.view_pullconfiguration")
    assert not viewer.has_perm("pulls.change_pullconfiguration")
    assert not viewer.has_perm("pulls.run_pullconfiguration")


def test_pages_send_a_content_security_policy(viewer_client):
    response = viewer_client.get("/")
    policy = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy
    assert "default-src 'self'" in policy


def test_there_is_no_public_password_reset(anonymous_client):
    assert anonymous_client.get("/accounts/password_reset/").status_code == 404


def test_a_user_can_change_their_password(viewer_client, viewer):
    response = viewer_client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery-staple",
            "new_password1": "a-much-longer-new-passphrase",
            "new_password2": "a-much-longer-new-passphrase",
        },
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.check_password("a-much-longer-new-passphrase")


def test_a_viewer_refused_a_change_is_told_to_ask_for_the_operators_group_only(viewer_client):
    from pulls.models import PullConfiguration

    response = viewer_client.post("/pulls/new/", {"name": "x"})

    page = response.content.decode()
    assert response.status_code == 403 and not PullConfiguration.objects.filter(name="x").exists()
    assert "<strong>Operators</strong> group" in page and "<strong>Viewers</strong>" not in page
