"""Existing books move to the credit ledger and the new statuses without losing a cent."""

import datetime
from decimal import Decimal

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrating import migrate

BEFORE = [("billing", "0002_payments"), ("accounts", "0002_account_settings")]
AFTER = [("billing", "0004_invoice_bill_to")]
NOW = datetime.datetime(2026, 10, 1, 12, tzinfo=datetime.UTC)


def test_credit_statuses_pdfs_refunds_and_waiting_events_carry_over(back_to_latest):
    old = migrate(BEFORE)
    Customer = old.get_model("accounts", "Customer")
    Invoice, Payment = old.get_model("billing", "Invoice"), old.get_model("billing", "Payment")
    CheckoutSession = old.get_model("billing", "CheckoutSession")
    acme = Customer.objects.create(
        name="Acme", number="C-1", country="SE", address_line1="Storgatan 1", city="Stockholm"
    )

    def invoice(number, **fields):
        return Invoice.objects.create(
            customer=acme, number=number, currency="EUR", issue_date=NOW.date(), **fields
        )

    paid = invoice("INV-2026-0001", status="paid", total=100, amount_paid=90, pdf="x.pdf")
    credited = invoice("INV-2026-0002", status="paid", total=50, amount_credited=50)
    invoice(
        "INV-2026-0003", kind="credit_note", status="paid", total=-50, credited_invoice=credited
    )
    checkout = CheckoutSession.objects.create(
        customer=acme, stripe_id="cs_1", url="https://x", amount_total=112, currency="EUR",
        attempt=0, idempotency_key="k", expires_at=NOW,
    )  # fmt: skip
    payment = Payment.objects.create(
        invoice=paid, amount=100, currency="EUR", method="card", checkout=checkout,
        stripe_payment_intent="pi_1", received_at=NOW,
    )  # fmt: skip
    Payment.objects.create(
        invoice=paid, kind="refund", amount=10, currency="EUR", method="card",
        stripe_payment_intent="pi_1", received_at=NOW,
    )  # fmt: skip
    old.get_model("billing", "CustomerCredit").objects.create(
        customer=acme, amount=Decimal("12.00"), currency="EUR", reason="Overpaid", checkout=checkout
    )
    old.get_model("billing", "StripeEvent").objects.create(
        stripe_id="evt_1", type="charge.refunded", payload={}, payment_intent="pi_9",
        outcome="deferred: the payment is not recorded yet",
    )  # fmt: skip

    new = migrate(AFTER)
    Invoice, Payment = new.get_model("billing", "Invoice"), new.get_model("billing", "Payment")
    entry = new.get_model("billing", "CreditEntry").objects.get()
    assert (entry.kind, entry.amount, entry.payment_intent, entry.note) == (
        "overpayment", Decimal("12.00"), "pi_1", "Overpaid",
    )  # fmt: skip
    statuses = dict(Invoice.objects.values_list("number", "status"))
    assert statuses == {
        "INV-2026-0001": "paid",
        "INV-2026-0002": "credited",  # covered by its credit note, nothing paid
        "INV-2026-0003": "credited",  # the credit note itself
    }
    assert Invoice.objects.get(number="INV-2026-0001").pdf_revision is None  # rendered again
    assert Payment.objects.get(kind="refund").source_id == payment.pk
    assert new.get_model("billing", "StripeEvent").objects.get().deferred
    assert Invoice.objects.get(number="INV-2026-0001").bill_to["address"] == [
        "Storgatan 1",
        "Stockholm",
    ]


def test_issued_usage_lines_learn_their_metric_and_month_and_staff_lines_stay(back_to_latest):
    old = migrate([("billing", "0008_invoice_usage_month")])
    Customer = old.get_model("accounts", "Customer")
    Invoice, InvoiceLine = (
        old.get_model("billing", "Invoice"),
        old.get_model("billing", "InvoiceLine"),
    )
    acme = Customer.objects.create(name="Acme", number="C-1", country="SE")
    invoice = Invoice.objects.create(
        customer=acme, number="INV-2026-0001", currency="EUR", issue_date=NOW.date(),
        status="unpaid", total=10,
    )  # fmt: skip

    def line(description):
        return InvoiceLine.objects.create(
            invoice=invoice, service="k8s-prod-eu1", description=description, quantity=1,
            unit="GB-month", unit_price=1, amount=1,
        ).pk  # fmt: skip

    storage = line("Storage (GB-months), November 2026")
    cpu = line("CPU Hours (vCPU-hours), January 2025")
    setup = line("Setup fee, November 2026")
    comma = line("Storage (GB-months), of a kind")

    new = migrate([("billing", "0009_invoice_line_metric_and_month")])
    lines = new.get_model("billing", "InvoiceLine").objects.in_bulk()
    assert (lines[storage].metric, lines[storage].month) == ("storage", datetime.date(2026, 11, 1))
    assert (lines[cpu].metric, lines[cpu].month) == ("cpu", datetime.date(2025, 1, 1))
    for staff_line in (setup, comma):
        assert (lines[staff_line].metric, lines[staff_line].month) == ("", None)
    assert lines[setup].description == "Setup fee, November 2026"


def test_invoices_issued_before_vat_treatments_keep_the_reverse_charge_they_printed(
    back_to_latest,
):
    old = migrate([("billing", "0009_invoice_line_metric_and_month")])
    Customer, Invoice = old.get_model("accounts", "Customer"), old.get_model("billing", "Invoice")
    acme = Customer.objects.create(name="Acme", number="C-1", country="SE")

    def issued(number, vat_rate, vat_id, **fields):
        return Invoice.objects.create(
            customer=acme, number=number, status="unpaid", currency="EUR", vat_rate=vat_rate,
            issue_date=NOW.date(), bill_to={"country": "DE", "vat_id": vat_id}, **fields,
        )  # fmt: skip

    reverse_charged = issued("INV-2026-0001", 0, "DE123456788")
    issued("INV-2026-0002", 25, "SE556000000101")  # Swedish VAT
    issued("INV-2026-0003", 0, "")  # no VAT id: no note was printed
    issued("INV-2026-0004", 0, "DE123456788", kind="credit_note", total=-1,
           credited_invoice=reverse_charged)  # fmt: skip

    new = migrate([("billing", "0010_invoice_vat_treatment")])
    treatments = dict(
        new.get_model("billing", "Invoice").objects.values_list("number", "vat_treatment")
    )
    assert treatments == {
        "INV-2026-0001": "reverse_charge",
        "INV-2026-0002": "",
        "INV-2026-0003": "",
        "INV-2026-0004": "",  # credit notes printed none
    }


# What the portal wrote in English before timeline entries kept facts, kind by kind, with
# the facts read back by hand; the last ones are not the portal's sentences and stay as stored.
OLD_ENTRIES = [
    ("finalized", "Issued as INV-2026-0001.", {"number": "INV-2026-0001"}),
    ("pdf_rendered", "PDF updated.", {"updated": True}),
    (
        "emailed",
        "Sent to ap@acme.example, cfo@acme.example.",
        {"recipients": ["ap@acme.example", "cfo@acme.example"]},
    ),
    (
        "not_emailed",
        "Overdue reminder not sent: the customer has no confirmed Billing address.",
        {"mail": "reminder"},
    ),
    ("marked_overdue", "Not paid by its due date, 31 Oct 2026.", {"due_date": "2026-10-31"}),
    (
        "checkout_started",
        "Online payment of SEK 1,234.50 started.",
        {"amount": "1234.50", "currency": "SEK"},
    ),
    (
        "payment_received",
        "Bank transfer of €100.00 received (reference RF 12 (b)).",
        {
            "amount": "100.00",
            "currency": "EUR",
            "method": "bank_transfer",
            "reference": "RF 12 (b)",
        },
    ),
    (
        "payment_received",
        "Card payment of €12,000.00 received through Stripe.",
        {"amount": "12000.00", "currency": "EUR", "method": "card", "reference": ""},
    ),
    (
        "payment_mismatch",
        "Stripe reports $5.00 for a payment of €212.86: received, not applied "
        "to the invoices until staff have checked it.",
        {"received": "5.00", "received_currency": "USD", "expected": "212.86", "currency": "EUR"},
    ),
    (
        "credited",
        "INV-2026-0002 credits €50.00.",
        {"number": "INV-2026-0002", "amount": "50.00", "currency": "EUR"},
    ),
    ("reopened", "€62.86 is owed again.", {"amount": "62.86", "currency": "EUR"}),
    ("voided", "Voided.", {}),
]
KEPT = [
    ("voided", "Issued to the wrong customer"),  # a reason staff typed
    ("marked_overdue", "Not paid by its due date, 31 Foo 2026."),  # no such date
    ("credited", "INV-2026-0002 credits 50 euros."),  # not the portal's sentence
    ("paid", "Paid by cheque."),
]  # fmt: skip


def test_timeline_entries_keep_their_facts_and_unreadable_text_stays(back_to_latest):
    from django.utils import translation

    from billing.models import InvoiceEvent as LatestEvent

    old = migrate([("billing", "0012_invoice_counts_index_by_kind")])
    Customer, Invoice = old.get_model("accounts", "Customer"), old.get_model("billing", "Invoice")
    InvoiceEvent = old.get_model("billing", "InvoiceEvent")
    acme = Customer.objects.create(name="Acme", number="C-1", country="SE")
    invoice = Invoice.objects.create(
        customer=acme, number="INV-2026-0001", currency="EUR", status="unpaid", total=10
    )
    ids = [
        InvoiceEvent.objects.create(invoice=invoice, kind=kind, message=message).pk
        for kind, message, *_ in [*OLD_ENTRIES, *KEPT]
    ]

    new = migrate([("billing", "0013_invoice_event_params")])
    events = new.get_model("billing", "InvoiceEvent").objects.in_bulk(ids)
    stored = [(events[pk].params, events[pk].message) for pk in ids]
    assert stored == [(facts, "") for *_, facts in OLD_ENTRIES] + [
        ({}, message) for _, message in KEPT
    ]

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    latest = LatestEvent.objects.in_bulk(ids)
    with translation.override("en"):  # each reads as it did (Babel keeps SEK and its digits apart)
        read = [latest[pk].text.replace("SEK\u00a0", "SEK ") for pk in ids]
        assert read == [m for _, m, *_ in [*OLD_ENTRIES, *KEPT]]
    with translation.override("sv"):
        swedish = [latest[pk].text for pk in ids]
    assert swedish[4:8] == [
        "Inte betald senast förfallodagen, 31 oktober 2026.",
        "Betalning online på 1\u00a0234,50\u00a0kr påbörjad.",
        "Banköverföring på 100,00\u00a0€ mottagen (referens RF 12 (b)).",
        "Kortbetalning på 12\u00a0000,00\u00a0€ mottagen via Stripe.",
    ]
    assert swedish[-len(KEPT) :] == [message for _, message in KEPT]


def test_credit_notes_given_a_fixed_reason_before_codes_get_its_code(back_to_latest):
    old = migrate([("billing", "0013_invoice_event_params")])
    Customer, Invoice = old.get_model("accounts", "Customer"), old.get_model("billing", "Invoice")
    acme = Customer.objects.create(name="Acme", number="C-1", country="SE")
    invoice = Invoice.objects.create(customer=acme, number="INV-2026-0001", status="paid")
    for number, reason in [("2", "Credited in full"), ("3", "Credited in full, twice"),
                           ("4", "Billing error")]:  # fmt: skip
        Invoice.objects.create(
            customer=acme, number=f"INV-2026-000{number}", kind="credit_note", status="credited",
            credited_invoice=invoice, reason=reason,
        )  # fmt: skip

    new = migrate([("billing", "0014_credit_note_reason_code")])
    reasons = new.get_model("billing", "Invoice").objects.filter(kind="credit_note")
    assert sorted(reasons.values_list("number", "reason_code", "reason")) == [
        ("INV-2026-0002", "in_full", ""),
        ("INV-2026-0003", "", "Credited in full, twice"),  # free text, as typed
        ("INV-2026-0004", "billing_error", ""),
    ]
    new.get_model("billing", "Invoice").objects.filter(number="INV-2026-0004").update(
        reason="typed after it"
    )
    back = migrate([("billing", "0013_invoice_event_params")])
    assert sorted(
        back.get_model("billing", "Invoice").objects.filter(kind="credit_note")
        .values_list("number", "reason")
    ) == [
        ("INV-2026-0002", "Credited in full"),
        ("INV-2026-0003", "Credited in full, twice"),
        ("INV-2026-0004", "Billing error: typed after it"),
    ]  # fmt: skip


def test_each_customers_billing_settings_move_to_its_profile_and_back(back_to_latest):
    before = [
        ("accounts", "0007_mail_sent_and_undelivered_mail"),
        ("billing", "0014_credit_note_reason_code"),
    ]
    old = migrate(before)
    Customer = old.get_model("accounts", "Customer")
    settings = {
        "C-1": {
            "payment_terms_days": 14, "stripe_customer_id": "cus_acme",
            "invoice_delivery": "link", "send_payment_receipts": False, "invoice_language": "sv",
        },
        "C-2": {
            "payment_terms_days": 30, "stripe_customer_id": "",
            "invoice_delivery": "attachment", "send_payment_receipts": True,
            "invoice_language": "en",
        },
    }  # fmt: skip
    for number, fields in settings.items():
        Customer.objects.create(name=number, number=number, country="SE", **fields)

    new = migrate([("accounts", "0008_billing_fields_to_billing")])
    profiles = new.get_model("billing", "BillingProfile").objects.select_related("customer")
    moved = {profile.customer.number: profile for profile in profiles}
    assert sorted(moved) == ["C-1", "C-2"]
    for number, fields in settings.items():
        assert {field: getattr(moved[number], field) for field in fields} == fields
        assert moved[number].currency == "EUR"

    back = migrate(before)
    restored = back.get_model("accounts", "Customer").objects.in_bulk(field_name="number")
    for number, fields in settings.items():
        assert {field: getattr(restored[number], field) for field in fields} == fields


# ---- Every customer's invoice summary, from the invoices it has ----

# The accounts of these days (without the billing settings that moved to BillingProfile).
BEFORE_SUMMARY = [
    ("billing", "0016_late_usage_lines"),
    ("accounts", "0008_billing_fields_to_billing"),
]
AFTER_SUMMARY = [("billing", "0017_invoice_summary")]


def test_the_migration_adds_up_the_invoices_every_customer_has(back_to_latest):
    old = migrate(BEFORE_SUMMARY)
    Customer, Invoice = old.get_model("accounts", "Customer"), old.get_model("billing", "Invoice")

    def customer(number):
        return Customer.objects.create(
            name=number, number=number, country="SE", address_line1="Gatan 1", city="Lund"
        )

    acme, globex, quiet = customer("C-1"), customer("C-2"), customer("C-3")
    numbers = iter(range(1, 100))

    def invoice(owner, status, total, **fields):
        return Invoice.objects.create(
            customer=owner, number=f"INV-2026-{next(numbers):04d}", status=status, total=total,
            issue_date=NOW.date(), **fields,
        )  # fmt: skip

    invoice(acme, "unpaid", 100, amount_paid=30)
    invoice(acme, "overdue", 80, credit_applied=5)
    paid = invoice(acme, "paid", 60, amount_paid=50, amount_credited=10)
    invoice(acme, "credited", -10, kind="credit_note", credited_invoice=paid)
    invoice(acme, "void", 20)
    Invoice.objects.create(customer=acme, status="draft", total=999)  # not issued: not counted
    invoice(globex, "credited", 40, amount_credited=40)

    new = migrate(AFTER_SUMMARY)
    rows = {
        row.customer_id: row
        for row in new.get_model("billing", "InvoiceSummary").objects.order_by("customer_id")
    }
    assert set(rows) == {acme.pk, globex.pk}  # quiet has no invoice, so no row
    figures = [
        "invoices_unpaid", "invoices_overdue", "invoices_paid", "invoices_credited",
        "invoices_void", "credit_notes", "owed_unpaid", "owed_overdue", "settled_total",
        "received",
    ]  # fmt: skip
    assert [getattr(rows[acme.pk], name) for name in figures] == [
        1, 1, 1, 0, 1, 1, Decimal("70.00"), Decimal("75.00"), Decimal("60.00"), Decimal("85.00"),
    ]  # fmt: skip
    assert [getattr(rows[globex.pk], name) for name in figures] == [
        0, 0, 0, 1, 0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("40.00"), Decimal("0.00"),
    ]  # fmt: skip
    assert quiet.pk not in rows
