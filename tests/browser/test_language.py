"""A user switches the portal to Swedish on the Settings tab and reads the Invoices page in
Swedish, on a laptop and on a phone, with nothing for axe to find."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from billing.models import Invoice
from tests.browser.conftest import violations

pytestmark = pytest.mark.browser


def test_a_user_switches_the_portal_to_swedish(page, live_server, demo, log_in, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.get_by_role("link", name="Account settings for demo@example.com").click()
    sheet = page.get_by_role("dialog", name="Account settings")
    sheet.get_by_role("navigation").get_by_role("link", name="Settings").click()
    sheet.get_by_label("Language of the portal").select_option("sv")
    sheet.get_by_role("button", name="Change language").click()

    # The whole page comes back in Swedish, with the confirmation in Swedish too.
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page).to_have_url(f"{live_server.url}/account/?tab=settings")
    expect(page.locator("#toasts")).to_contain_text("Portalens språk: Svenska.")
    toast = page.locator("#toasts .toast").first.bounding_box()
    user_icon = page.locator(".user-button").bounding_box()
    assert toast["y"] >= user_icon["y"] + user_icon["height"]  # the message leaves it clear
    expect(page.get_by_label("Portalens språk")).to_have_value("sv")

    page.get_by_role("complementary", name="Huvudmeny").get_by_role("link", name="Fakturor").click()
    expect(page.get_by_role("heading", level=1, name="Fakturor")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Filtrera fakturor")
    for label in ("Alla", "Obetalda", "Betalda"):
        expect(tabs.get_by_role("link", name=re.compile(f"^{label}"))).to_be_visible()
    table = page.locator(".invoice-table")
    expect(table.get_by_role("columnheader", name="Fakturanr")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Restbelopp")).to_be_visible()
    expect(table).to_contain_text("Betald")
    expect(table).to_contain_text("\u00a0€")  # amounts as Swedes write them: 1 234,56 €
    expect(page.get_by_text("Utestående saldo")).to_be_visible()
    count = page.locator("[data-selection-count]")
    expect(count).to_have_text("Markera fakturor för att ladda ner eller betala flera på en gång.")
    rows = page.locator("[data-select-row]")
    rows.nth(1).check()
    expect(count).to_have_text("1 markerad")  # the script speaks Swedish too
    rows.nth(2).check()
    expect(count).to_have_text("2 markerade")
    rows.nth(1).uncheck()
    rows.nth(2).uncheck()
    screenshot("invoices-sv-1280", full_page=False)
    assert violations(page) == []

    overdue = Invoice.objects.filter(customer__number="C-10001", status="overdue").first()
    page.get_by_role("link", name=re.compile("^Obetalda")).click()
    page.get_by_role("link", name=overdue.number, exact=True).click()
    invoice_sheet = page.get_by_role("dialog", name=f"Faktura {overdue.number}")
    expect(invoice_sheet).to_be_visible()
    expect(invoice_sheet.get_by_role("link", name="Betala nu")).to_be_visible()
    expect(invoice_sheet).to_contain_text("Tidslinje")
    expect(invoice_sheet).to_contain_text("Att betala")
    screenshot("invoice-sheet-sv-1280", full_page=False)
    assert violations(page) == []

    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/invoices/")
    expect(page.get_by_role("heading", level=1, name="Fakturor")).to_be_visible()
    expect(page.get_by_role("button", name="Meny")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the Swedish Invoices page scrolls sideways ({width}px)"
    screenshot("invoices-sv-390", full_page=False)
    assert violations(page) == []


def test_the_swedish_sheet_tells_an_invoices_history_in_swedish(
    page, live_server, demo, log_in, screenshot
):
    """Acme's newest invoice carries the demo's credit note: its reason (a fixed one and words
    staff typed) and its history read in Swedish, amounts and dates as Swedes write them."""
    User.objects.filter(email="demo@example.com").update(language="sv")
    credited = Invoice.objects.get(customer__number="C-10001", credit_notes__isnull=False)
    note = credited.credit_notes.get()
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.goto(f"{live_server.url}/invoices/?q={credited.number}")
    page.get_by_role("link", name=credited.number, exact=True).click()
    sheet = page.get_by_role("dialog", name=f"Faktura {credited.number}")
    expect(sheet).to_contain_text(
        f"Kreditnota {note.number} krediterar 50,00\u00a0€ på den här fakturan "
        "(Driftavbrott (SLA-kredit): k8s-prod-eu1 unavailable for 3 hours)."
    )
    sheet.get_by_text(re.compile(r"^Historik \(\d+\)$")).click()
    history = sheet.locator(".history-list")
    expect(history).to_contain_text(f"Utfärdad som {credited.number}.")
    expect(history).to_contain_text(f"{note.number} krediterar 50,00\u00a0€.")
    for english in ("Issued as", "credits €", "Sent to", "Service outage"):
        expect(sheet).not_to_contain_text(english)
    screenshot("invoice-history-sv-1280", full_page=False)
    assert violations(page) == []

    page.set_viewport_size({"width": 390, "height": 844})
    expect(history).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the Swedish sheet scrolls sideways ({width}px)"
    screenshot("invoice-history-sv-390", full_page=False)
