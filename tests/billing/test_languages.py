"""Invoice emails and PDFs speak the customer's language of invoices (English or Swedish):
labels, month names, and amounts written as Swedes write them (1 234,56 €)."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail

from billing import delivery, services
from billing.models import BillingProfile, CheckoutSession, Invoice
from billing.pdf import render_invoice_pdf
from tests.billing.conftest import LINES, completed, deliver, pdf_text
from tests.factories import ContactFactory

SELLER = "Nordic Cloud Provider AB"
SEP_14 = datetime.datetime(2026, 9, 14, 12, tzinfo=datetime.UTC)
NBSP = "\u00a0"
# The LINES of tests/billing/conftest.py, by hand: subtotal 170.29, VAT 25% 42.57, total
# 212.86; issued 1 Oct 2026 with 30 days' terms, so due 31 Oct 2026.


def flat(text: str) -> str:
    """PDF text on single spaces (no-break spaces included)."""
    return " ".join(text.split())


def september_invoice(customer):
    draft = services.create_draft(
        customer=customer,
        period_start=datetime.date(2026, 9, 1),
        period_end=datetime.date(2026, 9, 30),
    )
    services.add_lines(
        invoice=draft,
        lines=[services.LineSpec(s, d, Decimal(q), u, Decimal(p)) for s, d, q, u, p in LINES],
    )
    return services.finalize_invoice(
        invoice=draft, issue_date=datetime.date(2026, 10, 1), deliver=False
    )


@pytest.fixture
def swedish(customer):
    customer.billing_profile.invoice_language = BillingProfile.Language.SWEDISH
    customer.billing_profile.save()
    ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)
    return customer


def test_a_swedish_customers_invoice_email_is_in_swedish(swedish):
    invoice = september_invoice(swedish)
    delivery.email_invoice(invoice=invoice)
    (message,) = mail.outbox
    assert message.subject == f"Faktura {invoice.number} från {SELLER}"
    text = message.body
    assert text.startswith("Hej Acme Cloud AB,\n")
    assert (
        f"er faktura {invoice.number} för perioden 1 september 2026 – 30 september 2026 är klar."
    ) in text
    assert f"Totalt: 212,86{NBSP}€" in text
    assert f"Att betala: 212,86{NBSP}€, senast 31 oktober 2026" in text
    assert "PDF-filen är bifogad. Ni kan också se och betala fakturan i kundportalen:" in text
    assert f"referens {invoice.number}." in text
    html = message.alternatives[0][0]
    assert '<html lang="sv">' in html
    assert (
        ">Att betala<" in html and ">Förfallodatum<" in html and "Visa och betala fakturan" in html
    )
    for english in ("Hello", "Amount due", "Due date", "€212.86", "October"):
        assert english not in text and english not in html


def test_a_swedish_customers_pdf_is_in_swedish(swedish):
    invoice = september_invoice(swedish)
    text = flat("".join(pdf_text(render_invoice_pdf(invoice))))
    for label in (
        f"Faktura {invoice.number}",
        f"Fakturanummer {invoice.number}",
        "Fakturadatum 1 oktober 2026",
        "Faktureringsperiod 1 september 2026 – 30 september 2026",
        "Förfallodatum 31 oktober 2026",
        "FAKTURERAS TILL",  # labels are set in capitals
        "BESKRIVNING ANTAL ENHET À-PRIS BELOPP",
        "vCPU-hours 2 160 vCPU-h 0,0125 € 27,00 €",  # 2160 × 0.0125
        "Memory 8 640,5 GB-h 0,0042 € 36,29 €",  # 8640.5 × 0.0042 = 36.2901
        "Delsumma k8s-prod 63,29 €",
        "Delsumma 170,29 €",
        "Moms 25 % 42,57 €",
        "Totalt 212,86 €",
        "Att betala 212,86 €",
        "Betala 212,86 € senast 31 oktober 2026",
        "Sverige",
        "Sida 1 av 1",
    ):
        assert label in text, label
    for english in ("Invoice date", "Due date", "Amount due", "September", "€212.86", "Sweden"):
        assert english not in text, english


def test_an_english_customers_email_and_pdf_stay_english(customer, billing_contact):
    invoice = september_invoice(customer)
    delivery.email_invoice(invoice=invoice)
    (message,) = mail.outbox
    assert message.subject == f"Invoice {invoice.number} from {SELLER}"
    assert f"your invoice {invoice.number} for 1 Sep 2026 – 30 Sep 2026 is ready." in message.body
    assert "Amount due: €212.86, by 31 Oct 2026" in message.body
    assert '<html lang="en">' in message.alternatives[0][0]
    text = flat("".join(pdf_text(render_invoice_pdf(invoice))))
    for label in (
        "Billing period 1 Sep 2026 – 30 Sep 2026",
        "Due date 31 Oct 2026",
        "vCPU-hours 2,160 vCPU-h €0.0125 €27.00",
        "VAT 25% €42.57",
        "Amount due €212.86",
        "Page 1 of 1",
    ):
        assert label in text, label


def test_a_paid_swedish_invoice_says_so_in_swedish(swedish):
    invoice = september_invoice(swedish)
    services.record_bank_payment(invoice=invoice, amount=Decimal("212.86"), received_at=SEP_14)
    text = flat("".join(pdf_text(render_invoice_pdf(Invoice.objects.get(pk=invoice.pk)))))
    assert "BETALD" in text
    assert "Banköverföring mottagen 14 september 2026 −212,86 €" in text
    assert "Att betala 0,00 €" in text
    assert "Betald i sin helhet den 14 september 2026. Tack!" in text
    assert "Betala 212,86" not in text


def test_a_swedish_credit_note_and_the_invoice_it_settles(swedish):
    invoice = september_invoice(swedish)
    note = services.issue_credit_note(invoice=invoice, reason="Avbrott", deliver=False)
    note_text = flat("".join(pdf_text(render_invoice_pdf(note))))
    assert f"Kreditnota {note.number}" in note_text
    assert f"Krediterar faktura {invoice.number}" in note_text
    assert "Totalt krediterat −212,86 €" in note_text
    assert (
        f"Denna kreditnota minskar beloppet att betala på faktura {invoice.number} (Avbrott)."
    ) in note_text
    invoice_text = flat("".join(pdf_text(render_invoice_pdf(Invoice.objects.get(pk=invoice.pk)))))
    assert f"Reglerad med kreditnota {note.number}. Inget att betala." in invoice_text

    mail.outbox.clear()
    delivery.email_invoice(invoice=note)
    (message,) = mail.outbox
    assert message.subject == f"Kreditnota {note.number} från {SELLER}"
    assert (
        f"vi har utfärdat kreditnota {note.number} på 212,86{NBSP}€ avseende faktura "
        f"{invoice.number} (Avbrott). Ingen betalning behövs för den."
    ) in message.body
    assert f"Inget mer återstår att betala på {invoice.number}." in message.body


def test_a_swedish_reverse_charge_invoice_says_who_accounts_for_the_vat(customer):
    customer.country, customer.vat_id = "DE", "DE136695976"
    customer.save()
    customer.billing_profile.invoice_language = BillingProfile.Language.SWEDISH
    customer.billing_profile.save()
    invoice = september_invoice(customer)
    text = flat("".join(pdf_text(render_invoice_pdf(invoice))))
    assert "Moms 0 % 0,00 €" in text and "Tyskland" in text
    assert "Omvänd betalningsskyldighet, art. 196 direktiv 2006/112/EG" in text
    assert "Säljarens momsregistreringsnummer SE559900112201" in text
    assert "kundens momsregistreringsnummer DE136695976" in text


def test_a_swedish_reminder(swedish):
    invoice = september_invoice(swedish)
    services.flag_overdue_invoices(now=datetime.datetime(2026, 11, 5, tzinfo=datetime.UTC))
    delivery.email_overdue_reminder(invoice=invoice)
    (message,) = mail.outbox
    assert message.subject == f"Påminnelse: faktura {invoice.number} är förfallen"
    assert (
        f"faktura {invoice.number} förföll till betalning den 31 oktober 2026 och "
        f"212,86{NBSP}€ av den är fortfarande obetalt."
    ) in message.body


def test_a_swedish_receipt(client, owner_client, swedish, stripe_standin):
    invoice = september_invoice(swedish)
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    deliver(client, completed(CheckoutSession.objects.get()))
    delivery.email_payment_receipt(checkout=CheckoutSession.objects.get())
    (receipt,) = mail.outbox
    assert receipt.subject == f"Betalning mottagen: 212,86{NBSP}€, tack"
    assert f"{invoice.number}: 212,86{NBSP}€ mottaget, betald i sin helhet" in receipt.body


def test_an_issued_invoice_keeps_the_language_it_was_issued_in(swedish):
    invoice = september_invoice(swedish)
    swedish.billing_profile.invoice_language = BillingProfile.Language.ENGLISH
    swedish.billing_profile.save()
    later = september_invoice(swedish)
    assert "Förfallodatum" in "".join(pdf_text(render_invoice_pdf(invoice)))
    assert "Due date" in "".join(pdf_text(render_invoice_pdf(later)))
