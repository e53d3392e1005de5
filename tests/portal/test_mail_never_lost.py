"""Every email that matters (invoice, reminder, receipt, address confirmation, invitation, reset
link) is found again by a sweep until it is sent, or, after 12 failed sends, shown to staff as
failed in the admin: whether the mail server refused it or the broker lost its job."""

import datetime
import io
import logging
from decimal import Decimal
from smtplib import SMTPServerDisconnected

import pytest
from celery.app.task import Task
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts import password_reset, services
from accounts import tasks as account_tasks
from accounts.models import Contact, Invitation, UndeliveredMail
from billing import tasks as billing_tasks
from billing.models import CheckoutSession
from tests.billing.conftest import LINES, completed, deliver
from tests.factories import ContactFactory, issued_invoice

BILLING = "ap@acme.example"
ATTEMPTS = 12  # as docs/operations.md promises


class MailServer:
    """The outgoing mail server, which the test can take down: every send while it is down
    fails as a dropped SMTP connection does."""

    def __init__(self, monkeypatch):
        self.up = True
        self.refused = 0
        send = EmailMessage.send

        def send_or_fail(message, *args, **kwargs):
            if not self.up:
                self.refused += 1
                raise SMTPServerDisconnected("Connection unexpectedly closed")
            return send(message, *args, **kwargs)

        monkeypatch.setattr(EmailMessage, "send", send_or_fail)


@pytest.fixture
def mail_server(monkeypatch):
    return MailServer(monkeypatch)


@pytest.fixture
def clock(monkeypatch):
    """`clock.advance(minutes=11)`: what the sweeps read as now (their grace is 10 minutes)."""

    class Clock:
        now = timezone.now()

        def advance(self, **delta):
            self.now += datetime.timedelta(**delta)

    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock


def sweep() -> None:
    """What beat runs: the mail sweeps, and the overdue job, which sends the reminders owed."""
    billing_tasks.send_unsent_emails()
    account_tasks.send_unsent_emails()
    billing_tasks.flag_overdue_invoices()


# Each scenario does what makes the portal owe an email, through the workflow itself, and
# returns the address it is owed to and the kind of email it is.


def invoice_email(request, customer, owner):
    issued_invoice(customer, LINES, deliver=True)
    return BILLING, UndeliveredMail.Kind.INVOICE


def overdue_reminder(request, customer, owner):
    issued_invoice(customer, LINES, issue_date=datetime.date(2026, 1, 1))
    billing_tasks.flag_overdue_invoices()
    return BILLING, UndeliveredMail.Kind.REMINDER


def payment_receipt(request, customer, owner):
    request.getfixturevalue("stripe_standin")
    invoice = issued_invoice(customer, LINES, vat_rate=Decimal("25.00"))
    client = request.getfixturevalue("client")
    client.force_login(owner)
    client.post(f"/invoices/{invoice.number}/pay/")
    assert deliver(client, completed(CheckoutSession.objects.get())).status_code == 200
    return BILLING, UndeliveredMail.Kind.RECEIPT


def address_confirmation(request, customer, owner):
    contact = Contact(customer=customer, email="new.ap@acme.example", is_billing=True)
    services.contact_save(contact=contact, actor=owner)
    return "new.ap@acme.example", UndeliveredMail.Kind.CONFIRMATION


def invitation(request, customer, owner):
    invited = Invitation(customer=customer, email="new.colleague@acme.example")
    services.member_invite(invitation=invited, actor=owner)
    return "new.colleague@acme.example", UndeliveredMail.Kind.INVITATION


def reset_link(request, customer, owner):
    password_reset.request_reset_link(email=owner.email, ip_address="203.0.113.5")
    return owner.email, UndeliveredMail.Kind.PASSWORD_RESET


EVERY_MAIL = [
    invoice_email,
    overdue_reminder,
    payment_receipt,
    address_confirmation,
    invitation,
    reset_link,
]


@pytest.fixture
def billing_address(customer):
    return ContactFactory(customer=customer, email=BILLING, is_billing=True)


def sent_to(address: str) -> list[EmailMessage]:
    return [message for message in mail.outbox if address in message.to]


@pytest.mark.parametrize("scenario", EVERY_MAIL)
def test_a_mail_the_server_refused_is_sent_by_the_next_sweep(
    request, scenario, customer, owner, billing_address, mail_server, clock, sent
):
    mail_server.up = False
    with sent():
        address, kind = scenario(request, customer, owner)
    assert mail_server.refused == 1
    assert sent_to(address) == []
    failure = UndeliveredMail.objects.get()
    assert (failure.kind, failure.failures, failure.gave_up_at) == (kind, 1, None)
    assert address in failure.recipients
    assert "SMTPServerDisconnected" in failure.last_error

    mail_server.up = True
    clock.advance(minutes=11)
    sweep()
    assert len(sent_to(address)) == 1
    assert not UndeliveredMail.objects.exists()
    clock.advance(minutes=11)
    sweep()
    assert len(sent_to(address)) == 1  # sent once


@pytest.fixture
def broker_down():
    """Queuing a job fails as with Redis unreachable, until `broker_down.undo()`."""

    def unreachable(task, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with pytest.MonkeyPatch.context() as broker:
        broker.setattr(Task, "apply_async", unreachable)
        yield broker


@pytest.mark.parametrize("scenario", [address_confirmation, invitation, reset_link])
def test_a_mail_whose_job_the_broker_lost_is_sent_by_the_sweep(
    request, scenario, customer, owner, billing_address, broker_down, clock, sent, caplog
):
    with caplog.at_level(logging.WARNING), sent():
        address, _kind = scenario(request, customer, owner)
    assert "left for the sweep" in caplog.text
    broker_down.undo()  # the broker is back, empty
    sweep()
    assert sent_to(address) == []  # too young: its own job may still be on the way
    clock.advance(minutes=11)
    sweep()
    assert len(sent_to(address)) == 1
    clock.advance(minutes=11)
    sweep()
    assert len(sent_to(address)) == 1
    assert not UndeliveredMail.objects.exists()  # nothing failed: it was only late


def test_after_12_failed_sends_a_mail_is_left_to_staff_who_send_it_again(
    customer, owner, mail_server, clock, sent, admin_client, admin_user
):
    mail_server.up = False
    with sent():
        address, _kind = invitation(None, customer, owner)
    clock.advance(minutes=1)  # past the sweeps' grace from here on
    for _ in range(ATTEMPTS - 1):
        clock.advance(minutes=10)
        sweep()
    assert mail_server.refused == ATTEMPTS
    failure = UndeliveredMail.objects.get()
    assert failure.failures == ATTEMPTS and failure.gave_up_at == clock.now
    clock.advance(minutes=10)
    sweep()
    assert mail_server.refused == ATTEMPTS  # no more tries: staff decide

    admin_client.force_login(admin_user)  # the first login went idle these two hours
    listing = admin_client.get("/admin/accounts/undeliveredmail/?state=failed").content.decode()
    assert "Invitation of new.colleague@acme.example" in listing
    assert "Failed" in listing and customer.name in listing
    detail = admin_client.get(f"/admin/accounts/undeliveredmail/{failure.pk}/change/")
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in detail.content.decode()

    mail_server.up = True
    retried = admin_client.post(
        "/admin/accounts/undeliveredmail/",
        {"action": "try_again", "_selected_action": [failure.pk]},
        follow=True,
    )
    assert "1 email(s) will be sent by the next sweep." in retried.content.decode()
    sweep()
    assert [m.subject for m in sent_to(address)] == [
        f"You are invited to {customer.name}'s billing account"
    ]
    assert not UndeliveredMail.objects.exists()


def test_without_a_broker_the_command_runs_the_sweeps(customer, owner, mail_server, clock, sent):
    mail_server.up = False
    with sent():
        address, _kind = invitation(None, customer, owner)
    mail_server.up = True
    clock.advance(minutes=11)
    out = io.StringIO()
    call_command("send_unsent_emails", stdout=out)
    assert out.getvalue() == "1 email(s) sent or queued.\n"
    assert len(sent_to(address)) == 1


def test_staff_resending_by_hand_read_the_refusal_at_once(
    admin_client, customer, billing_address, mail_server
):
    invoice = issued_invoice(customer, LINES)
    mail_server.up = False
    response = admin_client.post(
        "/admin/billing/invoice/",
        {"action": "resend_emails", "_selected_action": [invoice.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert f"{invoice.number}: Connection unexpectedly closed" in response.content.decode()
    assert not UndeliveredMail.objects.exists()  # not for the sweeps: staff saw it
