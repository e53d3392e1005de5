"""The Invoices page in a real browser: tabs, the detail sheet, PDFs and a ZIP of several."""

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from billing.models import Invoice

pytestmark = pytest.mark.browser


@pytest.fixture
def invoices_page(page, live_server, demo, log_in):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.goto(f"{live_server.url}/invoices/")
    return page


def rows(page):
    return page.locator("#invoice-results tbody tr")


def test_tabs_switch_without_a_full_reload(invoices_page, live_server, screenshot):
    page = invoices_page
    expect(rows(page)).to_have_count(24)  # the demo's 24 invoices; its credit note has its own tab
    screenshot("invoices-1280")
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("navigation", name="Filter invoices").get_by_role(
        "link", name="Unpaid"
    ).click()
    expect(page).to_have_url(f"{live_server.url}/invoices/?status=unpaid")
    expect(rows(page)).to_have_count(3)
    for badge in rows(page).locator(".badge").all():
        expect(badge).to_have_text(re.compile("Unpaid|Overdue"))
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.get_by_role("link", name=re.compile("Unpaid"))).to_have_attribute(
        "aria-current", "page"
    )
    screenshot("invoices-unpaid-1280")

    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/invoices/")
    expect(rows(page)).to_have_count(24)


def test_the_sheet_opens_and_closes_with_the_keyboard(invoices_page, live_server, screenshot):
    page = invoices_page
    number = Invoice.objects.filter(customer__number="C-10001", status="overdue").first().number
    link = page.get_by_role("link", name=number, exact=True)
    link.focus()
    page.keyboard.press("Enter")

    sheet = page.get_by_role("dialog", name=f"Invoice {number}")
    expect(sheet).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/invoices/{number}/")
    expect(sheet.get_by_role("button", name="Close")).to_be_focused()
    # The browser asks for reduced motion (tests/conftest.py): the sheet appears without sliding.
    assert page.evaluate("document.getAnimations().length") == 0
    expect(sheet).to_contain_text("Timeline")
    expect(sheet).to_contain_text("Overdue")
    screenshot("invoice-sheet-1280", full_page=False)

    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/invoices/")
    expect(link).to_be_focused()


def test_pay_now_shows_the_rundown_of_dues(invoices_page, screenshot):
    page = invoices_page
    number = Invoice.objects.filter(customer__number="C-10001", status="unpaid").first().number
    page.get_by_role("link", name=number, exact=True).click()
    page.get_by_role("dialog").get_by_role("link", name="Pay Now").click()
    dialog = page.get_by_role("dialog", name=f"Pay invoice {number}")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Rundown of dues")
    expect(dialog).to_contain_text("IBAN")
    screenshot("invoice-pay-dialog-1280", full_page=False)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_download_a_pdf_from_the_row_menu(invoices_page, screenshot):
    page = invoices_page
    first_row = rows(page).first
    number = first_row.locator(".invoice-link").inner_text()
    first_row.get_by_role("button", name=f"Actions for {number}").click()
    menu = page.get_by_role("menu", name=f"Actions for {number}")
    expect(menu.get_by_role("menuitem", name="View PDF")).to_be_focused()
    screenshot("invoice-row-menu-1280", full_page=False)
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Download PDF")).to_be_focused()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == f"{number}.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"


def test_download_a_zip_of_three(invoices_page):
    page = invoices_page
    chosen = [rows(page).nth(n).locator(".invoice-link").inner_text() for n in range(3)]
    for number in chosen:
        page.get_by_label(f"Select {number}").check()
    expect(page.locator("[data-selection-count]")).to_have_text("3 selected")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download selected (ZIP)").click()
    with open(download.value.path(), "rb") as data:
        archive = zipfile.ZipFile(io.BytesIO(data.read()))
    assert sorted(archive.namelist()) == sorted(f"{n}.pdf" for n in chosen)


def test_the_invoices_page_on_a_phone(page, live_server, demo, log_in, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in()
    page.goto(f"{live_server.url}/invoices/?status=unpaid")
    expect(rows(page)).to_have_count(3)
    screenshot("invoices-390")
    rows(page).first.locator(".invoice-link").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    screenshot("invoice-sheet-390", full_page=False)
    page.get_by_role("dialog").locator(".lines-table").first.scroll_into_view_if_needed()
    screenshot("invoice-sheet-390-lines", full_page=False)


def test_the_dashboard(page, live_server, demo, log_in, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    expect(page.get_by_text("Outstanding Balance")).to_be_visible()
    expect(page.get_by_role("heading", name="Due next")).to_be_visible()
    screenshot("dashboard-1280")


def test_back_closes_the_sheet_and_forward_opens_it_again(invoices_page, live_server):
    page = invoices_page
    link = rows(page).first.locator(".invoice-link")
    number = link.inner_text()
    link.click()
    sheet = page.get_by_role("dialog", name=re.compile(number))
    expect(sheet).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/invoices/{number}/")

    page.go_back()
    expect(sheet).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/invoices/")
    expect(rows(page)).to_have_count(24)
    expect(page.get_by_role("link", name=number, exact=True)).to_be_focused()


def test_the_row_menu_opens_without_javascript(browser, live_server, demo):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill("demo@example.com")
    page.get_by_label("Password").fill("demo1234")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/invoices/")
    first = rows(page).first
    number = first.locator(".invoice-link").inner_text()
    first.get_by_role("button", name=f"Actions for {number}").click()
    menu = page.get_by_role("menu", name=f"Actions for {number}")
    expect(menu.get_by_role("menuitem", name="Download PDF")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    context.close()
