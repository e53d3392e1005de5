"""What the monthly invoicing tests share: October 2026's usage worked out by hand, the lines
it must give, and reading invoices back."""

import datetime
from decimal import Decimal

import pytest

from billing.models import Invoice
from usage.models import DailyUsage, Service

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


def at(month, day, hour, minute):
    """A moment of 2026, UTC."""
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=datetime.UTC)
