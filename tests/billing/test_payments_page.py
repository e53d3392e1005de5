"""The Payments page: every payment and refund on the customer's invoices, newest first, and a
receipt PDF for each payment (a card payment with every invoice it paid)."""

import datetime
from decimal import Decimal

import pytest

from billing import services, stripe_gateway
from billing.models import Payment
from tests.billing.conftest import pdf_text
from tests.factories import CustomerFactory, issued_invoice
from tests.stripe_standin import refund_event, signed


@pytest.fixture
def movements(owner_client, customer, make_invoice, settings):
    """A bank transfer of €100.00 on 1 Oct; then one card payment (the demo checkout) of two
    invoices, €20.00 and €30.00; then €5.00 of that card payment refunded (Stripe refunds take
    from the newest invoice first)."""
    settings.DEBUG, settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = True, "", ""
    bank, first, second = make_invoice("100.00"), make_invoice("20.00"), make_invoice("30.00")
    services.record_bank_payment(
        invoice=bank,
        amount=Decimal("100.00"),
        received_at=datetime.datetime(2026, 10, 1, 12, tzinfo=datetime.UTC),
        reference="BANKREF-77",
    )
    response = owner_client.post("/invoices/pay/", {"number": [first.number, second.number]})
    owner_client.post(response["Location"])  # Pay on the demo checkout
    card = Payment.objects.filter(method="card").first()
    body, signature = signed(
        refund_event("evt_refund", payment_intent=card.stripe_payment_intent, amount_refunded=500),
        secret=stripe_gateway.DEMO_WEBHOOK_SECRET,
    )
    answer = owner_client.post(
        "/stripe/webhook/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert answer.status_code == 200
    # Another customer's payment: never listed.
    other = issued_invoice(CustomerFactory(), [("x", "y", "1", "h", "999")])
    services.record_bank_payment(
        invoice=other, amount=Decimal("1"), received_at=datetime.datetime.now(tz=datetime.UTC)
    )
    return {"bank": bank, "first": first, "second": second}


def test_the_page_lists_every_payment_and_refund_newest_first(owner_client, movements):
    rows = owner_client.get("/payments/").context["movements"]
    assert [(r.kind, r.method, r.amount, [n for n, _ in r.invoices]) for r in rows] == [
        ("refund", "card", Decimal("5.00"), [movements["second"].number]),  # newest first
        (
            "payment",
            "card",
            Decimal("50.00"),
            [movements["first"].number, movements["second"].number],
        ),
        ("payment", "bank_transfer", Decimal("100.00"), [movements["bank"].number]),
    ]
    assert rows[0].receipt is None and rows[1].receipt and rows[2].receipt
    page = owner_client.get("/payments/").content.decode()
    assert "−€5.00" in page and "€50.00" in page and "€100.00" in page
    assert page.count("/receipt/?download=1") == 2


def test_the_payments_page_is_in_the_sidebar(owner_client, movements):
    page = owner_client.get("/payments/").content.decode()
    assert '<a href="/payments/" aria-current="page">' in page


def test_a_card_receipt_names_every_invoice_it_paid_and_the_total(owner_client, movements):
    card = owner_client.get("/payments/").context["movements"][1]
    response = owner_client.get(f"/payments/{card.receipt}/receipt/?download=1")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    text = "\n".join(pdf_text(b"".join(response.streaming_content)))
    assert "Receipt" in text and "Card" in text
    assert movements["first"].number in text and movements["second"].number in text
    assert "€20.00" in text and "€30.00" in text and "€50.00" in text


def test_a_bank_receipt_carries_the_reference(owner_client, movements):
    bank = owner_client.get("/payments/").context["movements"][2]
    response = owner_client.get(f"/payments/{bank.receipt}/receipt/")
    text = "\n".join(pdf_text(b"".join(response.streaming_content)))
    assert "BANKREF-77" in text and "€100.00" in text and "Bank transfer" in text


def test_no_receipt_for_a_refund_or_for_another_customers_payment(
    client, owner_client, outsider, movements
):
    refund = Payment.objects.get(kind="refund")
    assert owner_client.get(f"/payments/{refund.pk}/receipt/").status_code == 404
    mine = owner_client.get("/payments/").context["movements"][1].receipt
    client.force_login(outsider)
    assert client.get(f"/payments/{mine}/receipt/").status_code == 404
    assert client.get("/payments/").context["movements"] == []
    assert owner_client.get("/payments/99999999/receipt/").status_code == 404


def test_without_payments_the_page_says_what_will_appear(owner_client):
    page = owner_client.get("/payments/").content.decode()
    assert "No payments yet" in page and "<table" not in page
