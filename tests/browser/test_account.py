"""The Account settings pane in a real browser: opened from the user icon, its tabs, the
guide's move of the Billing role to a new, confirmed address, and inviting a member."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Contact, Invitation

pytestmark = pytest.mark.browser


def open_pane(page, email="demo@example.com"):
    page.get_by_role("link", name=f"Account settings for {email}").click()
    sheet = page.get_by_role("dialog", name="Account settings")
    expect(sheet).to_be_visible()
    return sheet


def tab(sheet, name):
    link = sheet.get_by_role("navigation", name="Account settings").get_by_role("link", name=name)
    link.click()
    expect(link).to_have_attribute("aria-current", "page")


def confirmation_path(address) -> str:
    (message,) = [m for m in mail.outbox if m.to == [address]]
    return re.search(r"https?://[^/\s]+(/account/confirm/\S+/)", message.body).group(1)


def test_the_guides_move_of_billing_to_a_new_address(page, live_server, demo, log_in, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    sheet = open_pane(page)
    tab(sheet, "Customer Info")
    expect(sheet.get_by_label("VAT id")).to_have_value("SE556677889901")
    expect(sheet).to_contain_text("dpo@acme.example")
    screenshot("account-customer-info-1280", full_page=False)

    tab(sheet, "Contact")
    expect(
        sheet.get_by_role("button", name="Billing for accounts-payable@acme.example")
    ).to_have_attribute("aria-pressed", "true")
    sheet.get_by_text("Create new Email").click()
    sheet.get_by_label("Email address", exact=True).fill("finance@acme.example")
    sheet.get_by_label("Tech", exact=True).check()
    sheet.get_by_role("button", name="Add email address").click()
    new_row = sheet.get_by_role("row", name=re.compile("finance@acme.example"))
    expect(new_row).to_contain_text("Pending")
    expect(page.locator("#toasts")).to_contain_text("We sent it a link to confirm the address.")
    screenshot("account-contact-pending-1280", full_page=False)

    # The new address's owner opens the emailed link (no login needed) and confirms.
    page.goto(f"{live_server.url}{confirmation_path('finance@acme.example')}")
    page.get_by_role("button", name="Confirm finance@acme.example").click()
    expect(page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    screenshot("account-contact-confirmed-1280")

    page.goto(f"{live_server.url}/dashboard/")
    sheet = open_pane(page)
    tab(sheet, "Contact")
    expect(sheet.get_by_role("row", name=re.compile("finance@acme.example"))).not_to_contain_text(
        "Pending"
    )
    page.evaluate("window.stillTheSamePage = true")
    tick_new = sheet.get_by_role("button", name="Billing for finance@acme.example")
    expect(tick_new).to_have_attribute("aria-pressed", "false")
    tick_new.click()
    expect(tick_new).to_have_attribute("aria-pressed", "true")
    expect(tick_new).to_be_focused()  # the row was swapped; focus stays on the clicked mark
    untick_old = sheet.get_by_role("button", name="Billing for accounts-payable@acme.example")
    untick_old.click()
    expect(untick_old).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#toasts")).to_contain_text(
        "accounts-payable@acme.example no longer has the Billing role."
    )
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot("account-contact-billing-moved-1280", full_page=False)
    billing = Contact.objects.filter(customer__number="C-10001", is_billing=True)
    assert list(billing.values_list("email", flat=True)) == ["finance@acme.example"]

    # The new one is now the last confirmed Billing address: it keeps the role.
    tick_new.click()
    expect(page.locator("#toasts")).to_contain_text("keep at least one confirmed address")
    expect(tick_new).to_have_attribute("aria-pressed", "true")


def test_an_owner_invites_a_member_and_reads_the_activity(
    page, live_server, demo, log_in, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    sheet = open_pane(page)
    tab(sheet, "Team")
    expect(sheet).to_contain_text("Dana Demo")
    sheet.get_by_text("Invite a member").click()
    sheet.get_by_label("Email address", exact=True).fill("new.colleague@acme.example")
    sheet.get_by_label("Role", exact=True).select_option("billing")
    sheet.get_by_role("button", name="Send invitation").click()
    expect(sheet).to_contain_text("new.colleague@acme.example")
    expect(sheet).to_contain_text("valid until")
    expect(page.locator("#toasts")).to_contain_text("Invitation sent to new.colleague@acme.example")
    assert Invitation.objects.get().role == "billing"
    assert [m.to for m in mail.outbox] == [["new.colleague@acme.example"]]
    screenshot("account-team-1280", full_page=False)

    tab(sheet, "Activity")
    expect(sheet).to_contain_text("Member invited")
    screenshot("account-activity-1280", full_page=False)

    tab(sheet, "Settings")
    sheet.get_by_label("A link to the portal only").check()
    sheet.get_by_label("Language of invoices").select_option("sv")
    sheet.get_by_role("button", name="Save settings").click()
    expect(page.locator("#toasts")).to_contain_text("Settings saved.")
    screenshot("account-settings-1280", full_page=False)


@pytest.mark.parametrize("width", [390, 1280])
def test_globex_reads_its_saved_card_and_turns_autopay_off(
    page, live_server, demo, log_in, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 844})
    log_in("other@example.com")
    sheet = open_pane(page, "other@example.com")
    tab(sheet, "Payment methods")
    expect(sheet).to_contain_text("Visa •••• 4242, expires 12/2030")
    expect(sheet).to_contain_text("Default")
    assert page.evaluate("document.querySelector('#sheet').scrollWidth") <= width
    screenshot(f"account-payment-methods-{width}", full_page=False)
    sheet.get_by_role("button", name="Turn off").click()
    expect(page.locator("#toasts")).to_contain_text("Invoices are no longer paid automatically.")
    expect(sheet.get_by_role("button", name="Turn on")).to_be_visible()


@pytest.mark.parametrize(
    "name", ["Customer Info", "Contact", "Settings", "Payment methods", "Team", "Activity"]
)
def test_the_pane_on_a_phone(page, live_server, demo, log_in, screenshot, name):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in()
    sheet = open_pane(page)
    tab(sheet, name)
    width = page.evaluate("document.querySelector('#sheet').scrollWidth")
    assert width <= 390, f"the {name} tab scrolls sideways ({width}px)"
    screenshot(f"account-{name.lower().replace(' ', '-')}-390", full_page=False)
    if name == "Contact":
        sheet.get_by_text("Create new Email").scroll_into_view_if_needed()
        screenshot("account-contact-390-table", full_page=False)
