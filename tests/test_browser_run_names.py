"""A person renames a configuration and reads its runs at desktop and phone sizes: the runs list and a run's page
name it as it is called now, with the name it had at the run beside it (issue 23, item 13)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from acquisition.models import PullRun
from tests.conftest import log_in
from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, PullRunFactory

pytest_plugins = ["tests.browser_sizes"]  # sized_page
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_runs_follow_a_rename(sized_page, operator):
    from playwright.sync_api import expect

    page = sized_page
    config = PullConfigurationFactory(name="Potomac daily")
    config.stations.add(MonitoringLocationFactory(has_daily=True))
    run = PullRunFactory(configuration=config, status=PullRun.Status.SUCCEEDED)
    log_in(page, operator)
    page.goto(reverse("pulls:edit", args=[config.pk]))
    page.fill("#id_name", "Potomac main stem daily")
    page.locator("#save-configuration").click()
    page.wait_for_url(f"**{config.get_absolute_url()}")

    page.goto(reverse("monitoring:runs"))
    expect(page.get_by_role("link", name="Potomac main stem daily")).to_be_visible()
    expect(page.locator(".run-renamed-from")).to_have_text("(was “Potomac daily”)")

    page.goto(run.get_absolute_url())
    expect(page.locator("h1")).to_contain_text("Potomac main stem daily")
    expect(page.locator("#run-renamed-from")).to_be_visible()
    expect(page.locator("#run-renamed-from")).to_contain_text("Potomac daily")
