"""Security rules (DESIGN §8) checked over every URL the resolver knows, so a new URL is covered automatically.

- Anonymous users reach only the login page and /health/; everything else redirects to the login page, for GET and
  POST alike. There is no public password-reset flow.
- Every state-changing request needs the CSRF token, plain or htmx: without it, 403 and nothing changes.
- Viewers cannot change or run anything: every URL, POSTed with a plausible payload, answers 403/405 and leaves the
  database and the task queue untouched (the session basket is a viewer's own state and is allowed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from unittest import mock

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from monitoring.models import AlertChannel, AlertRule
from tests.factories import (
    MonitoringLocationFactory,
    PullConfigurationFactory,
    PullLogEntryFactory,
    PullRunFactory,
    PullRunStationFactory,
    TimeSeriesFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
PUBLIC = {"login", "health", "metrics"}  # /metrics: no login, its own bearer token (404 while METRICS_TOKEN is unset)
# A viewer's own session (the basket) and own account (log out, change password) are theirs to change.
VIEWER_ALLOWED = {
    "stations:basket-add",
    "stations:basket-add-all",
    "stations:basket-remove",
    "stations:basket-clear",
    "logout",
    "password_change",
    "login",
}
UNSAFE = ("post", "put", "patch", "delete")
# Every table a request could write; compared row by row before and after.
WATCHED = [
    "stations.MonitoringLocation",
    "stations.TimeSeries",
    "pulls.PullConfiguration",
    "pulls.PullConfigurationStation",
    "pulls.StationProgress",
    "acquisition.PullRun",
    "acquisition.PullRunStation",
    "acquisition.PullLogEntry",
    "monitoring.AlertState",
    "monitoring.AlertChannel",
    "monitoring.AlertRule",
    "monitoring.AlertDelivery",
    "acquisition.DailyValue",
    "acquisition.ContinuousValue",
    "django_celery_beat.PeriodicTask",
    "django_celery_beat.CrontabSchedule",
    "auth.User",
    "auth.Group",
]


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    pattern: str
    params: tuple[str, ...]


def discover_routes() -> list[Route]:
    """Every named URL of the project except the admin (superusers only, Django's own)."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                full_ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else ns
                if full_ns == "admin":
                    continue
                walk(p.url_patterns, prefix + str(p.pattern), full_ns)
            elif isinstance(p, URLPattern) and p.name:
                pattern = prefix + str(p.pattern)
                name = f"{namespace}:{p.name}" if namespace else p.name
                found.append(Route(name, pattern, tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))))

    walk(get_resolver().url_patterns, "", None)
    return found


ROUTES = discover_routes()


@pytest.fixture
def world(db):
    return make_world()


def make_world() -> dict:
    """One of everything a URL can point at."""
    location = MonitoringLocationFactory(monitoring_location_id="USGS-01646500", site_number="01646500", has_daily=True)
    series = TimeSeriesFactory(location=location)
    config = PullConfigurationFactory(name="Potomac daily")
    config.memberships.create(location=location)
    run = PullRunFactory(configuration=config)
    PullRunStationFactory(run=run, location=location)
    PullLogEntryFactory(run=run, location=location)
    channel = AlertChannel.objects.create(name="Ops mail", kind="email", emails="ops@example.org")
    rule = AlertRule.objects.create(channel=channel, conditions=["run_failed"])
    return {"config": config, "run": run, "location": location, "channel": channel, "rule": rule, "series": series}


def url_for(route: Route, world: dict) -> str:
    """The concrete URL of a route. A new parameter name must be taught here, so it is never skipped silently."""
    kwargs = {}
    for param in route.params:
        if param == "monitoring_location_id":
            kwargs[param] = world["location"].monitoring_location_id
        elif param == "pk" and route.name.startswith("monitoring:run"):
            kwargs[param] = world["run"].pk
        elif param == "pk" and route.name.startswith(("monitoring:channel", "monitoring:rule")):
            kwargs[param] = world["channel"].pk
        elif param == "rule_pk":
            kwargs[param] = world["rule"].pk
        elif param == "config_id":  # the JSON API's names
            kwargs[param] = world["config"].pk
        elif param == "run_id":
            kwargs[param] = world["run"].pk
        elif param == "time_series_id":
            kwargs[param] = world["series"].time_series_id
        elif param == "pk":
            kwargs[param] = world["config"].pk
        elif param in ("uidb64", "token"):
            kwargs[param] = "MQ" if param == "uidb64" else "set-password"
        else:
            raise AssertionError(f"{route.name} ({route.pattern}) has a parameter {param!r} this test cannot fill")
    return reverse(route.name, kwargs=kwargs)


def snapshot() -> dict[str, list]:
    # last_login moves with every login (force_login included); it is not something a request "changes".
    return {
        label: [
            {k: v for k, v in row.items() if k != "last_login"}
            for row in apps.get_model(label).objects.order_by("pk").values()
        ]
        for label in WATCHED
    }


def plausible_payload(world: dict) -> dict:
    """Fields a careless view would happily act on: a valid-looking configuration, a station id, toggles."""
    return {
        "name": "Written by an intruder",
        "description": "x",
        "data_type": "daily_mean",
        "strategy": "append",
        "start_date": "2026-01-01",
        "schedule_type": "hourly",
        "cron_expression": "0 * * * *",
        "timezone": "UTC",
        "enabled": "0",
        "stations": [world["location"].monitoring_location_id],
        "id": world["location"].monitoring_location_id,
        "action": "save",
        "range_start": "2026-01-01",
        "range_end": "2026-02-01",
    }


@pytest.fixture
def no_tasks():
    """Record every task sent, instead of sending it."""
    with mock.patch("celery.app.task.Task.apply_async") as sent:
        yield sent


def test_every_route_is_discovered_and_can_be_filled(world):
    names = {r.name for r in ROUTES}
    assert {"login", "health", "stations:search", "pulls:run_now", "monitoring:run_detail"} <= names
    for route in ROUTES:
        assert url_for(route, world).startswith("/")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_anonymous_users_reach_only_login_and_health(route, world, anonymous_client, no_tasks):
    url = url_for(route, world)
    before = snapshot()
    get = anonymous_client.get(url)
    post = anonymous_client.post(url, plausible_payload(world), **HTMX)
    if route.name in PUBLIC:
        assert get.status_code in (200, 302, 503, 404 if route.name == "metrics" else 200)
    elif route.name.startswith("api:"):
        # The JSON API answers a JSON 401 instead of a redirect (its docs page, a browser page, redirects; its
        # bare root is a 404).
        for response in (get, post):
            redirected = response.status_code == 302 and response["Location"].startswith(reverse("login"))
            assert response.status_code in (401, 404, 405) or redirected, (route.name, response.status_code)
    else:
        login = reverse("login")
        assert get.status_code == 302 and get["Location"].startswith(login), (route.name, get.status_code)
        assert post.status_code == 302 and post["Location"].startswith(login), (route.name, post.status_code)
    assert snapshot() == before
    assert not no_tasks.called


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_every_state_changing_request_needs_the_csrf_token(route, htmx, world, operator, no_tasks):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    client.get(reverse("stations:search"))  # a csrftoken cookie exists; only the token in the request is missing
    url = url_for(route, world)
    before = snapshot()
    for method in UNSAFE:
        extra = HTMX if htmx else {}
        response = getattr(client, method)(url, plausible_payload(world) if method == "post" else "", **extra)
        # The JSON API checks the session's CSRF token in each write operation; a method a path does not serve is
        # refused before that, with 405.
        allowed = (403, 405) if route.name.startswith("api:") else (403,)
        assert response.status_code in allowed, (route.name, method, response.status_code)
    assert snapshot() == before
    assert not no_tasks.called


def test_the_same_request_with_the_token_is_accepted(world, operator):
    """The control for the test above: it is the missing token that is refused, not the request."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    client.get(reverse("stations:search"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("stations:basket-add"), {"id": "USGS-01646500"}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200
    assert client.session["basket"] == ["USGS-01646500"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in VIEWER_ALLOWED], ids=lambda r: r.name)
def test_viewers_cannot_change_or_run_anything(route, world, viewer, operator, no_tasks):
    """A viewer's POST changes nothing and sends no task. Where the same POST by an operator does change something
    (the route mutates), the viewer must have been refused outright with 403/405."""
    url = url_for(route, world)
    before = snapshot()
    viewer_answers = []
    for headers in ({}, HTMX):
        client = Client()
        client.force_login(viewer)
        viewer_answers.append(client.post(url, plausible_payload(world), **headers).status_code)
    assert snapshot() == before, route.name
    assert not no_tasks.called, route.name
    assert 500 not in viewer_answers

    client = Client()
    client.force_login(operator)
    client.post(url, plausible_payload(world))
    mutates = snapshot() != before or no_tasks.called
    if mutates:
        assert set(viewer_answers) <= {403, 405}, (route.name, viewer_answers)


@pytest.mark.parametrize("name", ["pulls:create", "pulls:edit", "pulls:delete"])
def test_viewers_do_not_even_get_the_forms_that_change_things(name, world, viewer_client):
    route = next(r for r in ROUTES if r.name == name)
    assert viewer_client.get(url_for(route, world)).status_code == 403


def test_an_operator_can_run_what_a_viewer_cannot(world, operator_client, no_tasks):
    """The control for the viewer test: the same POST by an operator does enqueue the run."""
    response = operator_client.post(reverse("pulls:run_now", args=[world["config"].pk]))
    assert response.status_code in (200, 302)
    assert no_tasks.called


def test_responses_carry_the_browser_security_headers(operator_client):
    response = operator_client.get(reverse("stations:search"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp.split("script-src")[1].split(";")[0]


def test_a_hostile_station_name_and_log_line_are_escaped(world, operator_client):
    world["location"].name = '<script>alert("x")</script> CREEK'
    world["location"].save()
    PullLogEntryFactory(run=world["run"], location=world["location"], message="<img src=x onerror=alert(1)>")
    for url in (
        reverse("stations:search") + "?q=creek",
        reverse("stations:detail", args=[world["location"].monitoring_location_id]),
        reverse("monitoring:run_detail", args=[world["run"].pk]),
    ):
        body = operator_client.get(url).content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body, url


def test_a_login_sets_an_httponly_samesite_session_cookie(client, operator):
    from tests.conftest import PASSWORD

    page = client.get(reverse("login"))
    assert page.status_code == 200
    response = client.post(reverse("login"), {"username": operator.username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"]  # DEBUG off: Secure unless PLAIN_HTTP (tests/test_security_settings.py)


def test_with_debug_off_the_cookies_are_secure_and_https_answers_carry_hsts(client, operator):
    from tests.conftest import PASSWORD

    client.get(reverse("login"), secure=True)
    response = client.post(reverse("login"), {"username": operator.username, "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True and response.cookies["csrftoken"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True
    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_with_plain_http_the_cookies_are_not_secure_and_there_is_no_hsts(client, operator, settings):
    from tests.conftest import PASSWORD

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # what PLAIN_HTTP=1 sets
    settings.SECURE_HSTS_SECONDS = 0
    client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": operator.username, "password": PASSWORD})
    assert response.status_code == 302
    assert not response.cookies["sessionid"]["secure"] and "Strict-Transport-Security" not in response


MARKUP = '<meta http-equiv="refresh" content="0;url=https://evil.example/">'
# Every query parameter any view reads, each set to markup at once, then one at a time (a view may stop at the first
# bad one).
ECHOED_PARAMS = [
    "scale", "kind", "start", "end", "q", "state", "huc", "series", "page", "after", "level", "station", "status",
    "configuration", "trigger", "date_from", "date_to", "next", "run", "location", "change", "format", "bbox",
    "limit", "sort", "fragment", "site_type", "id",
]  # fmt: skip


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in ("logout",)], ids=lambda r: r.name)
def test_no_page_reflects_markup_from_the_query_string(route, world, operator_client):
    url = url_for(route, world)
    every = dict.fromkeys(ECHOED_PARAMS, MARKUP)
    asked = [(every, HTMX), (every, {})] + [({name: MARKUP}, {}) for name in ECHOED_PARAMS]
    for query, extra in asked:
        response = operator_client.get(url, query, **extra)
        if response.streaming:
            response.close()
            continue
        kind = response.get("Content-Type", "")
        if kind.startswith("text/html"):
            assert MARKUP not in response.content.decode(errors="replace"), (route.name, query, response.status_code)
        elif response.status_code >= 400:
            assert kind.startswith(("text/plain", "application/json")), (route.name, kind)
