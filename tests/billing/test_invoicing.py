"""Monthly invoices from usage: lines priced by hand from rollup rows, one invoice per customer
and month however often (and however concurrently) invoicing runs, issued at each customer's
own midnight once the month's UTC days are over."""

import datetime
import io
import logging
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from billing import invoicing, tasks
from billing.exceptions import NotInvoiceable
from billing.models import Invoice, UninvoicedMonth
from billing.pdf import invoice_html
from core.money import line_amount
from tests.concurrency import run_together
from tests.factories import ContactFactory, CustomerFactory, issued_invoice
from tests.htmx import HTMX
from usage.models import DailyUsage, Sender, Service, UsageRecord
from usage.pricing import cost

pytestmark = pytest.mark.both_databases

D = Decimal
OCTOBER = datetime.date(2026, 10, 1)
NOVEMBER_10 = datetime.datetime(2026, 11, 10, 9, tzinfo=datetime.UTC)


def used(customer, service, metric, day, quantity):
    """A rollup row: what `service` used of `metric` on a UTC day."""
    service, _ = Service.objects.get_or_create(customer=customer, name=service)
    DailyUsage.objects.create(
        customer=customer, service=service, metric=metric, day=day, quantity=D(quantity)
    )


def october_usage(customer):
    """October 2026 on the default plan (cpu 0.031, memory 0.0042, storage 0.095 per GB-month,
    bandwidth 0.01), worked out by hand:

    db-primary  Storage    1000 GB-h / 730 = 1.36986… -> 1.3699 × 0.095 = 0.1301405  -> 0.13
    db-primary  Bandwidth  123.456789 GB   -> 123.4568 × 0.01  = 1.234568        -> 1.23
    db-primary  Memory     0.00004 GB-h    -> 0.0000: no line
    k8s-prod    CPU        100.5 + 200.25 = 300.75 × 0.031      = 9.32325         -> 9.32
    k8s-prod    Memory     1000 × 0.0042                        = 4.2             -> 4.20
    k8s-prod    Storage    7300 + 3650 = 10950 GB-h / 730 = 15 × 0.095 = 1.425    -> 1.43
    web         CPU        0.1 × 0.031 = 0.0031                                   -> 0.00
    subtotal 16.31; VAT 25% of it 4.0775 -> 4.08; total 20.39

    Usage on 30 September and 1 November (UTC days) belongs to other months.
    """
    day = OCTOBER.replace
    used(customer, "k8s-prod", "cpu", day(day=1), "100.5")
    used(customer, "k8s-prod", "cpu", day(day=31), "200.25")
    used(customer, "k8s-prod", "memory", day(day=15), "1000")
    used(customer, "k8s-prod", "storage", day(day=1), "7300")
    used(customer, "k8s-prod", "storage", day(day=2), "3650")
    used(customer, "db-primary", "bandwidth", day(day=10), "123.456789")
    used(customer, "db-primary", "storage", day(day=5), "1000")
    used(customer, "db-primary", "memory", day(day=3), "0.00004")
    used(customer, "web", "cpu", day(day=20), "0.1")
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 9, 30), "999")
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 11, 1), "999")


EXPECTED_LINES = [
    # service, description, quantity, unit, unit price, amount
    ("db-primary", "Storage (GB-months), October 2026", D("1.3699"), "GB-month",
     D("0.095"), D("0.13")),
    ("db-primary", "Bandwidth (GB transferred), October 2026", D("123.4568"), "GB", D("0.01"),
     D("1.23")),
    ("k8s-prod", "CPU Hours (vCPU-hours), October 2026", D("300.75"), "vCPU-hour", D("0.031"),
     D("9.32")),
    ("k8s-prod", "Memory (GB-hours), October 2026", D("1000"), "GB-hour", D("0.0042"), D("4.20")),
    ("k8s-prod", "Storage (GB-months), October 2026", D("15"), "GB-month",
     D("0.095"), D("1.43")),
    ("web", "CPU Hours (vCPU-hours), October 2026", D("0.1"), "vCPU-hour", D("0.031"), D("0.00")),
]  # fmt: skip


@pytest.fixture
def in_november(time_machine):
    time_machine.move_to(NOVEMBER_10)


def lines_of(invoice):
    return [
        (line.service, line.description, line.quantity, line.unit, line.unit_price, line.amount)
        for line in invoice.lines.all()
    ]


def usage_invoices(customer=None):
    invoices = Invoice.objects.filter(usage_month__isnull=False)
    return invoices.filter(customer=customer) if customer else invoices


@pytest.mark.django_db
def test_a_months_usage_becomes_one_line_per_service_and_metric_priced_by_hand(
    in_november, customer
):
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)

    assert lines_of(invoice) == EXPECTED_LINES
    totals = (invoice.subtotal, invoice.vat_amount, invoice.total)
    assert totals == (D("16.31"), D("4.08"), D("20.39"))
    assert invoice.status == Invoice.Status.UNPAID and invoice.number == "INV-2026-0001"
    assert (invoice.period_start, invoice.period_end) == (OCTOBER, datetime.date(2026, 10, 31))
    assert invoice.usage_month == OCTOBER
    assert invoice.period_label == "1 Oct 2026 – 31 Oct 2026"
    # Issued on the customer's date (their time zone is UTC) and due after their 30 days.
    assert invoice.issue_date == datetime.date(2026, 11, 10)
    assert invoice.due_date == datetime.date(2026, 12, 10)


@pytest.mark.django_db
def test_usage_lines_read_in_the_readers_language_and_are_stored_in_english(in_november, customer):
    customer.billing_profile.invoice_language = "sv"
    customer.billing_profile.save()
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    storage = invoice.lines.get(service="k8s-prod", metric="storage")
    assert (storage.description, storage.unit) == ("Storage (GB-months), October 2026", "GB-month")
    assert storage.month == OCTOBER

    text = " ".join(invoice_html(invoice).split())
    assert "Lagring (GB-månader), oktober 2026" in text
    assert "CPU-timmar (vCPU-timmar), oktober 2026" in text
    assert "Bandbredd (överförda GB), oktober 2026" in text
    assert "GB-månad" in text and "Storage (GB-months)" not in text


@pytest.mark.django_db
def test_a_line_staff_wrote_reads_as_written_in_every_language(customer):
    customer.billing_profile.invoice_language = "sv"
    customer.billing_profile.save()
    invoice = issued_invoice(customer, [("support", "Onboarding workshop", "1", "day", "900")])
    assert "Onboarding workshop" in invoice_html(invoice)


@pytest.mark.django_db
def test_every_line_amount_is_the_usage_pages_cost_for_it(in_november, customer):
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    metered = {  # (service, metric) -> quantity in the metered unit, summed by hand
        ("db-primary", "storage"): D("1000"),
        ("db-primary", "bandwidth"): D("123.456789"),
        ("k8s-prod", "cpu"): D("300.75"),
        ("k8s-prod", "memory"): D("1000"),
        ("k8s-prod", "storage"): D("10950"),
        ("web", "cpu"): D("0.1"),
    }
    lines = list(invoice.lines.all())
    assert len(lines) == len(metered)
    for line, ((_service, metric), quantity) in zip(lines, metered.items(), strict=True):
        assert line.amount == line_amount(line.quantity, line.unit_price, "EUR")
        assert line.amount == cost(metric, quantity, line.unit_price, "EUR")


@pytest.mark.django_db
def test_issuing_a_month_twice_gives_one_invoice_per_customer(in_november, customer):
    other = CustomerFactory()
    october_usage(customer)
    used(other, "api", "bandwidth", datetime.date(2026, 10, 31), "1000")  # 1000 × 0.01 = 10.00

    first = invoicing.issue_monthly_invoices(OCTOBER)
    again = invoicing.issue_monthly_invoices(OCTOBER)

    assert sorted(invoice.customer_id for invoice in first) == sorted([customer.pk, other.pk])
    assert again == []
    assert usage_invoices().count() == 2
    assert usage_invoices(other).get().total == D("12.50")  # 10.00 + 25% VAT (a Swedish firm)
    invoice, created = invoicing.issue_monthly_invoice(customer, datetime.date(2026, 10, 17))
    assert not created and invoice == usage_invoices(customer).get()


@pytest.mark.django_db
def test_a_run_that_loses_the_race_returns_the_invoice_the_other_run_issued(
    in_november, customer, monkeypatch
):
    october_usage(customer)
    (winner,) = invoicing.issue_monthly_invoices(OCTOBER)
    # The loser looked before the winner committed: it saw no invoice, and inserts its own.
    real_lookup, looks = invoicing._usage_invoice, []

    def lookup(customer, month):
        looks.append(month)
        return None if len(looks) == 1 else real_lookup(customer, month)

    monkeypatch.setattr(invoicing, "_usage_invoice", lookup)

    invoice, created = invoicing.issue_monthly_invoice(customer, OCTOBER)

    assert (invoice, created) == (winner, False)
    assert len(looks) == 2
    assert Invoice.objects.count() == 1
    assert winner.lines.count() == len(EXPECTED_LINES)


@pytest.mark.django_db
def test_customers_without_usage_in_the_month_get_no_invoice(in_november, customer):
    quiet = CustomerFactory()
    used(quiet, "api", "cpu", datetime.date(2026, 9, 30), "50")  # September only
    tiny = CustomerFactory()
    used(tiny, "api", "memory", datetime.date(2026, 10, 2), "0.00004")  # prints as 0.0000

    assert invoicing.issue_monthly_invoices(OCTOBER) == []
    assert invoicing.issue_monthly_invoice(customer, OCTOBER) == (None, False)
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_hand_made_invoices_do_not_count_as_the_months_usage_invoice(in_november, customer):
    by_hand = issued_invoice(customer, [("support", "Premium support", "1", "month", "100")])
    october_usage(customer)
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    assert invoice != by_hand and by_hand.usage_month is None


@pytest.mark.django_db
def test_a_customer_without_a_plan_in_its_currency_is_not_invoiced_and_needs_attention(
    in_november, customer, caplog
):
    dollars = CustomerFactory(billing_profile__currency="USD")
    used(dollars, "api", "cpu", datetime.date(2026, 10, 2), "100")
    october_usage(customer)

    with caplog.at_level(logging.WARNING, logger="billing.invoicing"):
        issued = invoicing.issue_monthly_invoices(OCTOBER)

    assert [invoice.customer for invoice in issued] == [customer]
    assert not Invoice.objects.filter(customer=dollars).exists()
    assert f"Monthly invoice of {dollars.number} for 2026-10-01 not issued" in caplog.text
    row = UninvoicedMonth.objects.get(customer=dollars, usage_month=OCTOBER, resolved_at=None)
    assert row.reason == UninvoicedMonth.Reason.NO_PLAN_IN_CURRENCY
    assert "billed in USD but its price plan for October 2026 is in EUR" in row.detail
    assert "never converted" in row.detail


@pytest.mark.django_db
def test_a_month_that_is_not_over_is_refused(time_machine, customer):
    # 1 November 00:30 in Stockholm is still 31 October in UTC, where usage is counted.
    time_machine.move_to(datetime.datetime(2026, 10, 31, 23, 30, tzinfo=datetime.UTC))
    october_usage(customer)
    with pytest.raises(NotInvoiceable, match="October 2026 is not over yet"):
        invoicing.issue_monthly_invoice(customer, OCTOBER)
    assert invoicing.issue_monthly_invoices(OCTOBER) == []
    assert Invoice.objects.count() == 0


@pytest.mark.django_db
def test_the_invoice_is_rendered_and_emailed_like_any_other(
    in_november, customer, django_capture_on_commit_callbacks
):
    ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)
    october_usage(customer)
    with django_capture_on_commit_callbacks(execute=True):
        (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    (message,) = mail.outbox
    assert message.to == ["ap@acme.example"]
    assert invoice.number in message.subject and "€20.39" in message.body
    invoice.refresh_from_db()
    assert invoice.pdf and invoice.emailed_at and invoice.deliver
    assert list(invoice.events.values_list("kind", flat=True)) == [
        "finalized",
        "pdf_rendered",
        "emailed",
    ]


# ---- When: each customer's midnight, once the month's UTC days are over ----


def at(month, day, hour, minute):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=datetime.UTC)


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
