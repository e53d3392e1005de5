"""What the customer is told matches the books: the invoice email (text and HTML), its PDF and
the pay dialog state the same amount due, and emails about credit notes, reminders and receipts
say what is still owed."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail

from billing import delivery, services
from billing.models import CheckoutSession
from billing.pdf import render_invoice_pdf
from tests.billing.conftest import TOTAL, deliver, pdf_text, pdftotext_layout
from tests.stripe_standin import checkout_event

SEP_14 = datetime.datetime(2026, 9, 14, 12, tzinfo=datetime.UTC)
# By hand: 212.86 total, less credit note 40.00 + 25% VAT = 50.00, less 100.00 paid = 62.86.
CREDIT, PART_PAYMENT = Decimal("50.00"), Decimal("100.00")
DUE = Decimal("62.86")


def parts(message) -> tuple[str, str]:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def attached_pdf_text(message, tmp_path) -> str:
    ((_name, data, _mimetype),) = message.attachments
    return pdftotext_layout(data, tmp_path)


def flat(text: str) -> str:
    """pdftotext -layout pads columns with spaces: compare on single spaces."""
    return " ".join(text.split())


@pytest.fixture
def part_paid(invoice, billing_contact):
    note = services.issue_credit_note(
        invoice=invoice, reason="SLA", net_amount=Decimal("40.00"), deliver=False
    )
    services.record_bank_payment(invoice=invoice, amount=PART_PAYMENT, received_at=SEP_14)
    invoice.refresh_from_db()
    assert invoice.outstanding == TOTAL - CREDIT - PART_PAYMENT == DUE
    mail.outbox.clear()
    return invoice, note


def test_email_pdf_and_pay_dialog_state_the_same_amount_due(part_paid, owner_client, tmp_path):
    invoice, note = part_paid
    delivery.email_invoice(invoice=invoice, resend=True)
    (message,) = mail.outbox
    text, html = parts(message)
    pdf = flat(attached_pdf_text(message, tmp_path))
    dialog = owner_client.get(f"/invoices/{invoice.number}/pay/").content.decode()

    assert "Amount due: €62.86, by 31 Oct 2026" in text
    assert f"Credit note {note.number}: −€50.00" in text
    assert "Bank transfer received 14 Sep 2026: −€100.00" in text
    assert "Total: €212.86" in text
    for rendered in (html, dialog):
        assert ">Amount due<" in rendered
        assert rendered.count("€62.86") >= 1
        assert f"Credit note {note.number}" in rendered and "−€50.00" in rendered
    assert "Amount due €62.86" in pdf and "Please pay €62.86" in pdf
    assert f"Credit note {note.number} −€50.00" in pdf
    assert "Bank transfer received 14 Sep 2026 −€100.00" in pdf
    # Nowhere is the total presented as what to pay.
    assert "Amount due: €212.86" not in text and "Please pay €212.86" not in pdf


def test_a_settled_invoice_asks_for_nothing_anywhere(part_paid, owner_client, tmp_path):
    invoice, _note = part_paid
    services.record_bank_payment(invoice=invoice, amount=DUE, received_at=SEP_14)
    delivery.email_invoice(invoice=invoice, resend=True)
    (message,) = mail.outbox
    text, html = parts(message)
    pdf = flat(attached_pdf_text(message, tmp_path))
    dialog = owner_client.get(f"/invoices/{invoice.number}/pay/").content.decode()

    assert "Amount due: €0.00" in text and "Nothing is due: this invoice is settled" in text
    assert "Bank transfer:" not in text and "pay it," not in text
    assert "Nothing is due" in html and "View and pay" not in html and "IBAN" not in html
    assert "Amount due €0.00" in pdf and "Please pay" not in pdf and "Paid in full" in pdf
    assert "there is nothing to pay" in dialog


def test_a_credit_note_email_says_what_is_still_owed_on_its_invoice(invoice, billing_contact):
    services.record_bank_payment(invoice=invoice, amount=PART_PAYMENT, received_at=SEP_14)
    mail.outbox.clear()
    note = services.issue_credit_note(invoice=invoice, reason="SLA", net_amount=Decimal("40.00"))
    delivery.email_invoice(invoice=note)
    (message,) = mail.outbox
    text, html = parts(message)
    for rendered in (text, html):
        assert note.number in rendered and invoice.number in rendered
        assert "€50.00" in rendered  # the credit
        assert "€62.86" in rendered  # still owed on the invoice it reduces
    assert f"Still owed on {invoice.number}: €62.86, by 31 Oct 2026." in text


def test_a_credit_note_that_settles_its_invoice_says_nothing_more_is_owed(invoice, billing_contact):
    note = services.issue_credit_note(invoice=invoice, reason="Outage")
    mail.outbox.clear()
    delivery.email_invoice(invoice=note, resend=True)
    text, _html = parts(mail.outbox[0])
    assert f"Nothing more is owed on {invoice.number}." in text


def test_a_reminder_states_the_amount_due_from_the_same_summary(part_paid):
    invoice, note = part_paid
    services.flag_overdue_invoices(now=datetime.datetime(2026, 11, 5, tzinfo=datetime.UTC))
    delivery.email_overdue_reminder(invoice=invoice)
    text, html = parts(mail.outbox[0])
    assert "€62.86 of it is still open" in text and "Amount due: €62.86" in text
    assert f"Credit note {note.number}: −€50.00" in text
    assert "<strong>€62.86</strong> of it is still open" in html


def test_a_receipt_says_what_each_invoice_still_owes_and_what_became_credit(
    client, owner_client, customer, billing_contact, stripe_standin, make_invoice
):
    a, b = make_invoice("100.00"), make_invoice("50.00")
    owner_client.post("/invoices/pay/", {"number": [a.number, b.number]})
    services.record_bank_payment(invoice=b, amount=Decimal("20.00"), received_at=SEP_14)
    checkout = CheckoutSession.objects.get()
    event = checkout_event(
        "evt_1", "checkout.session.completed", session_id=checkout.stripe_id, amount_total=15000
    )
    mail.outbox.clear()
    deliver(client, event)
    delivery.email_payment_receipt(checkout=CheckoutSession.objects.get())
    (receipt,) = mail.outbox
    text, html = parts(receipt)
    assert receipt.subject == "Payment received: €150.00, thank you"
    assert f"{a.number}: €100.00 received, paid in full" in text
    assert f"{b.number}: €30.00 received, paid in full" in text
    assert "€20.00 of it was more than these invoices still owed" in text
    assert "€20.00 of it was more than" in html


def test_the_pdf_writes_both_countries_by_name(invoice, customer, tmp_path, billing_contact):
    delivery.email_invoice(invoice=invoice)
    pdf = attached_pdf_text(mail.outbox[0], tmp_path)
    lines = [line.strip() for line in pdf.splitlines()]
    assert pdf.count("Sweden") == 2  # seller and customer alike
    assert "SE" not in lines


def test_an_issued_invoice_keeps_the_customers_details_of_its_day(invoice, customer, make_invoice):
    customer.address_line1 = "Nya gatan 5"
    customer.country = "DE"
    customer.invoice_reference = "PO-77"
    customer.save()
    old = "".join(pdf_text(render_invoice_pdf(invoice)))
    assert "Storgatan 1" in old and "Nya gatan 5" not in old and "PO-77" not in old
    new = "".join(pdf_text(render_invoice_pdf(make_invoice())))
    assert "Nya gatan 5" in new and "Germany" in new and "Your reference PO-77" in new
