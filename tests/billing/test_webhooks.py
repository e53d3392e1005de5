"""Stripe webhooks: only a verified event moves money, once, whatever the order or repetition."""

import datetime
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from billing import services, tasks
from billing.models import CheckoutSession, CreditEntry, Invoice, Payment, StripeEvent
from billing.selectors import invoice_stats
from tests.billing.conftest import CENTS, LINES, TOTAL, WEBHOOK, completed, deliver, state
from tests.concurrency import run_together
from tests.factories import ContactFactory, issued_invoice
from tests.htmx import htmx
from tests.stripe_standin import checkout_event, refund_event, signed

pytestmark = pytest.mark.both_databases


@pytest.fixture
def invoice(customer):
    """Issued today, so that it is not overdue when a refund reopens it."""
    return issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))


@pytest.fixture
def checkout(owner_client, invoice, billing_contact, stripe_standin):
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    return CheckoutSession.objects.get()


def test_a_paid_checkout_marks_the_invoice_paid(client, checkout, invoice):
    response = deliver(client, completed(checkout))
    assert response.status_code == 200
    assert response.json() == {"received": "evt_1", "outcome": "paid"}
    assert state(invoice) == ("paid", TOTAL, Decimal("0.00"))
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.stripe_payment_intent) == (
        TOTAL,
        "card",
        "pi_test_1",
    )
    kinds = list(invoice.events.values_list("kind", flat=True))
    assert kinds == ["finalized", "checkout_started", "payment_received", "paid"]
    assert CheckoutSession.objects.get().status == "paid"


def test_the_same_event_delivered_50_times_records_one_payment(client, checkout, invoice):
    outcomes = [deliver(client, completed(checkout)).json()["outcome"] for _ in range(50)]
    assert outcomes == ["paid"] + ["duplicate"] * 49
    assert Payment.objects.count() == 1
    assert StripeEvent.objects.count() == 1
    assert state(invoice) == ("paid", TOTAL, Decimal("0.00"))


def test_two_events_about_one_payment_record_it_once(client, checkout, invoice):
    deliver(client, completed(checkout, "evt_1"))
    second = checkout_event(
        "evt_2",
        "checkout.session.async_payment_succeeded",
        session_id=checkout.stripe_id,
        amount_total=CENTS,
    )
    assert deliver(client, second).json()["outcome"] == "checkout already paid"
    assert Payment.objects.count() == 1


def test_the_customer_gets_one_receipt(
    client, checkout, invoice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, completed(checkout))
        deliver(client, completed(checkout))
    receipts = [m for m in mail.outbox if m.subject.startswith("Payment received")]
    assert len(receipts) == 1
    assert receipts[0].to == ["ap@acme.example"]
    assert "€212.86" in receipts[0].body and invoice.number in receipts[0].body


def test_no_receipt_when_the_customer_switched_receipts_off_not_even_from_the_sweep(
    client, checkout, invoice, customer, django_capture_on_commit_callbacks, monkeypatch
):
    customer.billing_profile.send_payment_receipts = False
    customer.billing_profile.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, completed(checkout)).json()["outcome"] == "paid"
    assert state(invoice)[0] == "paid"  # the money is booked all the same
    paid = CheckoutSession.objects.get()
    assert (paid.receipt_wanted, paid.receipt_sent_at) == (False, None)
    # The sweep for receipts whose task was lost passes over it, and so does a stray task.
    later = timezone.now() + datetime.timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert tasks.send_unsent_emails() == 0
    assert tasks.send_payment_receipt(paid.pk) == []
    assert mail.outbox == []
    # Switching receipts on again does not send the old one: it was not wanted when paid.
    customer.billing_profile.send_payment_receipts = True
    customer.billing_profile.save()
    assert tasks.send_unsent_emails() == 0 and mail.outbox == []


def test_a_wanted_receipt_whose_task_was_lost_is_sent_by_the_sweep(
    client, checkout, invoice, monkeypatch
):
    deliver(client, completed(checkout))  # its job after commit never ran
    assert mail.outbox == []
    later = timezone.now() + datetime.timedelta(minutes=11)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert tasks.send_unsent_emails() == 1
    assert [m.subject for m in mail.outbox] == ["Payment received: €212.86, thank you"]
    assert tasks.send_unsent_emails() == 0 and len(mail.outbox) == 1


def test_stats_move_by_exactly_the_paid_amount(
    client, owner_client, checkout, invoice, make_invoice
):
    make_invoice("40.00")  # another open invoice stays open
    before = invoice_stats(invoice.customer)
    deliver(client, completed(checkout))
    after = invoice_stats(invoice.customer)
    assert before.outstanding["EUR"] - after.outstanding["EUR"] == TOTAL
    assert after.total_paid["EUR"] - before.total_paid.get("EUR", 0) == TOTAL
    assert after.outstanding == {"EUR": Decimal("40.00")}
    page = owner_client.get("/invoices/").content.decode()
    assert "€40.00" in page and "€212.86" in page


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_deliveries_record_one_payment(postgres, owner, customer, stripe_standin):
    ContactFactory(customer=customer)
    invoice = issued_invoice(customer, [("vm", "hours", "1", "h", "212.86")], vat_rate=Decimal(0))
    client = Client()
    client.force_login(owner)
    client.post(f"/invoices/{invoice.number}/pay/")
    checkout = CheckoutSession.objects.get()
    body, signature = signed(completed(checkout))
    outcomes = []

    def deliver_once():
        response = Client().post(
            WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        outcomes.append((response.status_code, response.json()["outcome"]))

    assert run_together(*[deliver_once] * 10) == []
    assert sorted(outcomes) == [(200, "duplicate")] * 9 + [(200, "paid")]
    assert Payment.objects.count() == 1
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


# ---- Delayed payment methods and events out of order ----


def async_event(checkout, event_id, kind):
    return checkout_event(
        event_id,
        f"checkout.session.async_payment_{kind}",
        session_id=checkout.stripe_id,
        amount_total=CENTS,
    )


def test_a_delayed_payment_is_processing_then_paid(client, owner_client, checkout, invoice):
    deliver(client, completed(checkout, payment_status="unpaid"))
    assert CheckoutSession.objects.get().status == "processing"
    assert state(invoice)[0] == "unpaid"
    page = owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    assert "Payment processing" in page and "Pay Now" not in page
    deliver(client, async_event(checkout, "evt_2", "succeeded"))
    assert state(invoice)[0] == "paid"


def test_success_before_completion_ends_paid(client, checkout, invoice):
    deliver(client, async_event(checkout, "evt_2", "succeeded"))
    deliver(client, completed(checkout, "evt_1", payment_status="unpaid"))
    assert state(invoice)[0] == "paid"
    assert CheckoutSession.objects.get().status == "paid"


def test_a_failed_delayed_payment_leaves_the_invoice_open(client, checkout, invoice):
    deliver(client, completed(checkout, payment_status="unpaid"))
    deliver(client, async_event(checkout, "evt_2", "failed"))
    assert state(invoice) == ("unpaid", Decimal("0.00"), TOTAL)
    assert CheckoutSession.objects.get().status == "failed"
    assert invoice.events.filter(kind="payment_failed").count() == 1


def test_failure_after_success_changes_nothing(client, checkout, invoice):
    deliver(client, async_event(checkout, "evt_2", "succeeded"))
    deliver(client, async_event(checkout, "evt_3", "failed"))
    assert state(invoice)[0] == "paid"
    assert CheckoutSession.objects.get().status == "paid"


def test_expiry_after_payment_changes_nothing_and_expiry_of_an_open_one_closes_it(
    client, checkout, invoice
):
    expired = checkout_event(
        "evt_9", "checkout.session.expired", session_id=checkout.stripe_id, amount_total=CENTS
    )
    deliver(client, completed(checkout))
    deliver(client, expired)
    assert CheckoutSession.objects.get().status == "paid"

    CheckoutSession.objects.update(status="open")
    expired["id"] = "evt_10"
    deliver(client, expired)
    assert CheckoutSession.objects.get().status == "expired"


# ---- Money that does not match ----


def test_a_mismatched_amount_is_flagged_not_paid(client, admin_client, checkout, invoice):
    response = deliver(client, completed(checkout, amount_total=100))
    assert response.status_code == 200
    assert state(invoice) == ("unpaid", Decimal("0.00"), TOTAL)
    assert Payment.objects.count() == 0
    event = StripeEvent.objects.get()
    assert event.needs_attention
    assert "Stripe reports €1.00 for a payment of €212.86" in event.outcome
    assert CheckoutSession.objects.get().status == "needs_review"
    flagged = admin_client.get("/admin/billing/invoice/?attention=yes").content.decode()
    assert invoice.number in flagged


def test_a_mismatched_currency_is_flagged_not_paid(client, checkout, invoice):
    deliver(client, completed(checkout, currency="usd"))
    assert state(invoice)[0] == "unpaid"
    assert StripeEvent.objects.get().needs_attention


def test_money_beyond_what_is_owed_becomes_customer_credit(client, checkout, invoice):
    # A bank transfer of 12.86 arrived while the customer was on Stripe's page.
    services.record_bank_payment(
        invoice=invoice, amount=Decimal("12.86"), received_at=datetime.datetime.now(datetime.UTC)
    )
    outcome = deliver(client, completed(checkout)).json()["outcome"]
    assert outcome == "paid; €12.86 kept as customer credit"
    assert state(invoice) == ("paid", TOTAL, Decimal("0.00"))
    credit = CreditEntry.objects.get()
    assert (credit.amount, credit.customer) == (Decimal("12.86"), invoice.customer)


def test_an_unknown_checkout_session_is_flagged(client, checkout, invoice):
    event = completed(checkout)
    event["data"]["object"]["id"] = "cs_from_elsewhere"
    assert deliver(client, event).status_code == 200
    assert StripeEvent.objects.get().needs_attention
    assert state(invoice)[0] == "unpaid"


# ---- Refunds ----


def test_a_refund_reopens_the_invoice(client, owner_client, checkout, invoice):
    deliver(client, completed(checkout))
    deliver(client, refund_event("evt_r1", payment_intent="pi_test_1", amount_refunded=CENTS))
    assert state(invoice) == ("unpaid", Decimal("0.00"), TOTAL)
    refund = Payment.objects.get(kind="refund")
    assert refund.amount == TOTAL
    assert Payment.objects.filter(kind="payment").count() == 1  # append-only: still there
    assert invoice.events.filter(kind="refunded").count() == 1
    assert "Pay Now" in owner_client.get(f"/invoices/{invoice.number}/").content.decode()


def test_partial_refunds_in_any_order_end_at_stripes_total(client, checkout, invoice):
    deliver(client, completed(checkout))
    deliver(client, refund_event("evt_r2", payment_intent="pi_test_1", amount_refunded=5000))
    deliver(client, refund_event("evt_r1", payment_intent="pi_test_1", amount_refunded=2000))
    deliver(client, refund_event("evt_r2", payment_intent="pi_test_1", amount_refunded=5000))
    assert state(invoice) == ("unpaid", TOTAL - Decimal("50.00"), Decimal("50.00"))
    assert list(Payment.objects.filter(kind="refund").values_list("amount", flat=True)) == [
        Decimal("50.00")
    ]


def test_a_refund_that_arrives_before_its_payment_waits_for_it(client, checkout, invoice):
    early = deliver(
        client, refund_event("evt_r1", payment_intent="pi_test_1", amount_refunded=1000)
    )
    assert early.json()["outcome"].startswith("deferred")
    assert state(invoice)[0] == "unpaid" and Payment.objects.count() == 0
    deliver(client, completed(checkout))
    assert state(invoice) == ("unpaid", TOTAL - Decimal("10.00"), Decimal("10.00"))


def test_a_refund_of_an_overdue_invoice_makes_it_overdue_again(client, checkout, invoice):
    Invoice.objects.filter(pk=invoice.pk).update(due_date=datetime.date(2026, 1, 1))
    deliver(client, completed(checkout))
    deliver(client, refund_event("evt_r1", payment_intent="pi_test_1", amount_refunded=CENTS))
    assert state(invoice)[0] == "overdue"


# ---- What is refused ----


def no_change(invoice):
    assert StripeEvent.objects.count() == 0
    assert Payment.objects.count() == 0
    assert state(invoice) == ("unpaid", Decimal("0.00"), TOTAL)


def test_a_bad_signature_is_refused(client, checkout, invoice):
    response = deliver(client, completed(checkout), secret="whsec_somebody_else")
    assert response.status_code == 400
    no_change(invoice)


def test_a_missing_signature_is_refused(client, checkout, invoice):
    body, _ = signed(completed(checkout))
    response = client.post(WEBHOOK, body, content_type="application/json")
    assert response.status_code == 400
    no_change(invoice)


def test_a_replayed_old_event_is_refused(client, checkout, invoice):
    response = deliver(client, completed(checkout), timestamp=int(time.time()) - 600)
    assert response.status_code == 400
    assert "timestamp" in response.json()["error"].lower()
    no_change(invoice)


def test_a_tampered_body_is_refused(client, checkout, invoice):
    body, signature = signed(completed(checkout, amount_total=1))
    tampered = body.replace('"amount_total": 1', f'"amount_total": {CENTS}')
    response = client.post(
        WEBHOOK, tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 400
    no_change(invoice)


@pytest.mark.parametrize(
    "body",
    ["{not json", '"just a string"', '{"id": "evt_1"}', '{"id": "e", "type": "t", "data": []}'],
)
def test_a_signed_body_that_is_not_an_event_is_refused(client, checkout, invoice, body):
    body, signature = signed(body)
    response = client.post(
        WEBHOOK, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 400
    no_change(invoice)


def test_an_unknown_event_type_is_acknowledged_and_ignored(client, checkout, invoice):
    event = completed(checkout)
    event["type"] = "customer.subscription.created"
    response = deliver(client, event)
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    no_change(invoice)


def test_webhooks_need_post(client):
    assert client.get(WEBHOOK).status_code == 405


def test_without_a_webhook_secret_nothing_is_accepted(client, checkout, invoice, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert deliver(client, completed(checkout)).status_code == 400
    no_change(invoice)


# ---- What the customer sees while Stripe confirms ----

STATUS = htmx("invoice-status")


def test_after_paying_the_invoice_shows_processing_until_the_webhook(
    client, owner_client, checkout, invoice
):
    url = f"/invoices/{invoice.number}/?checkout=success"
    page = owner_client.get(url).content.decode()
    assert "Payment processing" in page
    assert 'hx-trigger="every 3s"' in page
    assert "Pay Now" not in page

    polled = owner_client.get(url, **STATUS)
    assert "Payment processing" in polled.content.decode()
    assert "HX-Trigger" not in polled

    deliver(client, completed(checkout))
    settled = owner_client.get(url, **STATUS)
    body = settled.content.decode()
    assert "Paid</span>" in body and "every 3s" not in body
    assert "invoice-settled" in settled["HX-Trigger"]
    assert f"Payment received: {invoice.number} is paid." in settled["HX-Trigger"]


def test_without_returning_from_checkout_an_open_session_is_not_processing(
    owner_client, checkout, invoice
):
    page = owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    assert "Payment processing" not in page and "Pay Now" in page
