"""Workflows running at the same moment on PostgreSQL: gapless numbers, no Stripe call while
invoices are locked, and no deadlock between payments, refunds, credit notes and finalizing."""

import contextlib
import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from billing import services, webhooks
from billing.exceptions import BillingError
from billing.models import CheckoutSession, Invoice
from billing.services import LineSpec
from tests.concurrency import run_together
from tests.factories import issued_invoice
from tests.stripe_standin import checkout_event, refund_event


@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizations_take_unique_gapless_numbers(postgres, customer):
    drafts = []
    for n in range(20):
        draft = services.create_draft(customer=customer)
        services.add_lines(
            invoice=draft, lines=[LineSpec("vm", f"line {n}", Decimal(1), "h", Decimal(n + 1))]
        )
        drafts.append(draft)

    numbers = []

    def finalize(draft):
        invoice = services.finalize_invoice(
            invoice=draft, issue_date=datetime.date(2026, 7, 1), deliver=False
        )
        numbers.append(invoice.number)

    assert run_together(*(lambda draft=draft: finalize(draft) for draft in drafts)) == []
    assert sorted(numbers) == [f"INV-2026-{n:04d}" for n in range(1, 21)]


@pytest.mark.django_db(transaction=True)
def test_no_invoice_is_locked_while_stripe_is_called(postgres, owner, customer, stripe_standin):
    invoices = [
        issued_invoice(customer, [("vm", "h", "1", "h", "10")], deliver=False) for _ in range(2)
    ]
    seen = []

    def try_to_lock(path):
        # Another worker (a webhook, staff) locking these invoices while we wait for Stripe.
        try:
            with transaction.atomic():
                list(Invoice.objects.filter(customer=customer).select_for_update(nowait=True))
            seen.append((path, "free"))
        except DatabaseError:
            seen.append((path, "locked"))
        finally:
            connection.close()

    stripe_standin.on_request = try_to_lock
    client = Client()
    client.force_login(owner)
    response = client.post("/invoices/pay/", {"number": [i.number for i in invoices]})
    assert response.status_code == 303
    assert seen == [("/v1/customers", "free"), ("/v1/checkout/sessions", "free")]


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_pay_now_opens_one_checkout(postgres, owner, customer, stripe_standin):
    invoice = issued_invoice(customer, [("vm", "h", "1", "h", "10")], deliver=False)

    def click():
        client = Client()
        client.force_login(owner)
        assert client.post(f"/invoices/{invoice.number}/pay/").status_code == 303

    assert run_together(click, click) == []
    assert CheckoutSession.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_click_in_the_next_minute_still_opens_one_checkout(
    postgres, owner, customer, stripe_standin, time_machine
):
    # The first click waits on Stripe while the clock turns a minute and the second click runs
    # from start to end: Stripe's idempotency key (which holds the minute) cannot make the two
    # one session; the second one to store its session must find the first one's.
    time_machine.move_to(datetime.datetime(2026, 11, 2, 11, 59, 59, tzinfo=datetime.UTC))
    invoice = issued_invoice(customer, [("vm", "h", "1", "h", "10")], deliver=False)
    second_click = []

    def click():
        client = Client()
        client.force_login(owner)
        return client.post(f"/invoices/{invoice.number}/pay/")

    def while_stripe_answers_the_first(path):
        if path == "/v1/checkout/sessions" and not second_click:
            second_click.append(None)
            time_machine.shift(datetime.timedelta(minutes=1))
            run_together(lambda: second_click.append(click()))

    stripe_standin.on_request = while_stripe_answers_the_first
    first = click()

    assert len(stripe_standin.calls("/v1/checkout/sessions")) == 2  # the race did happen
    assert CheckoutSession.objects.count() == 1
    assert first["Location"] == second_click[1]["Location"] == CheckoutSession.objects.get().url


@pytest.mark.django_db(transaction=True)
def test_payments_refunds_credit_notes_and_finalizing_at_once_never_deadlock(
    postgres, owner, customer, stripe_standin
):
    """Every workflow takes its locks in one order (customer, then invoices by id): run the
    ones that lock the same rows together, many times, and none may fail."""
    a, b = (issued_invoice(customer, [("vm", "h", "1", "h", "100")], deliver=False) for _ in "ab")
    client = Client()
    client.force_login(owner)
    client.post("/invoices/pay/", {"number": [b.number, a.number]})
    session = CheckoutSession.objects.get()
    now = datetime.datetime.now(datetime.UTC)

    def settle():
        event = checkout_event(
            "evt_paid",
            "checkout.session.completed",
            session_id=session.stripe_id,
            amount_total=20000,
        )
        webhooks.handle_stripe_event(event)

    def refund():
        event = refund_event("evt_refund", payment_intent="pi_test_1", amount_refunded=5000)
        webhooks.handle_stripe_event(event)

    def bank_on(invoice):
        def bank():
            with contextlib.suppress(BillingError):  # already settled by the others: refused
                services.record_bank_payment(
                    invoice=invoice, amount=Decimal("10.00"), received_at=now
                )

        return bank

    def credit_on(invoice):
        def credit():
            with contextlib.suppress(BillingError):
                services.issue_credit_note(
                    invoice=invoice, reason="x", net_amount=Decimal("1.00"), deliver=False
                )

        return credit

    def finalize_new():
        issued_invoice(customer, [("vm", "h", "1", "h", "5")], deliver=False)

    errors = run_together(
        settle, refund, bank_on(a), bank_on(b), credit_on(b), credit_on(a), finalize_new
    )
    assert errors == []
