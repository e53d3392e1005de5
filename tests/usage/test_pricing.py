"""Prices month by month and the one cost function, checked against sums done by hand."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.factories import CustomerFactory
from usage.models import CustomerPlan, DailyUsage, Price, PricingPlan, Service
from usage.pricing import cost, month_usage, price_book, priced_quantity

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]

D = Decimal


def test_storage_is_priced_per_gb_month_of_730_hours():
    # 10 GB held for 730 hours is 10 GB-months; at €0.095 that is €0.95.
    assert priced_quantity("storage", D("7300")) == D("10.0000")
    assert cost("storage", D("7300"), D("0.095"), "EUR") == D("0.95")
    # 1 GB for one hour: 1/730 GB-month = 0.00136986… kept as 0.0014.
    assert priced_quantity("storage", D("1")) == D("0.0014")


def test_cost_rounds_half_up_once_to_cents():
    assert cost("cpu", D("0.5"), D("0.010000"), "EUR") == D("0.01")  # 0.005 -> 0.01
    assert cost("cpu", D("0.49"), D("0.010000"), "EUR") == D("0.00")  # 0.0049 -> 0.00
    assert cost("bandwidth", D("1234.5678"), D("0.010000"), "EUR") == D("12.35")  # 12.345678
    # The quantity keeps the 4 places an invoice line prints before it is priced.
    assert cost("memory", D("0.00005"), D("1000"), "EUR") == D("0.10")  # 0.0001 x 1000


def test_the_default_plan_prices_every_metric_for_new_customers():
    customer = CustomerFactory()
    book = price_book(customer, datetime.date(2026, 10, 1), datetime.date(2026, 11, 30))
    day = datetime.date(2026, 10, 15)
    assert book.unit_price("cpu", day) == D("0.031000")
    assert book.unit_price("memory", day) == D("0.004200")
    assert book.unit_price("storage", day) == D("0.095000")
    assert book.unit_price("bandwidth", day) == D("0.010000")


def test_a_plan_change_and_a_price_change_apply_from_their_month_only():
    customer = CustomerFactory()
    premium = PricingPlan.objects.create(name="Premium")
    Price.objects.create(
        plan=premium, metric="cpu", unit_price=D("0.05"), effective_from=datetime.date(2026, 1, 1)
    )
    Price.objects.create(
        plan=premium, metric="cpu", unit_price=D("0.04"), effective_from=datetime.date(2026, 12, 1)
    )
    CustomerPlan.objects.create(
        customer=customer, plan=premium, effective_from=datetime.date(2026, 11, 1)
    )
    book = price_book(customer, datetime.date(2026, 10, 20), datetime.date(2026, 12, 5))
    assert book.unit_price("cpu", datetime.date(2026, 10, 31)) == D("0.031000")  # default plan
    assert book.unit_price("cpu", datetime.date(2026, 11, 1)) == D("0.05")
    assert book.unit_price("cpu", datetime.date(2026, 12, 5)) == D("0.04")
    assert book.unit_price("memory", datetime.date(2026, 11, 5)) is None  # Premium has none
    assert book.cost("cpu", datetime.date(2026, 11, 9), D("100")) == D("5.00")


def test_prices_start_on_the_first_of_an_open_month(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC))
    plan = PricingPlan.objects.get(is_default=True)
    for start, message in [
        (datetime.date(2026, 12, 15), "1st of a month"),
        (datetime.date(2026, 10, 1), "may already be invoiced"),
    ]:
        price = Price(plan=plan, metric="cpu", unit_price=D("1"), effective_from=start)
        with pytest.raises(ValidationError, match=message):
            price.full_clean()
    Price(
        plan=plan, metric="cpu", unit_price=D("1"), effective_from=datetime.date(2026, 11, 1)
    ).full_clean()


def test_a_month_of_usage_is_summed_per_service_and_metric_and_priced_by_hand():
    customer, other = CustomerFactory(), CustomerFactory()
    web = Service.objects.create(customer=customer, name="web")
    db = Service.objects.create(customer=customer, name="db")
    elsewhere = Service.objects.create(customer=other, name="web")
    rollup = [
        (web, "cpu", datetime.date(2026, 9, 30), "999"),  # the month before
        (web, "cpu", datetime.date(2026, 10, 1), "10.5"),
        (web, "cpu", datetime.date(2026, 10, 31), "4.25"),
        (web, "storage", datetime.date(2026, 10, 2), "2400"),
        (db, "bandwidth", datetime.date(2026, 10, 15), "120"),
        (web, "cpu", datetime.date(2026, 11, 1), "999"),  # the month after
        (elsewhere, "cpu", datetime.date(2026, 10, 10), "999"),  # another customer
    ]
    for service, metric, day, quantity in rollup:
        DailyUsage.objects.create(
            customer=service.customer, service=service, metric=metric, day=day, quantity=quantity
        )

    lines = month_usage(customer, datetime.date(2026, 10, 1))

    assert [(line.service, line.metric, line.quantity, line.cost) for line in lines] == [
        ("db", "bandwidth", D("120"), D("1.20")),  # 120 GB x 0.01
        ("web", "cpu", D("14.75"), D("0.46")),  # 14.75 x 0.031 = 0.45725
        ("web", "storage", D("2400"), D("0.31")),  # 2400/730 = 3.2877 GB-month x 0.095 = 0.3123
    ]
