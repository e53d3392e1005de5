"""axe-core (the engine behind Lighthouse's accessibility audit) finds nothing to fix on the
pages a customer uses, including the open sheet and the payment dialog."""

import pytest
from playwright.sync_api import expect

from accounts import links
from accounts.models import Contact, Customer, Invitation, Phone
from billing.models import Invoice
from tests.browser.conftest import violations

pytestmark = pytest.mark.browser


def test_the_customer_pages_have_no_accessibility_violations(page, live_server, demo, log_in):
    page.goto(f"{live_server.url}/accounts/login/")
    assert violations(page) == []
    log_in()
    number = Invoice.objects.filter(customer__number="C-10001", status="overdue").first().number
    contact = Contact.objects.filter(customer__number="C-10001").first()
    phone = Phone.objects.filter(customer__number="C-10001").first()
    for path in [
        "/dashboard/",
        "/invoices/",
        "/invoices/?status=unpaid",
        f"/invoices/{number}/",
        f"/invoices/{number}/pay/",
        "/account/",
        "/account/?tab=contact",
        "/account/?tab=settings",
        "/account/?tab=team",
        "/account/?tab=activity",
        f"/account/contacts/{contact.pk}/edit/",
        f"/account/phones/{phone.pk}/edit/",
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


def test_the_account_sheet_and_the_emailed_links_have_no_accessibility_violations(
    page, live_server, demo, log_in, settings
):
    page.set_viewport_size({"width": 390, "height": 844})
    settings.SITE_URL = live_server.url
    acme = Customer.objects.get(number="C-10001")
    pending = Contact.objects.create(customer=acme, email="new@acme.example", is_tech=True)
    invitation = Invitation.objects.create(customer=acme, email="new.person@example.test")
    for url in [
        links.confirmation_url(pending),
        links.invitation_url(invitation),
        f"{live_server.url}/account/confirm/tampered/",
    ]:
        page.goto(url)
        assert violations(page) == [], url

    log_in()
    page.get_by_role("link", name="Account settings for demo@example.com").click()
    sheet = page.get_by_role("dialog", name="Account settings")
    for tab in ["Customer Info", "Contact", "Team", "Activity"]:
        sheet.get_by_role("navigation").get_by_role("link", name=tab).click()
        expect(sheet.get_by_role("link", name=tab, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        assert violations(page) == [], tab
    sheet.get_by_role("navigation").get_by_role("link", name="Contact").click()
    sheet.get_by_text("Create new Email").click()
    sheet.get_by_role("button", name="Add email address").click()
    expect(sheet.get_by_text("This field is required.")).to_be_visible()
    assert violations(page) == [], "the form with its errors"
