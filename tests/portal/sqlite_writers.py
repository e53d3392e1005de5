"""Concurrent writers against a file-based SQLite database, configured as the portal configures
it from DATABASE_URL. Run by tests/portal/test_sqlite_concurrency.py in a process of its own
(`python -m tests.portal.sqlite_writers`); prints what happened as JSON.

Each thread has its own database connection (Django's are per thread) and goes through
billing's services: it finalizes its drafts, stores their PDFs and records two bank payments
on each (each payment renders the PDF again, in-process: REDIS_URL is unset); then all threads
store the PDFs of the same invoices at once, as two web workers did when the first download of
a PDF raced (issue 13). Rendering is replaced by a fixed PDF that
takes 50 ms: the database is under test here, not WeasyPrint (which is not thread-safe).
"""

import datetime
import json
import os
import threading
import time
import traceback
from decimal import Decimal

import django

THREADS = 4
DRAFTS_PER_THREAD = 3
SHARED = 3  # invoices whose PDF every thread stores at the same moment
ISSUE_DATE = datetime.date(2026, 11, 2)
LINES = [("vm-pool", "vCPU-hours", "10", "h", "1.50")]  # 15.00 + 25% VAT = 18.75
INSTALMENTS = [Decimal("10.00"), Decimal("8.75")]


def fake_pdf(invoice) -> bytes:
    time.sleep(0.05)
    return b"%PDF-1.4\n% " + str(invoice.number).encode() + b"\n%%EOF\n"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from billing import delivery, services
    from billing.models import Invoice, InvoiceEvent
    from tests.factories import CustomerFactory, draft_invoice, issued_invoice

    call_command("migrate", verbosity=0)
    delivery.render_invoice_pdf = fake_pdf
    customer = CustomerFactory(country="SE")
    shared = [issued_invoice(customer, LINES, issue_date=ISSUE_DATE).pk for _ in range(SHARED)]
    own = [
        [draft_invoice(customer, LINES).pk for _ in range(DRAFTS_PER_THREAD)]
        for _ in range(THREADS)
    ]
    connection.close()

    start, halfway = threading.Barrier(THREADS), threading.Barrier(THREADS)
    errors = []

    def writer(ids: list[int]) -> None:
        try:
            start.wait()
            for pk in ids:
                invoice = services.finalize_invoice(
                    invoice=Invoice.objects.get(pk=pk), issue_date=ISSUE_DATE, deliver=False
                )
                delivery.store_invoice_pdf(invoice=invoice)
                for amount in INSTALMENTS:
                    services.record_bank_payment(
                        invoice=invoice, amount=amount, received_at=timezone.now()
                    )
            halfway.wait()
            for pk in shared:
                delivery.store_invoice_pdf(invoice=Invoice.objects.get(pk=pk))
        except Exception:
            errors.append(traceback.format_exc())
            start.abort()
            halfway.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(ids,)) for ids in own]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    invoices = Invoice.objects.order_by("pk")
    print(
        json.dumps(
            {
                "errors": errors,
                "shared": shared,
                "own": [pk for ids in own for pk in ids],
                "numbers": list(invoices.values_list("number", flat=True)),
                "pdf_events": {
                    str(invoice.pk): invoice.events.filter(
                        kind=InvoiceEvent.Kind.PDF_RENDERED
                    ).count()
                    for invoice in invoices
                },
                "pdfs": {str(invoice.pk): invoice.pdf.name for invoice in invoices},
                "paid": {
                    str(invoice.pk): [invoice.status, str(invoice.amount_paid)]
                    for invoice in invoices
                },
                "payments": {str(invoice.pk): invoice.payments.count() for invoice in invoices},
            }
        )
    )


if __name__ == "__main__":
    main()
