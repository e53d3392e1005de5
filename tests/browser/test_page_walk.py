"""Every page a customer reads, on a laptop (1280x800) and on a phone (390x844), in English and
in Swedish: nothing runs past the screen's edge, the row menu opens inside it, no identifier
(an invoice or customer number, an email address, a service name) is broken across lines, and
axe finds nothing to fix."""

import pytest
from django.contrib.auth import get_user_model

from billing.models import Invoice
from tests.browser.conftest import violations

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (390, 844)]

# What the page measures about itself: how far it scrolls sideways, and each identifier whose
# text lies on more than one line (its Range has client rects at different heights). Service
# names are checked where they stand alone, not inside staff's free text.
MEASURE = r"""() => {
  const identifier = /INV-\d{4}-\d{4}|C-\d{5}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
  const services = ["k8s-prod-eu1", "web-frontend", "db-primary", "backups"];
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const lines = (node, start, end) => {
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, end);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    return new Set(rects.map((r) => Math.round(r.top))).size;
  };
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    for (const match of text.matchAll(identifier)) {
      if (lines(node, match.index, match.index + match[0].length) > 1) broken.push(match[0]);
    }
    const alone = text.trim();
    const at = text.indexOf(alone);
    if (services.includes(alone) && lines(node, at, at + alone.length) > 1) broken.push(alone);
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, broken};
}"""

INSIDE_VIEWPORT = """(menu) => {
  const box = menu.getBoundingClientRect();
  return box.left >= 0 && box.top >= 0 && box.right <= innerWidth && box.bottom <= innerHeight;
}"""


def pages(invoice: Invoice, credit_note: Invoice) -> list[str]:
    return [
        "/accounts/login/",
        "/dashboard/",
        "/invoices/",
        "/invoices/?status=unpaid",
        "/invoices/?status=credit_notes",
        f"/invoices/{invoice.number}/",
        f"/invoices/{invoice.number}/pay/",
        f"/invoices/{credit_note.number}/",
        "/payments/",
        "/usage/",
        "/usage/?range=90d",
        "/usage/prices/",
        "/account/",
        "/account/?tab=contact",
        "/account/?tab=settings",
        "/account/?tab=team",
        "/account/?tab=activity",
    ]


def problems_on(page, path: str) -> list[str]:
    measured = page.evaluate(MEASURE)
    found = []
    if measured["scrollWidth"] > measured["innerWidth"]:
        found.append(f"scrolls sideways: {measured['scrollWidth']} > {measured['innerWidth']}")
    if measured["broken"]:
        found.append(f"identifiers broken across lines: {sorted(set(measured['broken']))}")
    found += [f"axe: {v}" for v in violations(page)]
    return found


def row_menu_problems(page) -> list[str]:
    """The first and the last row's menu (⋮) open inside the viewport."""
    found = []
    for button in [
        page.locator("[aria-haspopup=menu]").first,
        page.locator("[aria-haspopup=menu]").last,
    ]:
        button.scroll_into_view_if_needed()
        button.click()
        menu = page.locator("[role=menu]:popover-open")
        if not menu.evaluate(INSIDE_VIEWPORT):
            found.append(f"row menu outside the viewport: {menu.bounding_box()}")
        page.keyboard.press("Escape")
    return found


@pytest.mark.parametrize("language", ["en", "sv"])
def test_every_page_fits_the_screen_in_both_languages(
    page, live_server, demo, log_in, screenshot, language
):
    get_user_model().objects.filter(email="demo@example.com").update(language=language)
    invoice = Invoice.objects.get(customer__number="C-10001", status="unpaid")
    credit_note = Invoice.objects.get(customer__number="C-10001", kind="credit_note")
    log_in()
    problems = {}
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        for path in pages(invoice, credit_note):
            page.goto(f"{live_server.url}{path}")
            found = problems_on(page, path)
            if path == "/usage/prices/":
                screenshot(f"walk-prices-{language}-{width}")
            if path == "/invoices/":
                screenshot(f"walk-invoices-{language}-{width}")
                found += row_menu_problems(page)
            if found:
                problems[f"{path} at {width}"] = found
    assert problems == {}
