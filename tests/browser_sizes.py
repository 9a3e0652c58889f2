"""A page at each size a person uses, desktop 1366×900 and phone 390×844: `pytest_plugins = ["tests.browser_sizes"]`."""

from __future__ import annotations

import pytest

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def sized_page(request, browser, live_server):
    width, height = SIZES[request.param]
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.size_name = request.param
    yield page
    context.close()
