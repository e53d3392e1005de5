"""Stripe webhooks: how many events a second one web process records (new ones, and
redeliveries of ones it has seen), and how long from the webhook until the invoice shows Paid.

The throughput goal comes from the worst hour we expect: 10,000 customers paying in the first
hour of the month is under 3 events a second; 10 a second leaves room for retries and refunds.
"""

import datetime
import time
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from bench.measure import make_customer, median, owner_client, row
from billing.models import CheckoutItem, CheckoutSession, Invoice
from billing.services import LineSpec, add_lines, create_draft, finalize_invoice
from portal.celery import app as celery_app
from tests.stripe_standin import WEBHOOK_SECRET, checkout_event, signed

EVENTS = 200
LATENCY_SAMPLES = 30
STATUS = {"HX-Request": "true", "HX-Target": "invoice-status"}


def run() -> list[dict]:
    # The receipt email is a worker's job: here it is queued (in memory), not sent inline.
    celery_app.conf.task_always_eager = False
    try:
        return measure()
    finally:
        celery_app.conf.task_always_eager = True


def measure() -> list[dict]:
    with override_settings(STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET):
        customer = make_customer("C-90004", "Paying Cloud AB")
        viewer = owner_client(customer)
        checkouts = [open_checkout(customer, n) for n in range(EVENTS + LATENCY_SAMPLES)]
        events = [paid_event(f"evt_bench_{n}", c) for n, c in enumerate(checkouts[:EVENTS])]
        stripe = Client()

        distinct = per_second(stripe, events)
        duplicate = per_second(stripe, events)  # the same events again: all redeliveries
        latencies = [paid_shown_after(stripe, viewer, c) for c in checkouts[EVENTS:]]
    database = connection.vendor
    return [
        row(
            f"Webhook events recorded per second ({database}, new events)",
            distinct,
            "events/s",
            goal="≥ 10/s",
            ok=distinct >= 10,
        ),
        row(
            f"Webhook events per second ({database}, redelivered)",
            duplicate,
            "events/s",
            baseline=distinct,
            goal="≥ new events",
            ok=duplicate >= distinct,
        ),
        row(
            "Webhook to Paid shown: webhook + next status poll, median",
            median(latencies),
            "ms",
            goal="< 100 ms (+ ≤ 3 s poll)",
            ok=median(latencies) < 100,
        ),
    ]


def open_checkout(customer, n: int) -> CheckoutSession:
    """An issued invoice with an open Checkout Session, as Pay Now leaves it (no Stripe call)."""
    draft = create_draft(customer=customer)
    add_lines(
        invoice=draft,
        lines=[LineSpec("vm", "vCPU-hours", Decimal(720), "vCPU-h", Decimal("0.0125"))],
    )
    invoice = finalize_invoice(invoice=draft, deliver=False)
    checkout = CheckoutSession.objects.create(
        customer=customer,
        stripe_id=f"cs_bench_{n}",
        url=f"https://checkout.stripe.test/cs_bench_{n}",
        amount_total=invoice.total,
        currency=invoice.currency,
        attempt=1,
        idempotency_key=f"checkout-{invoice.number}-1",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    CheckoutItem.objects.create(checkout=checkout, invoice=invoice, amount=invoice.total)
    return checkout


def paid_event(event_id: str, checkout: CheckoutSession) -> tuple[str, str]:
    return signed(
        checkout_event(
            event_id,
            "checkout.session.completed",
            session_id=checkout.stripe_id,
            amount_total=int(checkout.amount_total * 100),
            payment_intent=f"pi_{checkout.stripe_id}",
        )
    )


def deliver(client: Client, event: tuple[str, str]):
    body, signature = event
    response = client.post(
        "/stripe/webhook/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 200, response.content
    return response


def per_second(client: Client, events: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for event in events:
        deliver(client, event)
    return len(events) / (time.perf_counter() - start)


def paid_shown_after(stripe: Client, viewer: Client, checkout: CheckoutSession) -> float:
    """Milliseconds from sending the webhook until the invoice's status fragment says Paid."""
    invoice = Invoice.objects.get(checkout_items__checkout=checkout)
    url = f"/invoices/{invoice.number}/?checkout=success"
    start = time.perf_counter()
    deliver(stripe, paid_event(f"evt_latency_{checkout.pk}", checkout))
    shown = viewer.get(url, headers=STATUS).content.decode()
    elapsed = (time.perf_counter() - start) * 1000
    assert "Paid</span>" in shown, shown
    return elapsed
