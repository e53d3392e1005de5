"""The invoice's history and its credit notes' reasons in the reader's language: entries keep
facts (amounts, numbers, dates, addresses), and each reader gets the sentence in their own
language; a fixed credit reason is translated, words staff typed are printed as typed."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from billing import delivery, services
from billing.exceptions import BillingError
from billing.forms import CreditNoteForm
from billing.models import BillingProfile, CreditReason, Invoice
from billing.pdf import render_invoice_pdf
from tests.billing.conftest import LINES, pdftotext_layout
from tests.factories import issued_invoice
from tests.htmx import htmx
from tests.usage.conftest import text

OCT_1 = datetime.datetime(2026, 10, 1, 6, tzinfo=datetime.UTC)
NOV_5 = datetime.datetime(2026, 11, 5, 9, tzinfo=datetime.UTC)
NOV_6 = datetime.datetime(2026, 11, 6, 12, tzinfo=datetime.UTC)
TYPED = "k8s-prod down for 3 hours"  # staff's own words, never translated
# By hand: the LINES total 212.86 (tests/billing/conftest.py), due 31 Oct 2026; 100.00 came by
# bank transfer; the credit note is 40.00 net + 25% VAT = 50.00; 62.86 is left.


@pytest.fixture
def history(customer, billing_contact):
    """An invoice that went overdue, was reminded, part paid by bank and part credited, each
    on its day."""
    with time_machine.travel(OCT_1, tick=False):
        invoice = issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))
    with time_machine.travel(NOV_5, tick=False):
        services.flag_overdue_invoices(now=NOV_5)
        delivery.email_overdue_reminder(invoice=invoice)
    with time_machine.travel(NOV_6, tick=False):
        services.record_bank_payment(
            invoice=invoice, amount=Decimal("100.00"), received_at=NOV_6, reference="RF-1234"
        )
        note = services.issue_credit_note(
            invoice=invoice,
            reason_code=CreditReason.SERVICE_OUTAGE,
            reason=TYPED,
            net_amount=Decimal("40.00"),
            deliver=False,
        )
    invoice.refresh_from_db()
    assert invoice.outstanding == Decimal("62.86")
    return invoice, note


def history_lines(sheet: str) -> list[str]:
    """The History list's entries, oldest first, each as read without its time."""
    (entries,) = re.findall(r'<ul class="history-list">(.*?)</ul>', sheet, re.S)
    return [
        text(re.sub(r"<time [^>]*>.*?</time>|</?(?:span|strong)[^>]*>", "", entry))
        for entry in re.findall(r"<li>(.*?)</li>", entries, re.S)
    ]


def sheet_of(client, invoice) -> str:
    return client.get(f"/invoices/{invoice.number}/", **htmx("sheet-content")).content.decode()


def test_the_history_reads_in_swedish_for_a_swedish_reader(owner_client, owner, history):
    invoice, note = history
    owner.language = "sv"
    owner.save()
    sheet = sheet_of(owner_client, invoice)
    assert history_lines(sheet) == [
        f"Utfärdad: Utfärdad som {invoice.number}.",
        "Markerad som förfallen: Inte betald senast förfallodagen, 31 oktober 2026.",
        "Påminnelse skickad: Skickad till ap@acme.example.",
        "Betalning mottagen: Banköverföring på 100,00 € mottagen (referens RF-1234).",
        f"Kreditnota utfärdad: {note.number} krediterar 50,00 €.",
    ]
    assert (
        f"Kreditnota {note.number} krediterar 50,00 € på den här fakturan "
        f"(Driftavbrott (SLA-kredit): {TYPED})."
    ) in text(sheet)
    for english in ("Issued as", "Not paid", "Sent to", "Bank transfer", "credits", "€100.00"):
        assert english not in sheet, english
    assert "Service outage" not in sheet and "October" not in sheet


def test_the_same_history_reads_in_english_for_an_english_reader(owner_client, history):
    invoice, note = history
    sheet = sheet_of(owner_client, invoice)
    assert history_lines(sheet) == [
        f"Issued: Issued as {invoice.number}.",
        "Marked overdue: Not paid by its due date, 31 Oct 2026.",
        "Reminder sent: Sent to ap@acme.example.",
        "Payment received: Bank transfer of €100.00 received (reference RF-1234).",
        f"Credit note issued: {note.number} credits €50.00.",
    ]
    assert (
        f"Credit note {note.number} credits €50.00 on this invoice "
        f"(Service outage (SLA credit): {TYPED})."
    ) in text(sheet)


def test_a_credit_note_sheet_names_its_line_by_its_reason_in_swedish(owner_client, owner, history):
    _invoice, note = history
    owner.language = "sv"
    owner.save()
    sheet = text(sheet_of(owner_client, note))
    # The credit line: group "Kredit", its reason as description, 1 "kredit" at −40,00 €.
    assert f"Kredit Beskrivning Antal × à-pris Belopp Driftavbrott (SLA-kredit): {TYPED}" in sheet
    assert "1 kredit × −40,00 € −40,00 €" in sheet


def test_a_swedish_credit_notes_pdf_and_email_translate_the_fixed_reason(
    customer, billing_contact, tmp_path
):
    customer.billing_profile.invoice_language = BillingProfile.Language.SWEDISH
    customer.billing_profile.save()
    invoice = issued_invoice(customer, LINES, issue_date=datetime.date(2026, 10, 1))
    note = services.issue_credit_note(
        invoice=invoice, reason_code=CreditReason.BILLING_ERROR, reason=TYPED, deliver=False
    )
    delivery.email_invoice(invoice=note)
    pdf = " ".join(pdftotext_layout(render_invoice_pdf(note), tmp_path).split())
    assert f"Faktureringsfel: {TYPED}" in pdf
    assert (
        f"Denna kreditnota minskar beloppet att betala på faktura {invoice.number} "
        f"(Faktureringsfel: {TYPED})."
    ) in pdf
    assert "Billing error" not in pdf
    (message,) = mail.outbox
    assert f"avseende faktura {invoice.number} (Faktureringsfel: {TYPED})." in message.body
    assert "Billing error" not in message.body


def test_an_english_credit_notes_pdf_and_email_keep_english(customer, billing_contact, tmp_path):
    invoice = issued_invoice(customer, LINES, issue_date=datetime.date(2026, 10, 1))
    note = services.issue_credit_note(
        invoice=invoice, reason_code=CreditReason.CREDITED_IN_FULL, deliver=False
    )
    delivery.email_invoice(invoice=note)
    pdf = " ".join(pdftotext_layout(render_invoice_pdf(note), tmp_path).split())
    assert (
        f"This credit note reduces the amount owed on invoice {invoice.number} (Credited in full)."
    ) in pdf
    (message,) = mail.outbox
    assert f"against invoice {invoice.number} (Credited in full)." in message.body


def test_free_text_alone_is_printed_as_typed_in_swedish(customer, tmp_path):
    customer.billing_profile.invoice_language = BillingProfile.Language.SWEDISH
    customer.billing_profile.save()
    invoice = issued_invoice(customer, LINES, issue_date=datetime.date(2026, 10, 1))
    note = services.issue_credit_note(
        invoice=invoice, reason="Goodwill", net_amount=Decimal("8"), deliver=False
    )
    pdf = " ".join(pdftotext_layout(render_invoice_pdf(note), tmp_path).split())
    assert "Goodwill 1 kredit −8,00 € −8,00 €" in pdf


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"reason_code": "refund-everything"}, "is not one of the credit note reasons"),
        ({"reason": "   "}, "A credit note needs a reason"),
        ({}, "A credit note needs a reason"),
    ],
)
def test_a_credit_note_without_a_known_or_typed_reason_is_refused(invoice, fields, error):
    with pytest.raises(BillingError, match=error):
        services.issue_credit_note(invoice=invoice, net_amount=Decimal("8"), **fields)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
    invoice.refresh_from_db()
    assert invoice.amount_credited == 0 and not invoice.events.filter(kind="credited").exists()


def test_the_staff_form_takes_a_fixed_reason_typed_words_or_both():
    assert not CreditNoteForm({"reason_code": "", "reason": " "}).is_valid()
    assert not CreditNoteForm({"reason_code": "<script>", "reason": ""}).is_valid()
    assert CreditNoteForm({"reason_code": "outage", "reason": ""}).is_valid()
    assert CreditNoteForm({"reason_code": "", "reason": TYPED}).is_valid()


def test_a_void_reason_stays_as_typed_and_no_reason_reads_voided(owner_client, owner, customer):
    owner.language = "sv"
    owner.save()
    typed, bare = (issued_invoice(customer, LINES) for _ in range(2))
    services.void_invoice(invoice=typed, reason="Issued to the wrong customer")
    services.void_invoice(invoice=bare)
    assert history_lines(sheet_of(owner_client, typed))[-1] == (
        "Makulerad: Issued to the wrong customer"
    )
    assert history_lines(sheet_of(owner_client, bare))[-1] == "Makulerad: Makulerad."
