"""The invoice email and its PDF as the customer sees them: saved as pictures under
test-artifacts/ to look at, for an invoice with a credit note and a part payment."""

import datetime
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from billing import delivery, services
from billing.models import Invoice
from tests.conftest import ARTIFACTS, require

pytestmark = pytest.mark.browser


def test_the_invoice_email_and_its_pdf_look_right(page, demo, screenshot):
    # Acme's newest invoice carries a credit note; a part payment arrives by bank.
    invoice = Invoice.objects.get(customer__number="C-10001", status="unpaid")
    services.record_bank_payment(
        invoice=invoice,
        amount=Decimal("500.00"),
        received_at=datetime.datetime.now(datetime.UTC),
    )
    invoice.refresh_from_db()
    mail.outbox.clear()
    delivery.email_invoice(invoice=invoice, resend=True)
    (message,) = mail.outbox
    ((html, _mimetype),) = message.alternatives

    page.set_viewport_size({"width": 800, "height": 900})
    page.set_content(html)
    due = f"€{invoice.outstanding:,.2f}"
    expect(page.get_by_text("Amount due")).to_be_visible()
    expect(page.locator("body")).to_contain_text(due)
    screenshot("email-invoice-part-paid")

    ((name, data, _type),) = message.attachments
    require(shutil.which("pdftoppm"), "pdftoppm (poppler-utils)")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / name
    pdf.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", "70", "-png", str(pdf), str(ARTIFACTS / f"pdf-{invoice.number}")],
        check=True,
    )
    assert (ARTIFACTS / f"pdf-{invoice.number}-1.png").exists()
