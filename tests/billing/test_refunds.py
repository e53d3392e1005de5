"""Stripe refunds in every order of events: from the credit a payment created first, exact to the
cent on every database, never lost to a race, in the payment's own currency."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from billing import ledger, services, tasks
from billing.models import CheckoutSession, CreditEntry, Invoice, Payment, StripeEvent
from billing.selectors import credit_balance
from tests.billing.conftest import deliver
from tests.factories import issued_invoice
from tests.stripe_standin import checkout_event, refund_event

pytestmark = pytest.mark.both_databases


def one_line(customer, amount: str):
    return issued_invoice(
        customer, [("compute", "vCPU-hours", "1", "vCPU-h", amount)], vat_rate=Decimal("0.00")
    )


def paid_checkout(client, owner_client, invoices, *, cents: int, intent="pi_test_1"):
    owner_client.post("/invoices/pay/", {"number": [i.number for i in invoices]})
    checkout = CheckoutSession.objects.latest("pk")
    event = checkout_event(
        f"evt_paid_{intent}",
        "checkout.session.completed",
        session_id=checkout.stripe_id,
        amount_total=cents,
        payment_intent=intent,
    )
    assert deliver(client, event).status_code == 200
    return checkout


def status_and_outstanding(invoice):
    invoice = Invoice.objects.get(pk=invoice.pk)
    return invoice.status, invoice.outstanding


@pytest.fixture
def a_and_b(client, owner_client, customer, billing_contact, stripe_standin):
    """One Checkout for A (100) and B (50); B was paid by bank first, so 50 became credit."""
    a, b = one_line(customer, "100.00"), one_line(customer, "50.00")
    owner_client.post("/invoices/pay/", {"number": [a.number, b.number]})
    services.record_bank_payment(
        invoice=b, amount=Decimal("50.00"), received_at=datetime.datetime.now(datetime.UTC)
    )
    checkout = CheckoutSession.objects.get()
    event = checkout_event(
        "evt_paid", "checkout.session.completed", session_id=checkout.stripe_id, amount_total=15000
    )
    deliver(client, event)
    assert credit_balance(customer, "EUR") == Decimal("50.00")
    return a, b


def test_refunding_an_overpayment_uses_its_credit_and_keeps_the_invoices_paid(
    client, customer, a_and_b
):
    a, b = a_and_b
    response = deliver(
        client, refund_event("evt_r", payment_intent="pi_test_1", amount_refunded=5000)
    )
    assert response.json()["outcome"] == "refunded"
    assert status_and_outstanding(a) == ("paid", Decimal("0.00"))
    assert status_and_outstanding(b) == ("paid", Decimal("0.00"))
    assert credit_balance(customer, "EUR") == Decimal("0.00")
    refund = CreditEntry.objects.get(kind="refunded")
    assert (refund.amount, refund.payment_intent) == (Decimal("50.00"), "pi_test_1")
    assert not Payment.objects.filter(kind="refund").exists()


def test_a_refund_beyond_the_credit_reopens_the_invoice_for_the_rest(client, customer, a_and_b):
    a, _b = a_and_b
    deliver(client, refund_event("evt_r", payment_intent="pi_test_1", amount_refunded=8000))
    # 50.00 came out of the credit, the other 30.00 out of A's 100.00.
    assert status_and_outstanding(a) == ("unpaid", Decimal("30.00"))
    assert credit_balance(customer, "EUR") == Decimal("0.00")
    assert Payment.objects.get(kind="refund").amount == Decimal("30.00")


def test_refunds_are_exact_decimal_on_every_database(
    client, owner_client, customer, stripe_standin
):
    # 77.28 then the rest of 335.32: with floating point this left -5.7e-14 and broke the
    # invoice_payments_not_negative constraint, so the webhook failed on every retry.
    invoice = one_line(customer, "335.32")
    paid_checkout(client, owner_client, [invoice], cents=33532)
    first = deliver(
        client, refund_event("evt_r1", payment_intent="pi_test_1", amount_refunded=7728)
    )
    second = deliver(
        client, refund_event("evt_r2", payment_intent="pi_test_1", amount_refunded=33532)
    )
    assert (first.status_code, second.status_code) == (200, 200)
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("0.00")
    assert str(invoice.amount_paid) == "0.00"
    assert (invoice.status, invoice.outstanding) == ("unpaid", Decimal("335.32"))
    assert sorted(Payment.objects.filter(kind="refund").values_list("amount", flat=True)) == [
        Decimal("77.28"),
        Decimal("258.04"),
    ]


def test_a_refund_in_another_currency_is_flagged_not_booked(
    client, owner_client, customer, stripe_standin
):
    invoice = one_line(customer, "100.00")
    paid_checkout(client, owner_client, [invoice], cents=10000)
    event = refund_event("evt_r", payment_intent="pi_test_1", amount_refunded=10000)
    event["data"]["object"]["currency"] = "usd"
    deliver(client, event)
    stored = StripeEvent.objects.get(stripe_id="evt_r")
    assert stored.needs_attention and "USD" in stored.outcome
    assert status_and_outstanding(invoice) == ("paid", Decimal("0.00"))
    assert not Payment.objects.filter(kind="refund").exists()


def test_a_refund_before_its_payment_is_marked_deferred_in_a_field_and_booked_after(
    client, owner_client, customer, stripe_standin
):
    invoice = one_line(customer, "100.00")
    early = deliver(client, refund_event("evt_r", payment_intent="pi_test_1", amount_refunded=4000))
    assert early.json()["outcome"].startswith("deferred")
    assert StripeEvent.objects.get(stripe_id="evt_r").deferred
    paid_checkout(client, owner_client, [invoice], cents=10000)
    stored = StripeEvent.objects.get(stripe_id="evt_r")
    assert (stored.deferred, stored.outcome) == (False, "refunded")
    assert status_and_outstanding(invoice) == ("unpaid", Decimal("40.00"))


def test_the_sweep_books_a_deferred_refund_whose_payment_came_without_a_recheck(
    client, owner_client, customer, stripe_standin
):
    invoice = one_line(customer, "100.00")
    paid_checkout(client, owner_client, [invoice], cents=10000)
    # A refund stored as deferred by a handler that lost a race (the payment was not visible
    # to it yet): only the sweep can book it now.
    StripeEvent.objects.create(
        stripe_id="evt_lost",
        type="charge.refunded",
        payload=refund_event("evt_lost", payment_intent="pi_test_1", amount_refunded=2500),
        payment_intent="pi_test_1",
        outcome="deferred: the payment is not recorded yet",
        deferred=True,
    )
    assert tasks.retry_deferred_refunds() == 1
    assert not StripeEvent.objects.get(stripe_id="evt_lost").deferred
    assert status_and_outstanding(invoice) == ("unpaid", Decimal("25.00"))
    assert tasks.retry_deferred_refunds() == 0


@pytest.mark.django_db(transaction=True)
def test_a_refund_during_its_payments_settlement_waits_for_it_and_is_booked(
    postgres, owner, customer, stripe_standin
):
    """The lost-refund race: charge.refunded handled while checkout.session.completed is still
    uncommitted must wait for it (advisory lock per payment intent), then book the refund."""
    from tests.factories import ContactFactory

    ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)
    invoice = one_line(customer, "100.00")
    owner_client = Client()
    owner_client.force_login(owner)
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    checkout = CheckoutSession.objects.get()

    settling, may_commit = threading.Event(), threading.Event()
    real_apply = ledger.apply_payment

    def slow_apply(**kwargs):
        payment = real_apply(**kwargs)
        settling.set()
        may_commit.wait(10)  # hold the settlement's transaction open
        return payment

    results = {}

    def settle():
        try:
            event = checkout_event(
                "evt_paid",
                "checkout.session.completed",
                session_id=checkout.stripe_id,
                amount_total=10000,
            )
            results["settle"] = deliver(Client(), event).json()["outcome"]
        finally:
            connection.close()

    def refund():
        try:
            event = refund_event("evt_refund", payment_intent="pi_test_1", amount_refunded=10000)
            results["refund"] = deliver(Client(), event).json()["outcome"]
        finally:
            connection.close()

    ledger.apply_payment = slow_apply
    try:
        settler = threading.Thread(target=settle)
        settler.start()
        assert settling.wait(10)
        refunder = threading.Thread(target=refund)
        refunder.start()
        refunder.join(1)
        assert refunder.is_alive()  # waiting for the settlement, not deciding without it
        may_commit.set()
        settler.join(10)
        refunder.join(10)
    finally:
        ledger.apply_payment = real_apply
    assert results == {"settle": "paid", "refund": "refunded"}
    assert status_and_outstanding(invoice) == ("unpaid", Decimal("100.00"))
    assert not StripeEvent.objects.filter(deferred=True).exists()
