"""When monthly invoicing runs: at each customer's own midnight once the month's UTC days are
over, two runs at once, the usage links of the invoice sheet, the hourly task and the command."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from billing import invoicing, tasks
from billing.models import Invoice
from billing.pdf import invoice_html
from tests.billing.invoicing.conftest import (
    OCTOBER,
    D,
    at,
    october_usage,
    usage_invoices,
    used,
)
from tests.concurrency import run_together
from tests.factories import CustomerFactory, issued_invoice
from tests.htmx import HTMX
from usage.models import DailyUsage, Sender, Service, UsageRecord

pytestmark = pytest.mark.both_databases


# ---- When: each customer's midnight, once the month's UTC days are over ----


@pytest.fixture
def hourly_run(time_machine):
    """Run the hourly invoicing at a moment of 2026 (UTC); the customers it invoiced."""

    def run(moment):
        time_machine.move_to(moment)
        return [invoice.customer for invoice in invoicing.issue_due_invoices(now=moment)]

    return run


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "not_yet", "due", "issued"),
    [
        # Each a day (INVOICE_GRACE_HOURS) after: Auckland (UTC+13 in summer) reaches
        # 1 November at 11:00 UTC on 31 October, but October's last UTC day is still running:
        # it is invoiced a day after midnight UTC.
        ("Pacific/Auckland", at(11, 1, 23, 59), at(11, 2, 0, 0), datetime.date(2026, 11, 2)),
        # Los Angeles (still UTC-7 at midnight; winter time starts at 2:00 that day): a day
        # after 07:00 UTC on 1 November.
        ("America/Los_Angeles", at(11, 2, 6, 59), at(11, 2, 7, 0), datetime.date(2026, 11, 1)),
        ("UTC", at(11, 1, 23, 59), at(11, 2, 0, 0), datetime.date(2026, 11, 2)),
    ],
)
def test_each_customer_is_invoiced_once_their_1st_has_begun_and_utc_october_is_over(
    hourly_run, zone, not_yet, due, issued
):
    customer = CustomerFactory(timezone=zone)
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 10, 31), "10")

    assert hourly_run(not_yet) == []
    assert hourly_run(due) == [customer]
    invoice = usage_invoices().get()
    assert invoice.usage_month == OCTOBER
    assert invoice.issue_date == issued  # the customer's date
    # Every later hour finds it issued.
    assert hourly_run(due + datetime.timedelta(hours=1)) == []
    assert hourly_run(at(11, 20, 12, 0)) == []
    assert usage_invoices().count() == 1


@pytest.mark.django_db
def test_an_hourly_run_invoices_only_the_customers_whose_1st_has_begun(hourly_run):
    auckland = CustomerFactory(timezone="Pacific/Auckland")
    los_angeles = CustomerFactory(timezone="America/Los_Angeles")
    for customer in (auckland, los_angeles):
        used(customer, "k8s-prod", "cpu", datetime.date(2026, 10, 1), "10")

    assert hourly_run(at(11, 2, 0, 0)) == [auckland]
    # The beat was down for two days: the next run catches up.
    assert hourly_run(at(11, 4, 0, 0)) == [los_angeles]


# ---- Two runs at the same moment (PostgreSQL) ----


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_issue_one_invoice_per_customer_and_month(
    postgres, customer, default_plan
):
    other = CustomerFactory()
    september = datetime.date(2025, 9, 1)  # a month that is over, whatever today is
    used(customer, "k8s-prod", "cpu", datetime.date(2025, 9, 3), "1000")  # 31.00
    used(other, "api", "bandwidth", datetime.date(2025, 9, 30), "250")  # 2.50
    issued = []

    errors = run_together(*[lambda: issued.extend(invoicing.issue_monthly_invoices(september))] * 4)

    assert errors == []
    assert len(issued) == 2
    invoices = usage_invoices().order_by("customer__number")
    assert [(i.customer, i.usage_month, i.subtotal) for i in invoices] == [
        (customer, september, D("31.00")),
        (other, september, D("2.50")),
    ]
    # The losers' numbers rolled back with their invoices: no gap.
    assert sorted(i.number[-4:] for i in invoices) == ["0001", "0002"]


# ---- The invoice sheet links each usage line to its usage ----


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "sheet"])
def test_each_usage_line_links_to_the_usage_page_for_its_month_and_service(
    in_november, owner_client, customer, htmx
):
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 10, 4), "100")
    used(customer, "k8s-prod", "memory", datetime.date(2026, 10, 4), "100")
    used(customer, "db primary & eu/1", "bandwidth", datetime.date(2026, 10, 4), "100")
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)

    headers = HTMX if htmx else {}
    html = owner_client.get(f"/invoices/{invoice.number}/", **headers).content.decode()

    k8s = '<a class="line-link no-print" href="/usage/?month=2026-10&amp;service=k8s-prod">'
    db = (
        '<a class="line-link no-print" '
        'href="/usage/?month=2026-10&amp;service=db+primary+%26+eu%2F1">'
    )
    assert html.count(k8s) == 2 and html.count(db) == 1
    assert html.count("View usage") == 3
    # Each link says which line it is for, to a screen reader.
    assert (
        'View usage<span class="visually-hidden">: k8s-prod, Memory (GB-hours), October 2026'
        "</span></a>" in html
    )


@pytest.mark.django_db
def test_invoices_made_by_hand_and_pdfs_have_no_usage_links(in_november, owner_client, customer):
    by_hand = issued_invoice(customer, [("k8s-prod", "Setup", "1", "h", "100")])
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 10, 4), "100")
    (from_usage,) = invoicing.issue_monthly_invoices(OCTOBER)

    assert "View usage" not in owner_client.get(f"/invoices/{by_hand.number}/").content.decode()
    assert "View usage" not in invoice_html(from_usage)


# ---- The hourly task and the command ----


def record(customer, service, metric, start, quantity):
    """A raw usage record as the cloud sent it, not yet counted into the rollup."""
    service, _ = Service.objects.get_or_create(customer=customer, name=service)
    return UsageRecord.objects.create(
        customer=customer,
        sender=Sender.named(Sender.IMPORT),
        service=service,
        metric=metric,
        external_id=f"{service}-{metric}-{start:%Y%m%d%H}",
        quantity=D(quantity),
        start=start,
        end=start + datetime.timedelta(hours=1),
    )


@pytest.mark.django_db
def test_the_hourly_task_counts_the_months_last_records_before_invoicing(time_machine):
    auckland = CustomerFactory(timezone="Pacific/Auckland")
    used(auckland, "k8s-prod", "cpu", datetime.date(2026, 10, 30), "100")
    # The month's last hour, sent at the end of it and not counted yet.
    record(auckland, "k8s-prod", "cpu", at(10, 31, 23, 0), "50")

    # 2 November 12:15 in Auckland, but October's UTC days ended less than a day ago.
    time_machine.move_to(at(11, 1, 23, 15))
    assert tasks.issue_monthly_invoices() == 0
    time_machine.move_to(at(11, 2, 0, 15))
    assert tasks.issue_monthly_invoices() == 1
    assert tasks.issue_monthly_invoices() == 0

    line = usage_invoices(auckland).get().lines.get()
    assert (line.quantity, line.amount) == (D("150"), D("4.65"))  # 150 × 0.031


def test_the_beat_schedule_runs_monthly_invoicing_every_hour():
    from portal.celery import app

    entry = app.conf.beat_schedule["issue-monthly-invoices"]
    assert entry["task"] == tasks.issue_monthly_invoices.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == (set(range(24)), {15})


def issue_command(*args) -> str:
    out = io.StringIO()
    call_command("issue_monthly_invoices", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_says_what_it_issued_and_what_existed(in_november, customer):
    dollars = CustomerFactory(name="Dollar Inc", billing_profile__currency="USD")
    used(dollars, "api", "cpu", datetime.date(2026, 10, 2), "100")
    october_usage(customer)
    record(customer, "web", "cpu", at(10, 31, 23, 0), "9.9")  # 10 vCPU-hours in all: 0.31

    first = issue_command("--month", "2026-10")
    invoice = usage_invoices(customer).get()
    assert f"Issued {invoice.number} to Acme Cloud AB ({customer.number}): €20.78." in first
    assert f"Not invoiced: Dollar Inc ({dollars.number}): Dollar Inc is billed in USD" in first
    assert "October 2026: 1 issued, 0 already issued, 0 skipped, 1 not invoiced" in first

    again = issue_command("--month=2026-10")
    assert f"Already issued: {invoice.number} to Acme Cloud AB ({customer.number})." in again
    assert "October 2026: 0 issued, 1 already issued, 0 skipped, 1 not invoiced" in again
    assert Invoice.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("2026-13", "is not a month"),
        ("2026-00", "is not a month"),
        ("2026/10", "must be a month as YYYY-MM"),
        ("October 2026", "must be a month as YYYY-MM"),
        ("2026-10-01", "must be a month as YYYY-MM"),
        ("26-10", "must be a month as YYYY-MM"),
        ("", "must be a month as YYYY-MM"),
        ("２０２６-10", "must be a month as YYYY-MM"),  # full-width digits
        ("2026-10'; DROP TABLE billing_invoice; --", "must be a month as YYYY-MM"),
        ("2026-11", "November 2026 is not over yet"),  # this month
        ("2027-01", "January 2027 is not over yet"),
    ],
)
def test_the_command_refuses_anything_but_a_past_month_and_stores_nothing(
    in_november, customer, value, error
):
    october_usage(customer)
    record(customer, "web", "cpu", at(10, 31, 23, 0), "1")
    with pytest.raises(CommandError, match=error):
        issue_command("--month", value)
    assert Invoice.objects.count() == 0
    assert DailyUsage.objects.filter(service__name="web").count() == 1  # not counted either


@pytest.mark.django_db
def test_the_command_needs_a_month(customer):
    with pytest.raises(CommandError, match="--month"):
        issue_command()
