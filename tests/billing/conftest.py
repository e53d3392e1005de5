import datetime
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.models import Invoice, InvoiceSummary
from tests.conftest import require
from tests.factories import ContactFactory, issued_invoice
from tests.stripe_standin import checkout_event, signed

# One invoice's lines, with amounts worked out by hand (quantity × unit price, half-up):
#   2160 × 0.0125 = 27.0000            -> 27.00
#   8640.5 × 0.0042 = 36.2901          -> 36.29
#   1200 × 0.085 = 102.0000            -> 102.00
#   333.333 × 0.015 = 4.999995         -> 5.00
# subtotal 170.29; VAT 25% = 42.5725   -> 42.57; total 212.86
LINES = [
    ("k8s-prod", "vCPU-hours", "2160", "vCPU-h", "0.012500"),
    ("k8s-prod", "Memory", "8640.5", "GB-h", "0.004200"),
    ("db-primary", "Block storage", "1200", "GB-month", "0.085000"),
    ("db-primary", "Bandwidth (egress)", "333.333", "GB", "0.015000"),
]
SUBTOTAL, VAT, TOTAL = Decimal("170.29"), Decimal("42.57"), Decimal("212.86")
CENTS = 21286  # TOTAL in cents, as Stripe counts
WEBHOOK = "/stripe/webhook/"


@pytest.fixture
def billing_contact(customer):
    return ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)


@pytest.fixture
def invoice(customer):
    return issued_invoice(
        customer, LINES, issue_date=datetime.date(2026, 10, 1), vat_rate=Decimal("25.00")
    )


@pytest.fixture
def make_invoice(customer):
    """Invoices for the owner's customer: make_invoice(total_per_line="100.00", issue_date=...)."""

    def make(amount="100.00", *, issue_date=datetime.date(2026, 10, 1), for_customer=None):
        return issued_invoice(
            for_customer or customer,
            [("compute", "vCPU-hours", "1", "vCPU-h", amount)],
            issue_date=issue_date,
            vat_rate=Decimal("0.00"),
        )

    return make


def status_of(invoice) -> str:
    return Invoice.objects.values_list("status", flat=True).get(pk=invoice.pk)


# ---- Stripe webhooks, signed as Stripe signs them ----


def deliver(client, event, **sign):
    body, signature = signed(event, **sign)
    return client.post(
        WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def completed(checkout, event_id="evt_1", **fields):
    return checkout_event(
        event_id,
        "checkout.session.completed",
        session_id=checkout.stripe_id,
        amount_total=fields.pop("amount_total", CENTS),
        **fields,
    )


SUMMARY_FIELDS = [
    "invoices_unpaid",
    "invoices_overdue",
    "invoices_paid",
    "invoices_credited",
    "invoices_void",
    "credit_notes",
    "owed_unpaid",
    "owed_overdue",
    "settled_total",
    "received",
]


def stored_summary(customer) -> dict:
    """The customer's InvoiceSummary as the ledger left it (all zero when it has none)."""
    row = InvoiceSummary.objects.filter(customer=customer).first() or InvoiceSummary()
    return {name: getattr(row, name) for name in SUMMARY_FIELDS}


def summary_by_hand(customer) -> dict:
    """The same figures added up one invoice at a time, from the invoice rows alone."""
    figures = dict.fromkeys(SUMMARY_FIELDS[:6], 0) | dict.fromkeys(SUMMARY_FIELDS[6:], Decimal(0))
    for i in Invoice.objects.filter(customer=customer).exclude(status="draft"):
        figures["received"] += i.amount_paid + i.credit_applied
        if i.kind == "credit_note":
            figures["credit_notes"] += 1
            continue
        figures[f"invoices_{i.status}"] += 1
        if i.status in ("unpaid", "overdue"):
            owed = i.total - i.amount_paid - i.amount_credited - i.credit_applied
            figures[f"owed_{i.status}"] += owed
        if i.status in ("paid", "credited"):
            figures["settled_total"] += i.total
    return figures


def state(invoice):
    invoice = Invoice.objects.get(pk=invoice.pk)
    return invoice.status, invoice.amount_paid, invoice.outstanding


def pdftotext_layout(data: bytes, tmp_path) -> str:
    """The PDF as poppler's pdftotext -layout reads it (Debian's poppler-utils)."""
    require(shutil.which("pdftotext"), "pdftotext (poppler-utils)")
    path = tmp_path / "read-back.pdf"
    path.write_bytes(data)
    command = ["pdftotext", "-layout", str(path), "-"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def pdf_text(data: bytes) -> list[str]:
    """The text of each page, as an accountant's tools would read it."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
