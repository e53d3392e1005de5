"""What reaches the customer stays true: stored PDFs follow every change of the invoice, and
every overdue invoice gets its one reminder, whatever dies or is missing on the way."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from billing import delivery, ledger, services, tasks
from billing.models import BillingProfile, Invoice
from tests.billing.conftest import pdf_text
from tests.factories import ContactFactory, issued_invoice

SEP_14 = datetime.datetime(2026, 9, 14, 12, tzinfo=datetime.UTC)
SELLER = settings.SELLER["name"]


def stored_text(invoice) -> str:
    invoice = Invoice.objects.get(pk=invoice.pk)
    with invoice.pdf.open("rb") as pdf:
        return "".join(pdf_text(pdf.read()))


def downloaded_text(client, invoice) -> str:
    response = client.get(f"/invoices/{invoice.number}/pdf/")
    assert response.status_code == 200
    return "".join(pdf_text(b"".join(response.streaming_content)))


def media_files(settings) -> list[str]:
    return sorted(p.name for p in settings.MEDIA_ROOT.rglob("*.pdf"))


# ---- Stored PDFs ----


def test_paying_renders_the_stored_pdf_again_after_commit(
    invoice, django_capture_on_commit_callbacks, settings
):
    delivery.store_invoice_pdf(invoice=invoice)
    assert "Please pay" in stored_text(invoice)
    with django_capture_on_commit_callbacks(execute=True):
        services.record_bank_payment(invoice=invoice, amount=invoice.total, received_at=SEP_14)
    text = stored_text(invoice)
    assert "Paid in full on 14 Sep 2026" in text and "Please pay" not in text
    assert media_files(settings) == [f"{invoice.number}-r2.pdf"]  # the stale copy is gone


@pytest.mark.parametrize("change", ["payment", "credit note", "void", "overdue"])
def test_a_download_never_serves_a_copy_older_than_the_invoice(owner_client, invoice, change):
    delivery.store_invoice_pdf(invoice=invoice)
    # The render job that follows each change is lost (callbacks not run): the download
    # itself must notice the stored copy is stale.
    if change == "payment":
        services.record_bank_payment(invoice=invoice, amount=invoice.total, received_at=SEP_14)
        expected = "Paid in full on 14 Sep 2026"
    elif change == "credit note":
        note = services.issue_credit_note(invoice=invoice, reason="Outage", deliver=False)
        expected = f"Settled by credit note {note.number}"
    elif change == "void":
        services.void_invoice(invoice=invoice)
        expected = "VOID"
    else:
        services.flag_overdue_invoices(now=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC))
        expected = "Please pay"
    text = downloaded_text(owner_client, invoice)
    assert expected in text
    if change != "overdue":
        assert "Please pay" not in text
    invoice.refresh_from_db()
    assert invoice.pdf_revision == invoice.revision


def test_the_sweep_renders_every_stale_stored_pdf(invoice, make_invoice):
    untouched = make_invoice()
    for each in (invoice, untouched):
        delivery.store_invoice_pdf(invoice=each)
    services.record_bank_payment(invoice=invoice, amount=invoice.total, received_at=SEP_14)
    assert tasks.render_stale_pdfs() == 1
    assert "Paid in full" in stored_text(invoice)
    assert tasks.render_stale_pdfs() == 0


def test_the_sweep_renders_a_first_pdf_whose_task_never_ran(customer, monkeypatch):
    # Issued for delivery while the broker was down: no PDF was ever stored.
    lost = issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")], deliver=True)
    issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")], deliver=False)  # imported
    assert tasks.render_stale_pdfs() == 0  # too young: its own task may still be on the way
    later = timezone.now() + datetime.timedelta(minutes=11)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert tasks.render_stale_pdfs() == 1
    assert lost.number in stored_text(lost)
    assert media_files(settings) == [f"{lost.number}-r{lost.revision}.pdf"]
    assert tasks.render_stale_pdfs() == 0


def test_a_draft_preview_in_the_admin_stores_nothing(admin_client, customer, settings):
    draft = services.create_draft(customer=customer)
    services.add_lines(
        invoice=draft,
        lines=[services.LineSpec("vm", "vCPU-hours", Decimal("1"), "h", Decimal("5"))],
    )
    response = admin_client.get(f"/admin/billing/invoice/{draft.pk}/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    draft.refresh_from_db()
    assert not draft.pdf and media_files(settings) == []

    invoice = services.finalize_invoice(invoice=draft, deliver=False)
    stored = delivery.store_invoice_pdf(invoice=invoice)
    assert stored.pdf.name.endswith(f"{invoice.number}-r{invoice.revision}.pdf")


def test_two_renders_of_one_revision_store_one_file(invoice, settings):
    read_by_first = Invoice.objects.get(pk=invoice.pk)
    read_by_second = Invoice.objects.get(pk=invoice.pk)
    delivery._render_and_swap(read_by_first)
    delivery._render_and_swap(read_by_second)  # lost the race: its file is dropped
    assert media_files(settings) == [f"{invoice.number}-r{invoice.revision}.pdf"]
    assert invoice.events.filter(kind="pdf_rendered").count() == 1


def test_a_render_of_an_invoice_that_changed_meanwhile_is_not_stored(invoice, settings):
    read_before_payment = Invoice.objects.get(pk=invoice.pk)
    services.record_bank_payment(invoice=invoice, amount=invoice.total, received_at=SEP_14)
    delivery._render_and_swap(read_before_payment)
    assert not Invoice.objects.get(pk=invoice.pk).pdf and media_files(settings) == []


# ---- The paid date is when the money arrived ----


def test_paid_in_full_shows_the_day_the_money_was_received(owner_client, invoice):
    services.record_bank_payment(invoice=invoice, amount=invoice.total, received_at=SEP_14)
    invoice.refresh_from_db()
    assert invoice.paid_at == SEP_14
    assert "Paid in full on 14 Sep 2026" in downloaded_text(owner_client, invoice)
    sheet = owner_client.get(f"/invoices/{invoice.number}/").content.decode()
    assert (
        '<span class="timeline-label">Paid</span> <span class="timeline-date">14 Sep 2026</span>'
        in sheet
    )


# ---- Reminders ----


@pytest.fixture
def overdue(customer, billing_contact, make_invoice):
    late = make_invoice(issue_date=datetime.date(2026, 1, 1))
    services.flag_overdue_invoices(now=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC))
    return late


def test_a_reminder_lost_with_its_worker_is_sent_by_the_next_run(overdue):
    # Flagged, but the worker died before sending: no reminder yet.
    assert Invoice.objects.get(pk=overdue.pk).reminder_sent_at is None
    tasks.flag_overdue_invoices()
    assert [m.subject for m in mail.outbox] == [f"Reminder: invoice {overdue.number} is overdue"]
    tasks.flag_overdue_invoices()
    assert len(mail.outbox) == 1


def test_an_invoice_reopened_overdue_gets_its_reminder(customer, billing_contact, make_invoice):
    late = make_invoice(issue_date=datetime.date(2026, 1, 1))
    services.record_bank_payment(
        invoice=late,
        amount=late.total,
        received_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
    )
    # Refunded in June, long after its due date: owed again, and overdue at once.
    ledger.refund_payment(
        payment=late.payments.get(),
        invoice=ledger.lock_invoices([late.pk])[late.pk],
        amount=late.total,
        at=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC),
    )
    assert Invoice.objects.get(pk=late.pk).status == "overdue"
    tasks.flag_overdue_invoices()
    assert [m.subject for m in mail.outbox] == [f"Reminder: invoice {late.number} is overdue"]


def test_without_a_billing_address_the_reminder_waits_flagged_for_staff(
    customer, make_invoice, admin_client
):
    ContactFactory(customer=customer, is_billing=False, is_tech=True)
    late = make_invoice(issue_date=datetime.date(2026, 1, 1))
    tasks.flag_overdue_invoices()
    tasks.flag_overdue_invoices()
    late.refresh_from_db()
    assert (late.status, late.reminder_sent_at, mail.outbox) == ("overdue", None, [])
    assert late.undelivered_at is not None
    assert late.events.filter(kind="not_emailed").count() == 1  # said once, not every hour
    assert late.number in admin_client.get("/admin/billing/invoice/?attention=yes").content.decode()

    ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)
    tasks.flag_overdue_invoices()
    late.refresh_from_db()
    assert [m.to for m in mail.outbox] == [["ap@acme.example"]]
    assert late.reminder_sent_at is not None and late.undelivered_at is None


# ---- The customer's choice: the PDF attached, or a link to the portal only ----


def test_by_default_the_invoice_email_carries_its_pdf(invoice, billing_contact):
    delivery.email_invoice(invoice=invoice)
    (message,) = mail.outbox
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert "The PDF is attached." in message.body


def test_a_customer_who_chose_the_link_gets_no_attachment_but_the_link(
    invoice, customer, billing_contact
):
    customer.billing_profile.invoice_delivery = BillingProfile.Delivery.LINK
    customer.billing_profile.save()
    delivery.email_invoice(invoice=Invoice.objects.get(pk=invoice.pk))
    (message,) = mail.outbox
    assert message.attachments == []
    url = f"http://127.0.0.1:8000/invoices/{invoice.number}/"
    assert (
        "Your account receives invoices as a link to the billing portal, so no PDF is "
        "attached. See it there, download its PDF and pay it:\n" + url
    ) in message.body
    assert "The PDF is attached" not in message.body
    html = message.alternatives[0][0]
    assert f'<a href="{url}">{url}</a>' in html and "The PDF is attached" not in html
    assert "€212.86" in message.body  # what is owed is still in the email itself
    assert invoice.events.filter(kind="emailed").count() == 1


def test_a_credit_note_follows_the_same_choice(invoice, customer, billing_contact):
    customer.billing_profile.invoice_delivery = BillingProfile.Delivery.LINK
    customer.billing_profile.save()
    note = services.issue_credit_note(invoice=invoice, reason="Outage", deliver=False)
    delivery.email_invoice(invoice=Invoice.objects.get(pk=note.pk))
    (message,) = mail.outbox
    assert message.subject.startswith(f"Credit note {note.number}")
    assert message.attachments == []
    assert f"/invoices/{note.number}/" in message.body


# ---- Work whose task never ran ----


def test_an_invoice_email_lost_with_the_broker_is_sent_by_the_sweep(
    customer, billing_contact, monkeypatch
):
    # Finalized for delivery, but the jobs after commit never reached a worker.
    invoice = issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")], deliver=True)
    assert tasks.send_unsent_emails() == 0  # too young: its own task may still be on the way
    later = timezone.now() + datetime.timedelta(minutes=11)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert tasks.send_unsent_emails() == 1
    assert [m.subject for m in mail.outbox] == [f"Invoice {invoice.number} from {SELLER}"]
    assert Invoice.objects.get(pk=invoice.pk).pdf  # the PDF went with it
    assert tasks.send_unsent_emails() == 0
    assert len(mail.outbox) == 1


def test_imported_invoices_are_not_swept_into_emails(customer, billing_contact, monkeypatch):
    issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")], deliver=False)
    later = timezone.now() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert tasks.send_unsent_emails() == 0 and mail.outbox == []
