"""The demo data is a contract: the README's logins work, reseeding changes nothing, and the
demo's usage, sent through ingest and aggregation, is what its monthly invoices bill."""

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.test import Client

from accounts.models import Contact, Customer, Membership, User
from billing.models import Invoice, Payment
from usage.models import DailyUsage, IngestToken, UsageRecord
from usage.pricing import month_usage

# A Sunday late in November 2026: last month is October, the newest invoices were issued on
# 1 November, and the hourly records reach back to 24 July (120 days).
NOW = datetime.datetime(2026, 11, 22, 10, 30, tzinfo=datetime.UTC)
OCTOBER = datetime.date(2026, 10, 1)


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def snapshot():
    return {
        "users": sorted(User.objects.values_list("email", "is_staff", "is_superuser")),
        "customers": sorted(Customer.objects.values_list("number", "name")),
        "memberships": sorted(
            Membership.objects.values_list("user__email", "customer__name", "role")
        ),
        "contacts": sorted(
            Contact.objects.values_list(
                "customer__name", "email", "is_billing", "is_tech", "is_dpo"
            )
        ),
        "invoices": sorted(
            Invoice.objects.values_list(
                "customer__number",
                "number",
                "kind",
                "status",
                "usage_month",
                "issue_date",
                "due_date",
                "total",
                "amount_paid",
                "amount_credited",
            )
        ),
        "payments": sorted(
            Payment.objects.values_list("invoice__number", "amount", "received_at", "reference")
        ),
        "records": list(
            UsageRecord.objects.values("customer__number", "metric")
            .annotate(count=Count("id"), quantity=Sum("quantity"))
            .order_by("customer__number", "metric")
        ),
        "rollup": list(
            DailyUsage.objects.values("customer__number", "metric")
            .annotate(days=Count("id"), quantity=Sum("quantity"))
            .order_by("customer__number", "metric")
        ),
    }


@pytest.mark.django_db
def test_seed_demo_creates_the_promised_logins_and_is_idempotent(frozen):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first

    for email, password in [
        ("demo@example.com", "demo1234"),
        ("other@example.com", "demo1234"),
        ("sek@example.com", "demo1234"),
        ("admin@example.com", "admin1234"),
    ]:
        response = Client().post("/accounts/login/", {"username": email, "password": password})
        assert response.status_code == 302, email
    assert ("admin@example.com", True, True) in first["users"]
    assert ("demo@example.com", "Acme Cloud AB", "owner") in first["memberships"]
    assert ("other@example.com", "Globex Corporation", "owner") in first["memberships"]
    assert ("sek@example.com", "Nordlys AB", "owner") in first["memberships"]
    acme_roles = [c[2:] for c in first["contacts"] if c[0] == "Acme Cloud AB"]
    assert sorted(acme_roles) == sorted(
        [(True, False, False), (False, True, False), (False, False, True)]
    )


def by_hand(metric: str, metered: Decimal, unit_price: Decimal) -> tuple[Decimal, Decimal]:
    """The line a month of usage makes, worked out as docs/invoicing.md says: storage
    GB-hours / 730, four places half-up, times the unit price, cents half-up."""
    quantity = metered / 730 if metric == "storage" else metered
    quantity = quantity.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    amount = (quantity * unit_price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return quantity, amount


@pytest.mark.django_db
def test_the_demos_invoices_bill_its_usage_and_keep_every_state(frozen):
    call_command("seed_demo")
    acme = Customer.objects.get(number="C-10001")
    globex = Customer.objects.get(number="C-10002")
    nordlys = Customer.objects.get(number="C-10003")

    # Two years of monthly invoices, one per month of usage, November 2024 to October 2026.
    months = [datetime.date(2024 + (10 + n) // 12, (10 + n) % 12 + 1, 1) for n in range(24)]
    for customer in (acme, globex):
        invoices = Invoice.objects.filter(customer=customer, kind="invoice")
        assert sorted(invoices.values_list("usage_month", flat=True)) == months

    # Sent hourly for the last 120 days (yesterday's last hour is there), daily before.
    acme_records = UsageRecord.objects.filter(customer=acme, service__name="k8s-prod-eu1")
    hourly = acme_records.get(
        metric="cpu", start=datetime.datetime(2026, 11, 21, 23, tzinfo=datetime.UTC)
    )
    assert hourly.end - hourly.start == datetime.timedelta(hours=1)
    daily = acme_records.get(
        metric="cpu", start=datetime.datetime(2026, 7, 24, tzinfo=datetime.UTC)
    )
    assert daily.end - daily.start == datetime.timedelta(days=1)
    assert not acme_records.filter(start__gte=datetime.datetime(2026, 11, 22, tzinfo=datetime.UTC))

    # Two collectors, each with a live token for its own customer, sent the usage.
    tokens = IngestToken.objects.live().order_by("sender__name")
    assert [(t.sender.name, [c.number for c in t.customers.all()]) for t in tokens] == [
        ("collector-de1", ["C-10002"]),
        ("collector-se1", ["C-10001"]),
    ]
    senders = UsageRecord.objects.values_list("customer__number", "sender__name").distinct()
    assert sorted(senders) == [
        ("C-10001", "collector-se1"),
        ("C-10002", "collector-de1"),
        ("C-10003", "import"),  # Nordlys: loaded as a file, as imports are
    ]

    for customer, services in [
        (acme, {"k8s-prod-eu1", "web-frontend", "db-primary", "backups"}),
        (globex, {"analytics-cluster", "api-gateway"}),
        (nordlys, {"nordlys-web", "nordlys-db"}),
    ]:
        invoice = Invoice.objects.get(customer=customer, usage_month=OCTOBER)
        lines = list(invoice.lines.all())
        # The Usage page's figures for last month (the same selector) equal the invoice's,
        # service by service, to the cent.
        usage_by_service, invoice_by_service = defaultdict(Decimal), defaultdict(Decimal)
        for row in month_usage(customer, OCTOBER):
            usage_by_service[row.service] += row.cost
        for line in lines:
            invoice_by_service[line.service] += line.amount
        assert set(invoice_by_service) == services
        assert usage_by_service == invoice_by_service
        assert invoice.subtotal == sum(invoice_by_service.values())
        # And each line is what the raw records of October add up to, priced by hand.
        october = UsageRecord.objects.filter(
            customer=customer,
            start__gte=datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC),
            start__lt=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        )
        metered = {
            (row["service__name"], row["metric"]): row["total"]
            for row in october.values("service__name", "metric").annotate(total=Sum("quantity"))
        }
        metric_of = {"CPU Hours": "cpu", "Memory": "memory", "Storage": "storage",
                     "Bandwidth": "bandwidth"}  # fmt: skip
        assert len(lines) == len(metered)
        for line in lines:
            metric = metric_of[line.description.split(" (")[0]]
            quantity, amount = by_hand(metric, metered[(line.service, metric)], line.unit_price)
            assert (line.quantity, line.amount) == (quantity, amount), line

    # The states the demo has always shown: paid history; Acme's two previous invoices overdue
    # and its newest unpaid with an SLA credit note; Globex's newest paid automatically by its
    # saved card.
    def status_of(customer, month):
        return Invoice.objects.get(customer=customer, usage_month=month).status

    for month in months[:-3]:
        assert status_of(acme, month) == "paid"
    for month in months:
        assert status_of(globex, month) == "paid"
    assert [status_of(acme, month) for month in months[-3:]] == ["overdue", "overdue", "unpaid"]
    newest = Invoice.objects.get(customer=acme, usage_month=OCTOBER)
    note = Invoice.objects.get(kind="credit_note")
    assert note.credited_invoice == newest and note.total == Decimal("-50.00")  # 40 + 25% VAT
    assert newest.amount_credited == Decimal("50.00")
    autopaid = Invoice.objects.get(customer=globex, usage_month=OCTOBER)
    assert globex.billing_profile.autopay
    (card,) = globex.payment_methods.all()
    assert (card.label, card.expiry_label, card.is_default) == (
        "Visa •••• 4242",
        "expires 12/2030",
        True,
    )
    (payment,) = autopaid.payments.all()
    assert (payment.amount, payment.method) == (autopaid.total, "card")
    assert payment.stripe_payment_intent == f"pi_demo_{autopaid.number}"
    assert list(autopaid.events.values_list("kind", flat=True)) == [
        "finalized",
        "autopay_started",
        "payment_received",
        "paid",
    ]
    # Nordlys: six months in kronor at the SEK plan's prices (about 11 kr to the euro), the
    # newest unpaid; Acme and Globex stay in euros.
    sek = Invoice.objects.filter(customer=nordlys, kind="invoice")
    assert sorted(sek.values_list("usage_month", flat=True)) == months[-6:]
    assert set(sek.values_list("currency", flat=True)) == {"SEK"}
    assert {"EUR"} == set(
        Invoice.objects.filter(customer__in=[acme, globex]).values_list("currency", flat=True)
    )
    prices = {"cpu": "0.34", "memory": "0.046", "storage": "1.05", "bandwidth": "0.11"}
    for line in Invoice.objects.get(customer=nordlys, usage_month=OCTOBER).lines.all():
        assert line.unit_price == Decimal(prices[line.metric]), line
    assert [status_of(nordlys, month) for month in months[-6:]] == ["paid"] * 5 + ["unpaid"]
