"""Twenty invoices finalized at the same moment on PostgreSQL get twenty gapless numbers."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing import services
from billing.services import LineSpec


@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizations_take_unique_gapless_numbers(postgres, customer):
    drafts = []
    for n in range(20):
        draft = services.create_draft(customer=customer)
        services.add_lines(
            invoice=draft, lines=[LineSpec("vm", f"line {n}", Decimal(1), "h", Decimal(n + 1))]
        )
        drafts.append(draft)

    start = threading.Barrier(len(drafts))
    numbers, errors = [], []

    def finalize(draft):
        try:
            start.wait()
            invoice = services.finalize_invoice(
                invoice=draft, issue_date=datetime.date(2026, 7, 1), deliver=False
            )
            numbers.append(invoice.number)
        except Exception as exc:  # collected: a thread's exception would be lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=finalize, args=(draft,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(numbers) == [f"INV-2026-{n:04d}" for n in range(1, 21)]
