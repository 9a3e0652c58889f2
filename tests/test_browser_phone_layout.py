"""What a phone shows (issue 23, item 15): every configuration's actions on screen, the workers table readable
with whole labels, and the navbar's links at WCAG AA contrast (4.5:1, measured from the computed styles) — on a
desktop and on a phone."""

from __future__ import annotations

import pytest
from django.utils import timezone

from acquisition.models import Heartbeat, PullRunBatch
from tests.conftest import log_in
from tests.factories import PullConfigurationFactory, PullRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

# The WCAG 2 contrast ratio of an element's text against what is behind it: the first ancestor with a background
# colour, the text's alpha blended over it (Bootstrap's navbar links are white at some opacity).
CONTRAST = """(el) => {
  const rgba = (s) => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  let node = el, back = null;
  while (node) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c[3] > 0) { back = c; break; }
    node = node.parentElement;
  }
  back = back || [255, 255, 255, 1];
  const f = rgba(getComputedStyle(el).color);
  const fg = [0, 1, 2].map((i) => f[i] * f[3] + back[i] * (1 - f[3]));
  const lum = (c) => {
    const [r, g, b] = c.map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(fg), lum(back)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""


@pytest.fixture(params=SIZES)
def size(request):
    return request.param


@pytest.fixture
def sized_page(browser, live_server, operator, size):
    context = browser.new_context(base_url=live_server.url, viewport=SIZES[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, operator)
    yield page
    context.close()


def on_screen(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 0.5


def test_every_configurations_actions_are_on_screen_without_scrolling_sideways(sized_page):
    page = sized_page
    for name in ["Anacostia and Potomac daily mean discharge, every six hours", "Short"]:
        PullConfigurationFactory(name=name)
    page.goto("/pulls/")

    rows = page.locator("#configurations tbody tr")
    assert rows.count() == 2
    for i in range(2):
        row = rows.nth(i)
        for name in ["View", "Edit", "Run now", "Delete", "Pause"]:
            button = row.get_by_role(role="link", name=name, exact=True).or_(
                row.get_by_role(role="button", name=name, exact=True)
            )
            assert button.is_visible() and on_screen(page, button), name
    wrapper = page.locator("#config-table .table-responsive")
    assert wrapper.evaluate("(e) => e.scrollWidth <= e.clientWidth")


def test_the_workers_table_keeps_its_labels_whole(sized_page, size):
    page = sized_page
    now = timezone.now()
    worker = "celery@alpha-long-hostname.example.internal"
    Heartbeat.objects.create(name=f"worker:{worker}", seen_at=now)
    run = PullRunFactory(status="running")
    PullRunBatch.objects.create(run=run, number=1, status="running", worker=worker, stations=7, phase="window")
    PullRunBatch.objects.create(run=run, number=2, status="finished", worker=worker, finished_at=now)
    page.goto("/monitoring/workers/")

    table = page.locator("#workers")
    assert table.evaluate(
        "(t) => t.closest('.table-responsive').scrollWidth <= t.closest('.table-responsive').clientWidth"
    )
    # Each label reads on one line (no word a line): its text is no taller than one line of its font.
    if size == "phone":
        labels = table.locator("td[data-label]").evaluate_all(
            "(cells) => cells.map((c) => { const s = getComputedStyle(c, '::before'); "
            "return {text: s.content, display: getComputedStyle(c).display}; })"
        )
        assert {label["display"] for label in labels} == {"flex"}
        assert '"Batches finished (1 h)"' in [label["text"] for label in labels]
    else:
        heads = table.locator("thead th")
        for i in range(heads.count()):
            assert heads.nth(i).evaluate("(h) => h.getClientRects().length && h.offsetHeight < 3 * parseFloat("
                                         "getComputedStyle(h).lineHeight)"), heads.nth(i).inner_text()  # fmt: skip
    for cell in table.locator("td[data-label]").all():
        assert on_screen(page, cell)


def test_navbar_links_read_at_wcag_aa_contrast(sized_page, size):
    page = sized_page
    page.goto("/")
    if size == "phone":
        page.locator(".navbar-toggler").click()
        page.locator("#main-nav.show").wait_for()
    links = page.locator(".navbar .nav-link, .navbar .navbar-brand, #user-menu, #basket-count")
    assert links.count() >= 8
    ratios = {links.nth(i).inner_text().strip(): links.nth(i).evaluate(CONTRAST) for i in range(links.count())}
    assert min(ratios.values()) >= 4.5, ratios
