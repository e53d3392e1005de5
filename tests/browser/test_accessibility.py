"""axe-core (the engine behind Lighthouse's accessibility audit) finds nothing to fix on the
pages a customer uses, including the open sheet and the payment dialog."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from billing.models import Invoice
from tests.conftest import wait_until_settled

pytestmark = pytest.mark.browser


def violations(page) -> list[str]:
    wait_until_settled(page)
    result = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} at {[node['target'] for node in v['nodes'][:3]]}"
        for v in result.response["violations"]
    ]


def test_the_customer_pages_have_no_accessibility_violations(page, live_server, demo, log_in):
    page.goto(f"{live_server.url}/accounts/login/")
    assert violations(page) == []
    log_in()
    number = Invoice.objects.filter(customer__number="C-10001", status="overdue").first().number
    for path in [
        "/dashboard/",
        "/invoices/",
        "/invoices/?status=unpaid",
        f"/invoices/{number}/",
        f"/invoices/{number}/pay/",
        "/account/",
        "/account/?tab=contact",
        "/account/?tab=settings",
        "/usage/",
    ]:
        page.goto(f"{live_server.url}{path}")
        assert violations(page) == [], path


def test_the_open_sheet_and_dialog_have_no_accessibility_violations(
    page, live_server, demo, log_in
):
    log_in()
    page.goto(f"{live_server.url}/invoices/?status=unpaid")
    page.locator(".invoice-link").first.click()
    expect(page.locator("#sheet")).to_have_attribute("open", "")
    assert violations(page) == []
    page.get_by_role("dialog").get_by_role("link", name="Pay Now").click()
    expect(page.locator("#modal")).to_have_attribute("open", "")
    assert violations(page) == []
