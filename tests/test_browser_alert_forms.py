"""The alert channel forms read like the other forms (issue 23, item 11), on a desktop and on a phone."""

from __future__ import annotations

import pytest

from monitoring.models import AlertChannel
from tests.conftest import log_in
from tests.factories import PullConfigurationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=SIZES)
def sized_page(request, browser, live_server, operator):
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[request.param])
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, operator)
    yield page
    context.close()


def box(page, selector):
    return page.locator(selector).bounding_box()


def test_the_new_channel_form_has_proper_labels_and_full_width_boxes(sized_page):
    page = sized_page
    page.goto("/monitoring/channels/")

    assert page.locator("label[for=id_url]").inner_text() == "Webhook URL"
    assert page.locator("label[for=id_emails]").inner_text() == "Email addresses"
    options = page.locator("#id_kind option").all_inner_texts()
    assert "---------" not in options and options[0] == "Email"
    form = box(page, "#channel-form")
    assert box(page, "#id_url")["width"] > 0.9 * form["width"]
    assert box(page, "#id_kind")["height"] >= 30 and box(page, "#id_kind")["width"] >= 120
    assert "public address" in page.locator("#channel-field-url .form-text").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")


def test_a_rule_picks_configurations_with_checkboxes_and_says_what_none_means(sized_page):
    page = sized_page
    PullConfigurationFactory(name="Potomac daily")
    PullConfigurationFactory(name="Anacostia continuous")
    channel = AlertChannel.objects.create(name="Mail", kind=AlertChannel.Kind.EMAIL, emails="ops@example.org")
    page.goto(f"/monitoring/channels/{channel.pk}/")

    assert page.locator("#rule-form select[multiple]").count() == 0
    assert "Ctrl" not in page.locator("#rule-form").inner_text()
    assert "tick none for every configuration" in page.locator("#rule-field-configurations").inner_text()
    page.get_by_label("Potomac daily").check()
    page.get_by_label("Run failed", exact=True).check()
    page.get_by_role("button", name="Add rule").click()
    page.wait_for_selector("#channel-rules li:has-text('Potomac daily')")

    rule = channel.rules.get()
    assert [c.name for c in rule.configurations.all()] == ["Potomac daily"]
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
