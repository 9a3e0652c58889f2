"""A real browser creates a configuration from a basket of two stations and toggles it in place (issue 4, 5)."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django_celery_beat.models import PeriodicTask
from playwright.sync_api import expect

from pulls.models import PullConfiguration
from tests.factories import MonitoringLocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _put_in_basket(page, *locations) -> None:
    # The basket lives in the server-side session; seed it through the browser's own session cookie.
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session["basket"] = [loc.monitoring_location_id for loc in locations]
    session.save()


def _task_enabled(config) -> bool:
    return PeriodicTask.objects.get(name=f"pull-config-{config.pk}").enabled


def test_an_operator_creates_a_custom_schedule_from_the_basket_and_toggles_it_in_place(operator_page):
    page = operator_page
    first = MonitoringLocationFactory(name="POTOMAC RIVER NEAR WASH, DC")
    second = MonitoringLocationFactory(name="MONOCACY RIVER AT JUG BRIDGE, MD")
    _put_in_basket(page, first, second)

    page.goto("/pulls/new/")
    stations = page.locator("#station-list")
    expect(stations).to_contain_text(first.monitoring_location_id)
    expect(stations).to_contain_text(second.monitoring_location_id)
    page.fill("#id_name", "Potomac weekdays")
    page.fill("#id_start_date", "2024-01-01")
    page.fill("#id_timezone", "America/New_York")
    expect(page.locator("input#id_cron_expression[type=text]")).to_have_count(0)

    page.select_option("#id_schedule_type", "custom")  # HTMX swaps the cron field in, no page reload
    cron_field = page.locator("input#id_cron_expression[type=text]")
    expect(cron_field).to_be_visible()
    cron_field.fill("")
    cron_field.press_sequentially("*/15 6-18 * * 1-5", delay=20)
    expect(page.locator("#schedule-words")).to_have_text(
        "Every 15 minutes, between 06:00 and 18:59, Monday through Friday"
    )
    expect(page.locator("#next-runs li")).to_have_count(5)
    expect(page.locator("#next-runs")).to_contain_text(re.compile(r"(EST|EDT)"))

    cron_field.fill("0 7 * * 1")
    expect(page.locator("#schedule-words")).to_have_text("At 07:00, only on Monday")
    expect(page.locator("#next-runs li").first).to_contain_text(re.compile(r"^Mon .* 07:00 E[SD]T$"))

    cron_field.fill("0 0 30 2 *")
    expect(page.locator("#schedule-error")).to_contain_text("This schedule never runs")
    expect(page.locator("#next-runs")).to_have_count(0)

    cron_field.fill("*/15 6-18 * * 1-5")
    expect(page.locator("#next-runs li")).to_have_count(5)
    page.click("#save-configuration")

    page.wait_for_url(re.compile(r"/pulls/\d+/$"))
    config = PullConfiguration.objects.get(name="Potomac weekdays")
    assert config.cron_expression == "*/15 6-18 * * 1-5"
    assert [m.location_id for m in config.memberships.all()] == [first.pk, second.pk]
    assert _task_enabled(config) is True
    expect(page.locator("#basket-count")).to_have_text("0")

    page.goto("/pulls/")
    row = page.locator(f"#config-row-{config.pk}")
    expect(row).to_contain_text("Potomac weekdays")
    expect(row).to_contain_text("Every 15 minutes")
    page.evaluate("window.__sameDocument = true")  # survives only if the toggle does not reload the page

    row.get_by_role("button", name="Pause").click()
    expect(row.get_by_role("button", name="Resume")).to_be_visible()
    expect(row).to_contain_text("paused")
    assert _task_enabled(config) is False

    row.get_by_role("button", name="Resume").click()
    expect(row.get_by_role("button", name="Pause")).to_be_visible()
    assert _task_enabled(config) is True
    assert page.evaluate("window.__sameDocument") is True


def test_removing_a_station_from_the_form_keeps_what_was_typed(operator_page):
    page = operator_page
    first, second = MonitoringLocationFactory(), MonitoringLocationFactory()
    _put_in_basket(page, first, second)
    page.goto("/pulls/new/")
    page.fill("#id_name", "Typed before removing")
    page.get_by_role("button", name=f"Remove {first.monitoring_location_id}").click()

    expect(page.locator("#station-list")).not_to_contain_text(first.monitoring_location_id)
    expect(page.locator("#station-list")).to_contain_text(second.monitoring_location_id)
    expect(page.locator("#basket-count")).to_have_text("1")
    expect(page.locator("#id_name")).to_have_value("Typed before removing")


def test_the_forms_plain_buttons_post_to_their_own_urls_and_keep_or_drop_the_draft(operator_page):
    """The buttons "Add more from search" and "Discard them" are plain submits (formaction, issue 27): the browser
    posts the whole form to each button's own URL."""
    page = operator_page
    location = MonitoringLocationFactory()
    _put_in_basket(page, location)
    page.goto("/pulls/new/")
    page.fill("#id_name", "Kept while searching")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/pulls/new/search-stations/")):
        page.get_by_role("button", name="Add more from search").click()
    expect(page).to_have_url(re.compile(r"/stations/"))

    page.goto("/pulls/new/")
    expect(page.locator("#id_name")).to_have_value("Kept while searching")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/pulls/new/discard/")):
        page.get_by_role("button", name="Discard them").click()
    expect(page).to_have_url(re.compile(r"/pulls/new/$"))
    expect(page.locator("#id_name")).to_have_value("")
    assert not PullConfiguration.objects.exists()
