"""The Swedish demo customer, billed in kronor, reads its pages in Swedish and in English: every
amount in SEK, as each language writes it, and never a euro."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from billing.models import Invoice

pytestmark = pytest.mark.browser

NBSP = "\u00a0"


def _no_euros(page):
    text = page.locator("main").inner_text()
    assert "€" not in text and "EUR" not in text, "a euro amount on a kronor customer's page"


def test_the_swedish_customer_reads_kronor_in_swedish_and_in_english(
    page, live_server, demo, log_in, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 800})
    User.objects.filter(email="sek@example.com").update(language="sv")
    log_in("sek@example.com")
    unpaid = Invoice.objects.get(customer__number="C-10003", status__in=["unpaid", "overdue"])
    kronor = re.compile(rf"\d,\d\d{NBSP}kr")  # 1 234,50 kr

    # Swedish: the dashboard, the invoices' cards and rows, the invoice, the Usage page.
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator(".due-amount")).to_have_text(kronor)
    _no_euros(page)
    page.goto(f"{live_server.url}/invoices/")
    expect(page.get_by_role("heading", level=1, name="Fakturor")).to_be_visible()
    expect(page.locator(".card-figure").first).to_have_text(kronor)
    expect(page.locator(".invoice-table")).to_contain_text(f"{NBSP}kr")
    _no_euros(page)
    screenshot("invoices-sek-sv-1280", full_page=False)

    page.get_by_role("link", name=unpaid.number, exact=True).click()
    sheet = page.get_by_role("dialog", name=f"Faktura {unpaid.number}")
    expect(sheet.locator(".summary-figure")).to_have_text(kronor)
    expect(sheet).to_contain_text("0,34" + NBSP + "kr")  # the SEK plan's price per vCPU-hour
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/invoices/")

    page.goto(f"{live_server.url}/usage/?range=last-month")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator(".card-cost").first).to_have_text(kronor)
    expect(page.locator("#consumption-title + p")).to_contain_text("SEK")
    _no_euros(page)
    screenshot("usage-sek-sv-1280", full_page=True)

    # English: the same figures, written SEK 1,234.50.
    User.objects.filter(email="sek@example.com").update(language="en")
    page.goto(f"{live_server.url}/invoices/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1, name="Invoices")).to_be_visible()
    expect(page.locator(".card-figure").first).to_have_text(re.compile(rf"^SEK{NBSP}[\d,]+\.\d\d$"))
    expect(page.locator(".invoice-table")).to_contain_text(f"SEK{NBSP}")
    _no_euros(page)
    # "SEK 15,017.01" is wider than a euro figure: each figure fits inside its card.
    overflowing = page.locator(".card-figure").evaluate_all(
        "figures => figures.filter(f => f.scrollWidth > f.clientWidth).map(f => f.textContent)"
    )
    assert overflowing == []
    screenshot("invoices-sek-en-1280", full_page=False)

    page.goto(f"{live_server.url}/usage/?range=last-month")
    expect(page.locator(".card-cost").first).to_have_text(re.compile(rf"^SEK{NBSP}[\d,]+\.\d\d$"))
    _no_euros(page)
    page.goto(f"{live_server.url}/usage/prices/")
    expect(page.locator("main")).to_contain_text(f"SEK{NBSP}0.34")
    _no_euros(page)
