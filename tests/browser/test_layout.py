"""The layout a customer sees after logging in, on a laptop and on a phone."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_login_shows_the_layout_and_logout_ends_it(page, live_server, demo, log_in, screenshot):
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot("login-1280")
    log_in()

    sidebar = page.get_by_role("complementary", name="Main")
    for item in ["Dashboard", "Invoices", "Payments", "Usage", "Account"]:
        expect(sidebar.get_by_role("link", name=item)).to_be_visible()
    expect(sidebar.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    expect(page.locator(".topbar")).to_contain_text("Acme Cloud AB")
    screenshot("layout-1280")

    page.get_by_role("link", name="Account settings for demo@example.com").click()
    sheet = page.get_by_role("dialog", name="Account settings")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("demo@example.com")
    # It opens on its first tab, Customer Info, where the guide starts.
    expect(page).to_have_url(f"{live_server.url}/account/?tab=customer")
    expect(sheet.get_by_role("link", name="Customer Info", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    screenshot("account-sheet-1280", full_page=False)

    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    assert script_errors == []  # closing it restores the page from history without an error

    page.get_by_role("link", name="Account settings for demo@example.com").click()
    page.get_by_role("dialog").get_by_role("button", name="Logout").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/dashboard/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/dashboard/")


def test_wrong_password_is_explained(page, live_server, demo):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill("demo@example.com")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct email address")


def test_on_a_phone_the_sidebar_opens_from_the_menu_button(
    page, live_server, demo, log_in, screenshot
):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in()
    nav_link = page.get_by_role("complementary", name="Main").get_by_role("link", name="Invoices")
    expect(nav_link).to_be_hidden()
    screenshot("layout-390")

    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    screenshot("layout-390-menu-open", full_page=False)
    page.keyboard.press("Escape")
    expect(nav_link).to_be_hidden()
    expect(menu).to_be_focused()


def test_contacts_can_be_managed_in_the_account_sheet(page, live_server, demo, log_in, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.get_by_role("link", name="Account settings for demo@example.com").click()
    sheet = page.get_by_role("dialog", name="Account settings")
    sheet.get_by_role("navigation").get_by_role("link", name="Contact").click()
    expect(sheet).to_contain_text("accounts-payable@acme.example")

    sheet.get_by_text("Create new Email").click()
    sheet.get_by_label("Email address", exact=True).fill("finance@acme.example")
    sheet.get_by_label("Billing", exact=True).check()
    sheet.get_by_role("button", name="Add email address").click()
    expect(sheet.get_by_role("row", name=re.compile("finance@acme.example"))).to_contain_text(
        "Pending"
    )
    expect(page.locator("#toasts")).to_contain_text("finance@acme.example added.")
    screenshot("account-contacts-1280", full_page=False)
