"""Shared fixtures: the three kinds of user, a real-browser harness, and capability markers.

Markers `browser`, `postgres`, `redis`, `worker` and `pgbouncer` skip with a reason where the part is absent; with
STREAMFLOW_REQUIRE_ALL=1 (set by .ci/run) an absent part is an error in the test's setup, so the run exits non-zero.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import caches

from streamflow.roles import OPERATORS, VIEWERS
from tests.factories import UserFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Debian installs it in /usr/sbin, which a non-root PATH may lack.
PGBOUNCER = os.environ.get("PGBOUNCER_PATH") or shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
REQUIRE_ALL = os.environ.get("STREAMFLOW_REQUIRE_ALL") == "1"
PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    # Django's production hasher (PBKDF2, 1.2 million rounds) takes about a second per password on a small CI
    # machine, and the suite creates and logs in hundreds of users. Tests of the login flow do not depend on
    # which hasher; the settings keep Django's default (checked in tests/test_settings_security.py).
    from django.test.utils import override_settings

    # Tests have no network: the maps draw the state outlines shipped in static/map/, never tiles.
    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], MAP_TILE_URL="").enable()


# PostgreSQL partitions continuous values by month and has no default partition (acquisition/partitions.py): the
# engine creates the months it writes, but tests that bulk_create values directly need theirs to exist.
TEST_PARTITIONS_FROM = dt.date(2015, 1, 1)


def ensure_test_partitions() -> None:
    from acquisition import partitions

    if partitions.is_partitioned():
        partitions.ensure(partitions.months(TEST_PARTITIONS_FROM, dt.date.today() + dt.timedelta(days=2 * 366)))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_test_partitions()


@pytest.fixture(autouse=True)
def empty_caches():
    """Each test starts with empty caches: a locmem cache lives as long as the process, and SQLite gives a rolled
    back test's primary keys to the next one, so a cached answer could match another test's catalog."""
    for cache in caches.all(initialized_only=True):
        cache.clear()


def _missing_parts() -> dict[str, str]:
    missing = {}
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        missing["postgres"] = "needs DATABASE_URL=postgres://… (runs in .ci/run)"
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        missing["redis"] = "needs CELERY_BROKER_URL=redis://… (runs in .ci/run)"
    if "postgres" in missing or "redis" in missing:
        missing["worker"] = "a real Celery worker needs PostgreSQL and Redis (runs in .ci/run)"
    if "postgres" in missing:
        missing["pgbouncer"] = "PgBouncer pools PostgreSQL: needs DATABASE_URL=postgres://… (runs in .ci/run)"
    elif not os.path.exists(PGBOUNCER):
        missing["pgbouncer"] = "Debian's pgbouncer is not installed (apt-get install pgbouncer; .ci/run does it)"
    if not os.path.exists(CHROMIUM):
        missing["browser"] = "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing["browser"] = "the playwright package is not installed (make install)"
    return missing


REQUIRED_MISSING = pytest.StashKey[str]()


def pytest_collection_modifyitems(config, items):
    missing = _missing_parts()
    for item in items:
        for marker, reason in missing.items():
            if marker in item.keywords:
                if REQUIRE_ALL:
                    # Failed in setup (below), not xfail: an xfail that never runs leaves pytest's exit status 0.
                    item.stash[REQUIRED_MISSING] = reason
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))
                break


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    reason = item.stash.get(REQUIRED_MISSING, None)
    if reason is not None:
        pytest.fail(f"REQUIRED part missing: {reason}", pytrace=False)


def _user_in(group_name: str | None, username: str):
    user = UserFactory(username=username, password=PASSWORD)
    if group_name:
        user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def operator(db):
    return _user_in(OPERATORS, "olivia-operator")


@pytest.fixture
def viewer(db):
    return _user_in(VIEWERS, "victor-viewer")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def anonymous_client(client):
    return client


# --- Real browser -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django's ORM guard would refuse the
    # test's own queries otherwise.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def operator_page(page, operator):
    log_in(page, operator)
    return page


@pytest.fixture
def viewer_page(page, viewer):
    log_in(page, viewer)
    return page
