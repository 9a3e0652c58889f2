"""Locust users for `make load` (started by bench/load.py, which seeds the data and passes it in LOAD_* variables).

- `OperatorUser`: logs in through the login form (CSRF and all), then searches stations (HTMX fragment and full
  page), adds stations to the basket (HTMX POST with the CSRF header), opens configuration pages and polls a run log.
- `PollerUser`: logs in, then polls a run's live log fragment every ~2 s, like an open run page does.
"""

from __future__ import annotations

import itertools
import os
import random
import re
from html import unescape

from locust import HttpUser, between, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "")
USERNAMES = os.environ.get("LOAD_USERNAMES", "").split(",")
STATION_IDS = os.environ.get("LOAD_STATION_IDS", "").split(",")
CONFIG_IDS = [int(x) for x in os.environ.get("LOAD_CONFIG_IDS", "0").split(",")]
RUN_IDS = [int(x) for x in os.environ.get("LOAD_RUN_IDS", "0").split(",")]
STATES = ["MD", "VA", "PA", "CA", "TX", "CO", "NY", "GA", ""]
WORDS = ["creek", "river", "potomac", "branch", "big", "fork", "run", "0164", "0159", "near", ""]
HTMX = {"HX-Request": "true"}
_SESSIONS = itertools.cycle(os.environ.get("LOAD_SESSIONS", "").split(","))
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class _LoggedIn(HttpUser):
    abstract = True

    def on_start(self) -> None:
        page = self.client.get("/accounts/login/", name="login form")
        match = _CSRF_FIELD.search(page.text)
        token = match.group(1) if match else ""
        with self.client.post(
            "/accounts/login/",
            data={"username": random.choice(USERNAMES), "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login answered {response.status_code}, not a redirect")

    def csrf_headers(self) -> dict[str, str]:
        return {**HTMX, "X-CSRFToken": self.client.cookies.get("csrftoken", "")}

    def poll(self) -> None:
        """Poll like an open run page: follow the URL the page's `#run-live` element carries (`?after=…&v=…&state=…`),
        which each poll response replaces with the next one; reload the page when the run has ended."""
        if not hasattr(self, "poll_urls"):
            self.poll_urls: dict[int, str] = {}
        run_id = getattr(self, "watched_run", None) or random.choice(RUN_IDS)
        url = self.poll_urls.get(run_id)
        if url is None:
            page = self.client.get(f"/monitoring/runs/{run_id}/", name="run page")
            url = _poll_url(page.text)
            if url is None:
                return
        response = self.client.get(url, headers=HTMX, name="run log poll")
        next_url = _poll_url(response.text)
        if next_url is None:
            self.poll_urls.pop(run_id, None)
        else:
            self.poll_urls[run_id] = next_url


_RUN_LIVE = re.compile(r'<div id="run-live"[^>]*?hx-get="([^"]+)"')


def _poll_url(html: str) -> str | None:
    match = _RUN_LIVE.search(html)
    return unescape(match.group(1)) if match else None


class OperatorUser(_LoggedIn):
    wait_time = between(0.5, 2.0)

    @task(6)
    def search_fragment(self) -> None:
        params = {"q": random.choice(WORDS), "state": random.choice(STATES), "page": random.randint(1, 3)}
        self.client.get("/stations/", params=params, headers=HTMX, name="search (htmx)")

    @task(2)
    def search_page(self) -> None:
        params = {"q": random.choice(WORDS), "state": random.choice(STATES)}
        self.client.get("/stations/", params=params, name="search page")

    @task(3)
    def basket_add(self) -> None:
        with self.client.post(
            "/stations/basket/add/",
            data={"id": random.choice(STATION_IDS)},
            headers=self.csrf_headers(),
            name="basket add",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"basket add answered {response.status_code}")

    @task(2)
    def configuration_page(self) -> None:
        self.client.get(f"/pulls/{random.choice(CONFIG_IDS)}/", name="configuration page")

    @task(1)
    def configuration_list(self) -> None:
        self.client.get("/pulls/", name="configuration list")

    @task(4)
    def run_log_poll(self) -> None:
        self.poll()


class PollerUser(_LoggedIn):
    """An open run page: one poll every 2 s (the page's `hx-trigger="every 2s"`).

    Pollers carry sessions bench/load.py made directly: 200 form logins would measure PBKDF2, not polling.
    """

    wait_time = between(1.8, 2.2)

    def on_start(self) -> None:
        self.client.cookies.set("sessionid", next(_SESSIONS))
        self.watched_run = random.choice(RUN_IDS)  # one open run page per poller

    @task
    def run_log_poll(self) -> None:
        self.poll()
