"""What the auto-pay tests share: saving a card as a customer does, the charged invoice, and
reading back what Stripe was asked and what the invoice recorded."""

from decimal import Decimal

import pytest
import time_machine

from billing import tasks
from billing.models import (
    ChargeAttempt,
    PaymentMethod,
)
from tests.billing.conftest import LINES, deliver
from tests.factories import (
    issued_invoice,
)
from tests.stripe_standin import intent_event, setup_completed_event

ADD = "/account/payment-methods/add/"


def save_card(client, standin, event_id="evt_setup_1", *, query=""):
    """Save a method the way a customer does: Add a card, Stripe's page, its webhook."""
    response = client.post(ADD + query)
    assert response.status_code == 303
    session = standin.setup_sessions[response["Location"].rsplit("/", 1)[1]]
    return deliver(client, setup_completed_event(event_id, session))


@pytest.fixture
def card(owner_client, customer, billing_contact, stripe_standin):
    save_card(owner_client, stripe_standin)
    return PaymentMethod.objects.get(customer=customer)


@pytest.fixture
def invoice(customer, card):
    """Issued by hand without delivery: the tests charge it as the task on issue would."""
    return issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))


def charges(standin):
    return standin.calls("/v1/payment_intents")


def kinds(invoice):
    return list(invoice.events.values_list("kind", flat=True))


def attempts(invoice):
    return list(
        ChargeAttempt.objects.filter(invoice=invoice).values_list("number", "status", "stopped")
    )


def succeed(client, standin, event_id="evt_pi_1"):
    """Stripe's payment_intent.succeeded for the newest charge the stand-in took."""
    intent = list(standin.payment_intents.values())[-1]
    return deliver(client, intent_event(event_id, intent))


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return tasks.retry_automatic_payments()
