"""Monthly runs that never go silently wrong: prices as history (a change of plan or of the
default plan applies from this month on, never to a month that may be invoiced), usage without
a price never billed at €0.00, one customer's failure or runaway month never stopping the rest."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing import invoicing
from billing.models import Invoice, UninvoicedMonth
from tests.billing.invoicing.conftest import at, lines_of, used
from tests.factories import CustomerFactory
from tests.usage.conftest import text
from usage.aggregation import aggregate_usage
from usage.ingest import ingest_records
from usage.models import CustomerPlan, HeldRecord, Price, PricingPlan
from usage.pricing import price_book

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.both_databases,
    pytest.mark.usefixtures("default_plan"),
]

D = Decimal
OCTOBER, NOVEMBER, DECEMBER = (datetime.date(2026, month, 1) for month in (10, 11, 12))
ADD_PLAN = "/admin/usage/pricingplan/add/"
NEW_PRICES = {"cpu": "0.05", "memory": "0.005", "storage": "0.1", "bandwidth": "0.02"}


@pytest.fixture
def los_angeles(customer):
    """Invoiced from its own midnight on: 08:00 UTC on 1 December (UTC-8)."""
    customer.timezone = "America/Los_Angeles"
    customer.save()
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 10, 5), "1000")
    used(customer, "k8s-prod", "memory", datetime.date(2026, 10, 6), "2000")
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 11, 30), "500")
    used(customer, "web", "bandwidth", datetime.date(2026, 11, 2), "100")
    return customer


def run_at(time_machine, moment):
    time_machine.move_to(moment)
    return invoicing.issue_due_invoices(now=moment)


def admin_form(client, url, data, prices=()):
    """Save a plan's admin form as staff do, with the Prices inline (new rows only)."""
    form = {
        "prices-TOTAL_FORMS": str(len(prices)),
        "prices-INITIAL_FORMS": "0",
        "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "1000",
        **data,
    }
    for n, (metric, unit_price, start) in enumerate(prices):
        form |= {
            f"prices-{n}-metric": metric,
            f"prices-{n}-unit_price": unit_price,
            f"prices-{n}-effective_from": start,
        }
    response = client.post(url, form, follow=True)
    assert response.redirect_chain, response.content.decode()[:3000]
    return response


def switch_default_plan_in_the_admin(client):
    """As the issue tells it: a new plan priced from this month, the old plan's default
    unticked, the new one's ticked."""
    admin_form(
        client,
        ADD_PLAN,
        {"name": "Standard 2027"},
        [(metric, price, "2026-12-01") for metric, price in NEW_PRICES.items()],
    )
    standard = PricingPlan.objects.get(name="Standard")
    admin_form(client, f"/admin/usage/pricingplan/{standard.pk}/change/", {"name": "Standard"})
    new = PricingPlan.objects.get(name="Standard 2027")
    admin_form(
        client,
        f"/admin/usage/pricingplan/{new.pk}/change/",
        {"name": "Standard 2027", "is_default": "on"},
    )
    assert list(PricingPlan.objects.filter(is_default=True)) == [new]
    return new


def usage_page_month(client, month):
    response = client.get(f"/usage/?month={month:%Y-%m}")
    assert response.status_code == 200
    summary = response.context["overview"].summary
    return {row.service: row.cost for row in summary.services}, summary.total.cost


def test_switching_the_default_plan_at_2am_on_the_1st_reprices_no_month_before_it(
    time_machine, los_angeles, owner_client, admin_client
):
    (october,) = run_at(time_machine, at(11, 2, 8, 15))
    # Standard: 1000 vCPU-h x 0.031 = 31.00; 2000 GB-h x 0.0042 = 8.40.
    assert [line[-1] for line in lines_of(october)] == [D("31.00"), D("8.40")]
    october_before = (october.subtotal, october.total, lines_of(october))

    time_machine.move_to(at(12, 1, 2, 0))
    new_plan = switch_default_plan_in_the_admin(admin_client)

    october.refresh_from_db()
    assert (october.subtotal, october.total, lines_of(october)) == october_before
    # The Usage page for October shows what its invoice billed, service by service.
    assert usage_page_month(owner_client, OCTOBER) == ({"k8s-prod": D("39.40")}, D("39.40"))

    assert run_at(time_machine, at(12, 2, 7, 59)) == []  # 30 Nov in Los Angeles a day ago
    (november,) = run_at(time_machine, at(12, 2, 8, 0))
    # November at Standard's prices: 500 x 0.031 = 15.50; 100 GB x 0.01 = 1.00.
    assert [(line[0], line[4], line[5]) for line in lines_of(november)] == [
        ("k8s-prod", D("0.031"), D("15.50")),
        ("web", D("0.01"), D("1.00")),
    ]
    assert november.subtotal == D("16.50")
    assert usage_page_month(owner_client, NOVEMBER) == (
        {"k8s-prod": D("15.50"), "web": D("1.00")},
        D("16.50"),
    )
    # December is the new default plan's.
    december = price_book(los_angeles, DECEMBER, datetime.date(2026, 12, 31))
    assert {m: december.unit_price(m, DECEMBER) for m in NEW_PRICES} == {
        m: D(p) for m, p in NEW_PRICES.items()
    }
    assert not UninvoicedMonth.objects.exists()
    page = admin_client.get(f"/admin/usage/pricingplan/{new_plan.pk}/change/").content.decode()
    assert "Customers without a plan of their own (default plan): from 1 Dec 2026 on" in page
    standard = PricingPlan.objects.get(name="Standard")
    page = admin_client.get(f"/admin/usage/pricingplan/{standard.pk}/change/").content.decode()
    default = "Customers without a plan of their own (default plan)"
    assert f"{default}: from 1 Jan 2000 to 30 Nov 2026" in page


def test_each_plan_lists_the_customers_it_applies_to_and_from_when(
    time_machine, customer, admin_client
):
    time_machine.move_to(at(11, 10, 9, 0))
    gold = PricingPlan.objects.create(name="Gold")
    silver = PricingPlan.objects.create(name="Silver")
    CustomerPlan.objects.create(customer=customer, plan=gold, effective_from=NOVEMBER)
    CustomerPlan.objects.create(customer=customer, plan=silver, effective_from=DECEMBER)
    CustomerPlan.objects.create(
        customer=customer, plan=gold, effective_from=datetime.date(2027, 3, 1)
    )

    page = admin_client.get(f"/admin/usage/pricingplan/{gold.pk}/change/").content.decode()

    who = f"{customer.name} ({customer.number})"
    assert f"{who}: from 1 Nov 2026 to 30 Nov 2026" in page
    assert f"{who}: from 1 Mar 2027 on" in page
    page = admin_client.get(f"/admin/usage/pricingplan/{silver.pk}/change/").content.decode()
    assert f"{who}: from 1 Dec 2026 to 28 Feb 2027" in page


def test_usage_without_a_price_is_not_invoiced_and_needs_attention(
    time_machine, customer, admin_client
):
    other = CustomerFactory()
    time_machine.move_to(at(10, 2, 9, 0))
    cpu_only = PricingPlan.objects.create(name="CPU only")
    Price.objects.create(plan=cpu_only, metric="cpu", unit_price=D("0.04"), effective_from=OCTOBER)
    CustomerPlan.objects.create(customer=customer, plan=cpu_only, effective_from=OCTOBER)
    used(customer, "k8s-prod", "cpu", datetime.date(2026, 10, 5), "100")
    used(customer, "db", "storage", datetime.date(2026, 10, 5), "730")
    used(other, "web", "cpu", datetime.date(2026, 10, 5), "100")
    time_machine.move_to(at(11, 10, 9, 0))

    out = io.StringIO()
    call_command("issue_monthly_invoices", "--month", "2026-10", stdout=out)

    assert not Invoice.objects.filter(customer=customer).exists()  # never €0.00 for storage
    assert Invoice.objects.get(customer=other).subtotal == D("3.10")  # 100 x 0.031
    assert (
        f"Not invoiced: {customer.name} ({customer.number}): October 2026 has usage of Storage "
        "but the customer's plan for that month has no price for it" in out.getvalue()
    )
    assert "1 issued, 0 already issued, 0 skipped, 1 not invoiced" in out.getvalue()
    (record,) = UninvoicedMonth.objects.all()
    assert (record.customer, record.usage_month, record.reason) == (
        customer,
        OCTOBER,
        UninvoicedMonth.Reason.NO_PRICE,
    )
    listed = admin_client.get("/admin/billing/uninvoicedmonth/").content.decode()
    assert customer.number in listed and "Usage without a price" in listed
    # Every run tries again and counts it; nothing is billed meanwhile.
    invoicing.issue_monthly_invoices(OCTOBER)
    record.refresh_from_db()
    assert record.attempts == 2 and record.resolved_at is None
    assert not Invoice.objects.filter(customer=customer).exists()


def test_a_customer_whose_invoice_fails_is_recorded_and_the_run_goes_on(
    time_machine, caplog, admin_client
):
    first, overflowing, last = CustomerFactory(), CustomerFactory(), CustomerFactory()
    for customer in (first, last):
        used(customer, "web", "cpu", datetime.date(2026, 10, 5), "100")  # 100 x 0.031 = 3.10
    # A month past the bound (written straight into the rollup: the aggregation would have held
    # it back): 1.8 x 10^17 vCPU-hours, more than an invoice line holds (PostgreSQL raises
    # "numeric field overflow", SQLite would store it; both refuse it before the database).
    used(overflowing, "batch", "cpu", datetime.date(2026, 10, 5), str(9 * 10**16))
    used(overflowing, "batch", "cpu", datetime.date(2026, 10, 6), str(9 * 10**16))
    time_machine.move_to(at(11, 10, 9, 0))

    out = io.StringIO()
    call_command("issue_monthly_invoices", "--month", "2026-10", stdout=out)

    assert [i.customer for i in Invoice.objects.order_by("number")] == [first, last]
    assert {i.subtotal for i in Invoice.objects.all()} == {D("3.10")}
    assert not Invoice.objects.filter(customer=overflowing).exists()  # rolled back, no draft
    (record,) = UninvoicedMonth.objects.all()
    assert (record.customer, record.reason) == (overflowing, UninvoicedMonth.Reason.FAILED)
    assert f"Not invoiced: {overflowing.name} ({overflowing.number}): " in out.getvalue()
    assert "2 issued, 0 already issued, 0 skipped, 1 not invoiced" in out.getvalue()
    assert any(
        r.levelname == "ERROR" and overflowing.number in r.getMessage() for r in caplog.records
    )
    listed = admin_client.get("/admin/billing/uninvoicedmonth/").content.decode()
    assert overflowing.number in listed and "Invoicing failed" in listed
    # The invoice numbers stayed gapless: the failed customer took none.
    assert [i.number for i in Invoice.objects.order_by("number")] == [
        "INV-2026-0001",
        "INV-2026-0002",
    ]


def test_a_month_with_usage_held_back_is_not_invoiced_until_it_is_counted(
    time_machine, customer, settings
):
    time_machine.move_to(at(10, 20, 9, 0))
    settings.USAGE_MONTH_QUANTITY_MAX = 10**9
    sent = {"customer": customer.number, "service": "web", "metric": "cpu"}
    ingest_records(
        [
            {"id": f"r-{n}", "quantity": "600000000", **sent, "start": f"2026-10-{n}T09:00:00Z",
             "end": f"2026-10-{n}T10:00:00Z"}
            for n in (10, 11)
        ]
    )  # fmt: skip
    aggregate_usage()
    assert HeldRecord.objects.count() == 2
    time_machine.move_to(at(11, 10, 9, 0))

    assert invoicing.issue_monthly_invoices(OCTOBER) == []
    record = UninvoicedMonth.objects.get(customer=customer, usage_month=OCTOBER)
    assert record.reason == UninvoicedMonth.Reason.HELD

    settings.USAGE_MONTH_QUANTITY_MAX = 10**16
    assert aggregate_usage() == 2
    (invoice,) = invoicing.issue_monthly_invoices(OCTOBER)
    assert invoice.subtotal == D("37200000.00")  # 1.2 x 10^9 vCPU-hours x 0.031
    record.refresh_from_db()
    assert record.resolved_at is not None


def test_saving_a_plan_that_leaves_a_metric_unpriced_warns(time_machine, admin_client):
    time_machine.move_to(at(11, 10, 9, 0))
    prices = [("cpu", "0.04", "2026-11-01"), ("bandwidth", "0.01", "2026-12-01")]

    response = admin_form(admin_client, ADD_PLAN, {"name": "Partial"}, prices)

    shown = [str(m) for m in response.context["messages"]]
    assert any("Partial has no price for Memory, Storage:" in m for m in shown), shown
    standard = PricingPlan.objects.get(name="Standard")
    response = admin_form(
        admin_client, f"/admin/usage/pricingplan/{standard.pk}/change/", {"name": "Standard"}
    )
    assert not any("has no price" in str(m) for m in response.context["messages"])


def test_the_usage_page_says_when_a_month_cannot_be_invoiced_instead_of_estimating_it(
    time_machine, customer, owner_client, settings
):
    time_machine.move_to(at(9, 2, 9, 0))
    cpu_only = PricingPlan.objects.create(name="CPU only")
    Price.objects.create(
        plan=cpu_only, metric="cpu", unit_price=D("0.04"), effective_from=datetime.date(2026, 9, 1)
    )
    CustomerPlan.objects.create(customer=customer, plan=cpu_only, effective_from=OCTOBER)
    used(customer, "web", "cpu", datetime.date(2026, 9, 5), "100")
    used(customer, "web", "cpu", datetime.date(2026, 10, 5), "100")
    used(customer, "db", "storage", datetime.date(2026, 10, 5), "730")  # no price in October
    UninvoicedMonth.objects.create(
        customer=customer,
        usage_month=datetime.date(2026, 9, 1),
        reason=UninvoicedMonth.Reason.FAILED,
        detail="DataError: numeric field overflow",
    )
    time_machine.move_to(at(11, 10, 9, 0))
    settings.USAGE_MONTH_QUANTITY_MAX = 10
    hour = {"start": "2026-11-09T09:00Z", "end": "2026-11-09T10:00Z"}
    sent = {"customer": customer.number, "service": "web", "metric": "cpu", "quantity": "11"}
    ingest_records([{"id": "r-1", **sent, **hour}])
    aggregate_usage()  # November's 11 vCPU-hours are held back

    def notices(query):
        response = owner_client.get(f"/usage/?{query}")
        assert response.status_code == 200
        found = re.findall(r"<p[^>]*data-not-invoiceable[^>]*>(.*?)</p>", response.content.decode())
        return [text(notice) for notice in found]

    # Each page names the months of its range, and the current one its outlook cards are of.
    october, november = notices("month=2026-10")
    assert october == (
        "Your usage of October 2026 cannot be invoiced yet: part of it has no price in your "
        "pricing plan. Our billing team puts it right before it is invoiced, so its costs here "
        "are no estimate of that invoice."
    )
    september, _ = notices("month=2026-09")
    assert "September 2026 cannot be invoiced yet: its invoice could not be made." in september
    (november,) = notices("range=7d")
    assert "November 2026 cannot be invoiced yet: part of it could not be counted yet." in november
    page = owner_client.get("/usage/?range=7d").content.decode()
    assert "No estimate: November 2026 cannot be invoiced yet" in text(page)
    assert 'data-outlook="projected"' not in page
