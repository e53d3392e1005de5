"""Background jobs: invoice emails on finalizing, overdue flagging and its one reminder."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from billing import delivery, services, tasks
from billing.models import Invoice
from tests.billing.conftest import LINES
from tests.factories import ContactFactory, issued_invoice


@pytest.fixture
def contacts(customer):
    return {
        "billing": ContactFactory(customer=customer, email="ap@acme.example", is_billing=True),
        "billing_too": ContactFactory(
            customer=customer, email="cfo@acme.example", is_billing=True, is_dpo=True
        ),
        "tech": ContactFactory(
            customer=customer, email="ops@acme.example", is_billing=False, is_tech=True
        ),
        "dpo": ContactFactory(
            customer=customer, email="dpo@acme.example", is_billing=False, is_dpo=True
        ),
    }


def test_finalizing_emails_the_pdf_to_billing_contacts_only(
    customer, contacts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued_invoice(customer, LINES, deliver=True)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["ap@acme.example", "cfo@acme.example"]
    assert message.subject == f"Invoice {invoice.number} from Nordic Cloud Provider AB"
    assert "€212.86" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and invoice.number in html
    ((name, content, attachment_type),) = message.attachments
    assert (name, attachment_type) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    event = invoice.events.get(kind="emailed")
    assert event.text == "Sent to ap@acme.example, cfo@acme.example."


def test_the_invoice_email_goes_once_however_often_the_task_runs(customer, contacts, invoice):
    tasks.send_invoice_email(invoice.pk)
    tasks.send_invoice_email(invoice.pk)
    assert len(mail.outbox) == 1


def test_staff_can_resend(customer, contacts, invoice):
    tasks.send_invoice_email(invoice.pk)
    delivery.email_invoice(invoice=invoice, resend=True)
    assert len(mail.outbox) == 2
    assert invoice.events.filter(kind="emailed").count() == 2


def test_without_a_billing_contact_nothing_is_sent_and_the_timeline_says_why(customer, invoice):
    ContactFactory(customer=customer, is_billing=False, is_tech=True)
    assert tasks.send_invoice_email(invoice.pk) == []
    assert mail.outbox == []
    assert (
        invoice.events.get(kind="not_emailed").text
        == "Invoice email not sent: the customer has no confirmed Billing address."
    )
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is None


def test_a_refused_send_is_retried_not_lost(customer, contacts, invoice, monkeypatch):
    from smtplib import SMTPServerDisconnected

    def refuse(*args, **kwargs):
        raise SMTPServerDisconnected("mail server went away")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(SMTPServerDisconnected):
        delivery.email_invoice(invoice=invoice)
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is None  # the claim was undone
    monkeypatch.undo()
    assert delivery.email_invoice(invoice=invoice) == ["ap@acme.example", "cfo@acme.example"]


def test_overdue_flagging_run_twice_sends_one_reminder(
    customer, contacts, make_invoice, monkeypatch
):
    late = make_invoice(issue_date=datetime.date(2026, 9, 1))  # due 1 Oct
    make_invoice(issue_date=datetime.date(2026, 10, 25))  # due 24 Nov: not late
    now = datetime.datetime(2026, 11, 1, 12, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)

    assert tasks.flag_overdue_invoices() == 1
    assert tasks.flag_overdue_invoices() == 0

    assert len(mail.outbox) == 1
    reminder = mail.outbox[0]
    assert reminder.subject == f"Reminder: invoice {late.number} is overdue"
    assert sorted(reminder.to) == ["ap@acme.example", "cfo@acme.example"]
    assert "€100.00" in reminder.body and "1 Oct 2026" in reminder.body
    assert Invoice.objects.get(pk=late.pk).status == "overdue"
    assert late.events.filter(kind="reminder_sent").count() == 1


def test_a_reminder_task_delivered_twice_sends_once(customer, contacts, make_invoice):
    late = make_invoice(issue_date=datetime.date(2026, 1, 1))
    services.flag_overdue_invoices(now=datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC))
    tasks.send_overdue_reminder(late.pk)
    tasks.send_overdue_reminder(late.pk)
    assert len(mail.outbox) == 1


def test_no_reminder_for_an_invoice_paid_before_the_reminder_went(customer, contacts, make_invoice):
    late = make_invoice(issue_date=datetime.date(2026, 1, 1))
    services.flag_overdue_invoices(now=datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC))
    services.record_bank_payment(
        invoice=late,
        amount=late.total,
        received_at=datetime.datetime(2026, 6, 1, 9, tzinfo=datetime.UTC),
    )
    assert tasks.send_overdue_reminder(late.pk) == []
    assert mail.outbox == []


def test_the_beat_schedule_runs_overdue_flagging_every_hour():
    from portal.celery import app

    entry = app.conf.beat_schedule["flag-overdue-invoices"]
    assert entry["task"] == tasks.flag_overdue_invoices.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == (set(range(24)), {0})
