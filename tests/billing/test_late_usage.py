"""Late usage, end to end: the grace period lets a little late usage land on its month's own
invoice; what arrives after the month was invoiced is billed once, on the next monthly invoice,
at its own month's prices, on lines that say so, and the customer sees where it went."""

import datetime
import io
import json
import re
import threading
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import translation

from billing import invoicing
from billing.exceptions import NotInvoiceable
from billing.models import BilledLateUsage, Invoice
from tests.concurrency import ROW_LOCK_AWAITED, awaited, wait_until
from tests.factories import CustomerFactory
from tests.usage.conftest import text
from usage.aggregation import aggregate_usage
from usage.ingest import ingest_records
from usage.models import LateUsage, Price, PricingPlan
from usage.services import create_ingest_token

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]

NOVEMBER = datetime.date(2026, 11, 1)
DECEMBER = datetime.date(2026, 12, 1)


def at(month, day, hour, minute=0, year=2026):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=datetime.UTC)


@pytest.fixture
def collector(customer, default_plan):
    _, secret = create_ingest_token(name="collector-eu1", customers=[customer])
    return secret


def send(client, secret, customer, n, start, quantity, *, metric="cpu", service="k8s-prod-eu1"):
    record = {
        "id": f"evt-{n}",
        "customer": customer.number,
        "service": service,
        "metric": metric,
        "quantity": quantity,
        "start": start.isoformat(),
        "end": (start + datetime.timedelta(hours=1)).isoformat(),
    }
    response = client.post(
        "/api/v1/usage/",
        json.dumps({"records": [record]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.content
    return response.json()


def hourly_run(time_machine, moment) -> list[Invoice]:
    time_machine.move_to(moment)
    aggregate_usage()
    return invoicing.issue_due_invoices(now=moment)


def lines(invoice):
    return [
        (line.service, line.description, line.quantity, line.unit_price, line.amount, line.late)
        for line in invoice.lines.order_by("position")
    ]


def issue_command(month: str) -> str:
    out = io.StringIO()
    call_command("issue_monthly_invoices", "--month", month, stdout=out)
    return out.getvalue()


def test_late_usage_is_billed_once_on_the_next_invoice_at_its_months_price(
    client, owner_client, owner, time_machine, customer, collector
):
    time_machine.move_to(at(11, 20, 15))
    send(client, collector, customer, 1, at(11, 20, 13), "100")
    # A day of grace: sent half a day after November ended, it is on November's own invoice.
    time_machine.move_to(at(12, 1, 12))
    send(client, collector, customer, 2, at(11, 30, 23), "50")
    assert hourly_run(time_machine, at(12, 1, 23, 15)) == []
    (november,) = hourly_run(time_machine, at(12, 2, 0, 15))
    # 150 vCPU-h x 0.031 = 4.65
    assert lines(november) == [
        (
            "k8s-prod-eu1",
            "CPU Hours (vCPU-hours), November 2026",
            D("150"),
            D("0.031"),
            D("4.65"),
            False,
        )
    ]
    # December has a dearer CPU hour; November keeps its own.
    standard = PricingPlan.objects.get(name="Standard")
    Price.objects.create(plan=standard, metric="cpu", unit_price=D("0.05"), effective_from=DECEMBER)

    # A collector that was down sends November's last hours on 3 December, twice (a retry).
    time_machine.move_to(at(12, 3, 9))
    assert send(client, collector, customer, 3, at(11, 29, 10), "10") == {
        "accepted": 1,
        "duplicates": 0,
    }
    assert send(client, collector, customer, 3, at(11, 29, 10), "10") == {
        "accepted": 0,
        "duplicates": 1,
    }
    send(client, collector, customer, 4, at(12, 2, 10), "20")
    aggregate_usage()
    assert LateUsage.objects.get().quantity == D("10")

    # The Usage page for November: on its invoice, and late usage for the next one
    # (10 x 0.031 = 0.31); the whole month's usage is shown (160 vCPU-h).
    page = owner_client.get("/usage/?month=2026-11").content.decode()
    notice = re.search(
        r'<p class="notice" role="status" data-month-invoice="[^"]+">(.*?)</p>', page, re.S
    )
    assert text(notice[1]).replace(" .", ".") == (
        f"Your usage of November 2026 is billed on invoice {november.number}. Usage of it that "
        "arrived after that invoice, €0.31 before VAT, goes on your next invoice."
    )
    assert f'href="/invoices/{november.number}/"' in notice[1]
    # The daily CSV marks the late part of 29 November.
    daily = owner_client.get("/usage/daily.csv?month=2026-11").content.decode().splitlines()
    assert daily[1:] == [
        '"2026-11-20","k8s-prod-eu1","cpu",100.0000,"vCPU-hours",3.10,""',
        '"2026-11-29","k8s-prod-eu1","cpu",10.0000,"vCPU-hours",0.31,"yes"',
        '"2026-11-30","k8s-prod-eu1","cpu",50.0000,"vCPU-hours",1.55,""',
    ]
    # November again: nothing new, and says where its late usage goes.
    output = issue_command("2026-11")
    assert f"Already issued: {november.number} to {customer.name} ({customer.number})." in output
    assert (
        "Late usage of November 2026 since: €0.31 before VAT, for the next monthly invoice."
        in output
    )
    assert output.rstrip().endswith("Nothing new issued for November 2026.")
    assert Invoice.objects.count() == 1

    # January 2nd: December's invoice carries it, at November's price, on its own line.
    (december,) = hourly_run(time_machine, at(1, 2, 0, 15, year=2027))
    assert lines(december) == [
        (
            "k8s-prod-eu1",
            "CPU Hours (vCPU-hours), December 2026",
            D("20"),
            D("0.05"),
            D("1.00"),
            False,
        ),
        (
            "k8s-prod-eu1",
            "CPU Hours (vCPU-hours), late usage from November 2026",
            D("10"),
            D("0.031"),
            D("0.31"),
            True,
        ),
    ]
    assert december.subtotal == D("1.31")
    # Billed once, whatever runs again.
    assert hourly_run(time_machine, at(1, 2, 1, 15, year=2027)) == []
    assert "Nothing new issued for December 2026." in issue_command("2026-12")
    assert list(BilledLateUsage.objects.values_list("line", flat=True)) == [
        december.lines.get(late=True).pk
    ]
    time_machine.move_to(at(1, 10, 9, year=2027))
    send(client, collector, customer, 5, at(1, 3, 10, year=2027), "1")
    (january,) = hourly_run(time_machine, at(2, 2, 0, 15, year=2027))
    assert [line[-1] for line in lines(january)] == [False]

    # The customer sees where it went: November's page names December's invoice, and the
    # late line's "View usage" opens November (signed in again: months have passed).
    owner_client.force_login(owner)
    page = owner_client.get("/usage/?month=2026-11").content.decode()
    billed_on = (
        f"Usage of it that arrived after that invoice is billed on invoice {december.number}."
    )
    assert billed_on in text(page).replace(" .", ".")
    assert "goes on your next invoice" not in page
    detail = owner_client.get(f"/invoices/{december.number}/").content.decode()
    assert 'href="/usage/?month=2026-11&amp;service=k8s-prod-eu1"' in detail
    assert 'href="/usage/?month=2026-12&amp;service=k8s-prod-eu1"' in detail
    assert "late usage from November 2026" in detail


def test_a_month_with_nothing_to_bill_is_closed_so_what_comes_later_is_late_usage(
    client, time_machine, customer, collector
):
    time_machine.move_to(at(11, 20, 15))
    # 0.00004 vCPU-hours prints as 0.0000 on a line: November has nothing to bill.
    send(client, collector, customer, 1, at(11, 20, 13), "0.00004")
    assert hourly_run(time_machine, at(12, 2, 0, 15)) == []
    assert f"Nothing to invoice for {customer.name}" in issue_command("2026-11")

    # Ten hours sent for 29 November on 3 December: late usage, not a November invoice now
    # and then December's as well.
    time_machine.move_to(at(12, 3, 9))
    send(client, collector, customer, 2, at(11, 29, 10), "10")
    assert hourly_run(time_machine, at(12, 3, 10, 15)) == []
    assert f"Nothing to invoice for {customer.name}" in issue_command("2026-11")
    assert not Invoice.objects.exists()
    assert LateUsage.objects.get().quantity == D("10")

    (december,) = hourly_run(time_machine, at(1, 2, 0, 15, year=2027))
    assert lines(december) == [
        (
            "k8s-prod-eu1",
            "CPU Hours (vCPU-hours), late usage from November 2026",
            D("10"),
            D("0.031"),
            D("0.31"),
            True,
        )
    ]


def test_a_late_line_reads_in_swedish_too(time_machine, customer, collector, client):
    time_machine.move_to(at(11, 20, 15))
    send(client, collector, customer, 1, at(11, 20, 13), "100")
    hourly_run(time_machine, at(12, 2, 0, 15))
    time_machine.move_to(at(12, 3, 9))
    send(client, collector, customer, 2, at(11, 21, 13), "1")
    (december,) = hourly_run(time_machine, at(1, 2, 0, 15, year=2027))

    late = december.lines.get(late=True)
    with translation.override("sv"):
        assert late.label == "CPU-timmar (vCPU-timmar), sen användning från november 2026"
    assert late.description == "CPU Hours (vCPU-hours), late usage from November 2026"


def test_late_usage_alone_makes_the_next_months_invoice(time_machine, customer, collector, client):
    time_machine.move_to(at(11, 20, 15))
    send(client, collector, customer, 1, at(11, 20, 13), "100")
    hourly_run(time_machine, at(12, 2, 0, 15))
    time_machine.move_to(at(12, 10, 9))
    send(client, collector, customer, 2, at(11, 21, 13), "200", metric="bandwidth")

    (december,) = hourly_run(time_machine, at(1, 2, 0, 15, year=2027))

    # 200 GB x 0.01 = 2.00
    assert lines(december) == [
        (
            "k8s-prod-eu1",
            "Bandwidth (GB transferred), late usage from November 2026",
            D("200"),
            D("0.01"),
            D("2.00"),
            True,
        )
    ]
    assert december.usage_month == DECEMBER


def test_a_month_in_its_grace_period_is_not_issued_and_the_command_says_until_when(
    time_machine, customer, collector, client
):
    time_machine.move_to(at(11, 20, 15))
    send(client, collector, customer, 1, at(11, 20, 13), "100")
    aggregate_usage()
    time_machine.move_to(at(12, 1, 12))

    with pytest.raises(NotInvoiceable, match="waits for late usage until 2026-12-02 00:00 UTC"):
        invoicing.issue_monthly_invoice(customer, NOVEMBER)
    with pytest.raises(Exception, match="waits for late usage until 2026-12-02 00:00 UTC"):
        issue_command("2026-11")
    assert not Invoice.objects.exists()


def test_no_grace_period_invoices_at_the_months_end(
    settings, time_machine, customer, collector, client
):
    settings.INVOICE_GRACE_HOURS = 0
    time_machine.move_to(at(11, 20, 15))
    send(client, collector, customer, 1, at(11, 20, 13), "100")

    (november,) = hourly_run(time_machine, at(12, 1, 0, 15))

    assert november.usage_month == NOVEMBER


@pytest.mark.django_db(transaction=True)
def test_a_record_counted_while_its_month_is_invoiced_is_billed_once(
    postgres, time_machine, default_plan
):
    """The aggregation runs while November's invoice is being made: it waits for the invoice's
    transaction, then counts the record as late usage; December's invoice bills it."""
    customer = CustomerFactory()
    time_machine.move_to(at(11, 20, 15))
    ingest_records([record(1, customer, at(11, 20, 13), "100")])
    aggregate_usage()
    time_machine.move_to(at(12, 2, 1))
    ingest_records([record(2, customer, at(11, 29, 13), "10")])  # not counted yet
    inside, release = threading.Event(), threading.Event()
    close = invoicing.close_month

    def close_then_hold(**kwargs):
        close(**kwargs)
        inside.set()
        release.wait(timeout=30)

    invoicing.close_month = close_then_hold
    try:
        issuing = threading.Thread(
            target=closing, args=(invoicing.issue_monthly_invoice, customer, NOVEMBER)
        )
        issuing.start()
        assert inside.wait(timeout=30)
        counting = threading.Thread(target=closing, args=(aggregate_usage,))
        counting.start()
        wait_until(lambda: awaited(ROW_LOCK_AWAITED), "the aggregation to wait for the invoice")
        release.set()
        issuing.join()
        counting.join()
    finally:
        invoicing.close_month = close

    november = Invoice.objects.get(usage_month=NOVEMBER)
    assert [(line.quantity, line.late) for line in november.lines.all()] == [(D("100"), False)]
    assert LateUsage.objects.get().quantity == D("10")
    time_machine.move_to(at(1, 2, 1, year=2027))
    december, _ = invoicing.issue_monthly_invoice(customer, DECEMBER)
    assert [(line.quantity, line.late) for line in december.lines.all()] == [(D("10"), True)]


def record(n, customer, start, quantity):
    return {
        "id": f"evt-{n}",
        "customer": customer.number,
        "service": "k8s-prod-eu1",
        "metric": "cpu",
        "quantity": quantity,
        "start": start.isoformat(),
        "end": (start + datetime.timedelta(hours=1)).isoformat(),
    }


def closing(work, *args):
    try:
        work(*args)
    finally:
        connection.close()
