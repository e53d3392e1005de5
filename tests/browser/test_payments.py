"""Paying an invoice in a real browser: Pay Now, Stripe's page (a stand-in), back, and Paid."""

import re
import urllib.request

import pytest
from playwright.sync_api import expect

from billing.models import CheckoutSession, Invoice
from core.money import to_minor_units
from tests.stripe_standin import checkout_event, signed

pytestmark = pytest.mark.browser


def post_webhook(live_server, event):
    body, signature = signed(event)
    request = urllib.request.Request(
        f"{live_server.url}/stripe/webhook/",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def open_pay_dialog(page, live_server, log_in):
    """Acme's unpaid invoice, and its pay dialog opened from Pay Now, on a laptop."""
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    invoice = Invoice.objects.get(customer__number="C-10001", status="unpaid")
    page.goto(f"{live_server.url}/invoices/{invoice.number}/")
    page.get_by_role("link", name="Pay Now").click()
    dialog = page.get_by_role("dialog", name=f"Pay invoice {invoice.number}")
    expect(dialog).to_contain_text("Rundown of dues")
    return invoice, dialog


def test_pay_now_goes_to_checkout_and_the_invoice_turns_paid_without_a_reload(
    page, live_server, demo, log_in, stripe_standin, screenshot
):
    invoice, dialog = open_pay_dialog(page, live_server, log_in)
    screenshot("pay-dialog-stripe-1280", full_page=False)

    dialog.get_by_role("button", name=re.compile("with Stripe")).click()
    page.wait_for_url(re.compile(re.escape(stripe_standin.url) + r"/checkout/cs_test_\d+"))
    expect(page.get_by_role("heading")).to_have_text("Stand-in checkout")

    # Stripe sends the customer back; the webhook has not arrived yet.
    page.goto(f"{live_server.url}/invoices/{invoice.number}/?checkout=success")
    status = page.locator("#invoice-status")
    expect(status).to_contain_text("Payment processing")
    screenshot("invoice-payment-processing-1280")
    page.evaluate("window.notReloaded = true")

    checkout = CheckoutSession.objects.get()
    post_webhook(
        live_server,
        checkout_event(
            "evt_browser_1",
            "checkout.session.completed",
            session_id=checkout.stripe_id,
            amount_total=to_minor_units(checkout.amount_total, "EUR"),
        ),
    )
    expect(status).to_contain_text("Paid", timeout=10_000)
    expect(page.get_by_role("link", name="Pay Now")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    screenshot("invoice-paid-after-webhook-1280")


def test_pay_selected_invoices_from_the_list(page, live_server, demo, log_in, stripe_standin):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.goto(f"{live_server.url}/invoices/?status=unpaid")
    numbers = list(
        Invoice.objects.filter(customer__number="C-10001", status__in=["unpaid", "overdue"])
        .order_by("issue_date")
        .values_list("number", flat=True)
    )
    for number in numbers[:2]:
        page.get_by_label(f"Select {number}").check()
    page.get_by_role("button", name="Pay selected").click()
    dialog = page.get_by_role("dialog", name="Pay 2 invoices")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=re.compile("with Stripe")).click()
    page.wait_for_url(re.compile(re.escape(stripe_standin.url) + r"/checkout/"))
    (call,) = stripe_standin.calls("/v1/checkout/sessions")
    assert call.form["metadata[invoice_numbers]"] == ",".join(numbers[:2])


def test_in_the_demo_an_invoice_is_paid_on_the_demo_checkout_and_turns_paid(
    page, live_server, demo, log_in, settings, screenshot
):
    """DEBUG on and no Stripe keys, as `make run` starts the portal."""
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = settings.STRIPE_WEBHOOK_SECRET = ""
    invoice, dialog = open_pay_dialog(page, live_server, log_in)
    expect(dialog).to_contain_text("demo checkout")
    dialog.get_by_role("button", name=re.compile("on the demo checkout")).click()

    page.wait_for_url(re.compile(r"/invoices/demo-checkout/cs_demo_\w+/$"))
    expect(page.get_by_role("note")).to_contain_text("No card is charged and no money moves")
    screenshot("demo-checkout-1280")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    page.wait_for_url(f"{live_server.url}/invoices/{invoice.number}/?checkout=success")
    expect(page.locator("#invoice-status")).to_contain_text("Paid")
    expect(page.get_by_role("link", name="Pay Now")).to_have_count(0)
    screenshot("demo-checkout-paid-1280")
