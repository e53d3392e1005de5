"""With the broker down the portal keeps working and loses nothing: pages render, /readyz names
the broker, customers pay, owners invite, staff finalize; once the broker is back, the sweeps
render and send what the lost tasks would have, exactly once."""

import datetime
import logging
import shutil

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounts.models import Invitation
from billing.models import CheckoutSession, Invoice
from portal.celery import app
from tests.billing.conftest import completed, deliver
from tests.concurrency import wait_until
from tests.conftest import require
from tests.factories import ContactFactory, draft_invoice, issued_invoice
from tests.portal.brokers import RedisServer, celery_using

# 10 × 1.50 = 15.00, VAT 25% (a Swedish customer) 3.75: 18.75 due.
LINES = [("vm", "vCPU-hours", "10", "vCPU-h", "1.500000")]


@pytest.fixture
def broker(tmp_path, settings):
    """A redis-server of the test's own as the portal's broker (and /readyz's)."""
    executable = shutil.which("redis-server")
    require(executable, "redis-server (apt-get install redis-server)")
    server = RedisServer(executable, tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    try:
        with celery_using(server.url):
            yield server
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_nothing_fails_and_the_sweeps_catch_up(
    broker, client, admin_client, customer, owner, stripe_standin, monkeypatch, caplog
):
    ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)
    unpaid = issued_invoice(customer, LINES)
    paid_by_card = issued_invoice(customer, LINES)
    draft = draft_invoice(customer, LINES)
    client.force_login(owner)
    broker.stop()

    # Pages render and the load balancer is told which part is down.
    for page in ["/dashboard/", "/invoices/", f"/invoices/{unpaid.number}/", "/account/"]:
        assert client.get(page).status_code == 200, page
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["failing"] == ["broker"]

    # Pay Now: the dialog, then Stripe Checkout; Stripe's webhook confirms the money.
    dialog = client.get(f"/invoices/{unpaid.number}/pay/")
    assert dialog.status_code == 200 and "with Stripe" in dialog.content.decode()
    started = client.post(f"/invoices/{paid_by_card.number}/pay/")
    assert started.status_code == 303
    assert started["Location"].startswith(f"{stripe_standin.url}/checkout/")
    with caplog.at_level(logging.WARNING):
        checkout = CheckoutSession.objects.get()
        assert deliver(client, completed(checkout, amount_total=1875)).status_code == 200
        assert Invoice.objects.get(pk=paid_by_card.pk).status == "paid"

        # Staff finalize an invoice in the admin: its PDF and email jobs cannot be queued.
        response = admin_client.post(
            "/admin/billing/invoice/",
            {"action": "finalize_selected", "_selected_action": [draft.pk]},
            follow=True,
        )
        # An owner invites a colleague: the invitation's email cannot be queued either.
        invited = client.post(
            "/account/team/invite/", {"email": "new.colleague@acme.example", "role": "viewer"}
        )
        assert invited.status_code in {200, 302}
    assert Invitation.objects.filter(email="new.colleague@acme.example").exists()
    assert "1 invoice(s) finalized." in response.content.decode()
    issued = Invoice.objects.get(pk=draft.pk)
    assert issued.status == "unpaid" and not issued.pdf
    assert "left for the sweep" in caplog.text
    assert mail.outbox == []

    # The broker comes back, empty. Beat sends the sweeps; their grace period has passed.
    broker.start()
    later = timezone.now() + datetime.timedelta(minutes=11)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert sweep("billing.tasks.render_stale_pdfs") == 1  # the finalized invoice's first PDF
        assert sweep("billing.tasks.send_unsent_emails") == 2  # its email, the card's receipt
        assert sweep("accounts.tasks.send_unsent_emails") == 1  # the invitation
        wait_until(lambda: len(mail.outbox) == 3, "the invoice email, receipt and invitation")
        assert sweep("billing.tasks.render_stale_pdfs") == 0
        assert sweep("billing.tasks.send_unsent_emails") == 0
        assert sweep("accounts.tasks.send_unsent_emails") == 0

    issued.refresh_from_db()
    with issued.pdf.open("rb") as pdf:
        assert pdf.read().startswith(b"%PDF-")
    assert issued.pdf_revision == issued.revision
    (invitation,) = [m for m in mail.outbox if m.to == ["new.colleague@acme.example"]]
    assert invitation.subject == f"You are invited to {customer.name}'s billing account"
    billing_mail = [m for m in mail.outbox if m is not invitation]
    assert sorted(m.subject for m in billing_mail) == [
        f"Invoice {issued.number} from {settings.SELLER['name']}",
        "Payment received: €18.75, thank you",
    ]
    assert all(m.to == ["ap@acme.example"] for m in billing_mail)
    assert any(m.attachments for m in billing_mail)  # the PDF went with the invoice


def sweep(name: str) -> int:
    """Send a periodic task through the broker, as beat does, and wait for its count."""
    return app.send_task(name).get(timeout=60)
