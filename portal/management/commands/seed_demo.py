"""Load the demo data DESIGN.md promises. Idempotent and deterministic: run it any time."""

import datetime
import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Contact, Customer, Membership, Phone, User
from billing import services
from billing.models import Invoice, InvoiceEvent
from billing.services import LineSpec

DEMO_PASSWORD = "demo1234"
ADMIN_PASSWORD = "admin1234"

CUSTOMERS = [
    {
        "number": "C-10001",
        "name": "Acme Cloud AB",
        "address_line1": "Sveavägen 42",
        "postal_code": "111 34",
        "city": "Stockholm",
        "country": "SE",
        "vat_id": "SE556677889901",
        "payment_terms_days": 30,
        "timezone": "Europe/Stockholm",
        "login": "demo@example.com",
        "login_name": "Dana Demo",
        "contacts": [
            ("accounts-payable@acme.example", "Accounts Payable", {"is_billing": True}),
            ("ops@acme.example", "Cloud Operations", {"is_tech": True}),
            ("dpo@acme.example", "Data Protection Officer", {"is_dpo": True}),
        ],
        "phones": [("Office", "+46812345600"), ("On call", "+46701234567")],
    },
    {
        "number": "C-10002",
        "name": "Globex Corporation",
        "address_line1": "Friedrichstraße 100",
        "postal_code": "10117",
        "city": "Berlin",
        "country": "DE",
        "vat_id": "DE123456788",
        "payment_terms_days": 14,
        "timezone": "Europe/Berlin",
        "login": "other@example.com",
        "login_name": "Otto Other",
        "contacts": [
            # A customer's only address holds every role.
            (
                "billing@globex.example",
                "Globex Billing",
                {"is_billing": True, "is_tech": True, "is_dpo": True},
            ),
        ],
        "phones": [("Office", "+493012345678")],
    },
]


def _user(email: str, *, full_name: str = "", password: str, **flags) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, **flags}
    )
    if created:  # hashing is slow on purpose; a re-run keeps the existing password
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def seed_accounts() -> list[Customer]:
    _user("admin@example.com", password=ADMIN_PASSWORD, is_staff=True, is_superuser=True)
    customers = []
    for spec in CUSTOMERS:
        fields = {
            key: value
            for key, value in spec.items()
            if key not in {"number", "login", "login_name", "contacts", "phones"}
        }
        customer, _ = Customer.objects.update_or_create(number=spec["number"], defaults=fields)
        user = _user(spec["login"], full_name=spec["login_name"], password=DEMO_PASSWORD)
        Membership.objects.update_or_create(
            user=user, customer=customer, defaults={"role": Membership.Role.OWNER}
        )
        for email, name, roles in spec["contacts"]:
            Contact.objects.update_or_create(
                customer=customer,
                email=email,
                defaults={"name": name, "is_billing": False, "is_tech": False, "is_dpo": False}
                | roles,
                # The demo's addresses are confirmed: they receive the demo's invoices.
                create_defaults={"name": name, "confirmed_at": timezone.now()} | roles,
            )
        for label, number in spec["phones"]:
            # Numbers are stored in E.164, as the Account pane stores them.
            Phone.objects.update_or_create(
                customer=customer, label=label, defaults={"number": number}
            )
        customers.append(customer)
    return customers


MONTHS_OF_INVOICES = 24

# Each customer's cloud services and what they run: (service, vCPUs, GB RAM, GB disk, GB egress).
SERVICES = {
    "C-10001": [
        ("k8s-prod-eu1", 24, 96, 800, 1400),
        ("web-frontend", 8, 16, 120, 2600),
        ("db-primary", 8, 64, 1500, 90),
        ("backups", 0, 0, 6000, 40),
    ],
    "C-10002": [
        ("analytics-cluster", 32, 128, 2400, 300),
        ("api-gateway", 4, 8, 80, 900),
    ],
}
PRICES = {  # per unit, EUR, excluding VAT
    "vcpu": Decimal("0.012500"),
    "ram": Decimal("0.004200"),
    "disk": Decimal("0.085000"),
    "egress": Decimal("0.010000"),
}


def _month_start(day: datetime.date, months_back: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def _usage_lines(customer: Customer, period_start: datetime.date, hours: int) -> list[LineSpec]:
    # Seeded by customer and month, so every run produces the same figures for the same month.
    rng = random.Random(f"{customer.number}:{period_start:%Y-%m}")
    lines = []
    for service, vcpus, ram, disk, egress in SERVICES[customer.number]:
        load = Decimal(rng.randint(80, 100)) / 100
        usage = [
            ("vCPU-hours", vcpus * hours * load, "vCPU-h", PRICES["vcpu"]),
            ("Memory", ram * hours * load, "GB-h", PRICES["ram"]),
            (
                "Block storage",
                Decimal(disk) * Decimal(rng.randint(95, 105)) / 100,
                "GB-month",
                PRICES["disk"],
            ),
            (
                "Bandwidth (egress)",
                Decimal(egress * rng.randint(70, 130)) / 100,
                "GB",
                PRICES["egress"],
            ),
        ]
        lines += [
            LineSpec(service, description, quantity.quantize(Decimal("0.0001")), unit, price)
            for description, quantity, unit, price in usage
            if quantity
        ]
    return lines


def seed_invoices(customers: list[Customer], today: datetime.date) -> int:
    """Monthly invoices for the last two years: paid, except the newest; Acme's newest carries
    an SLA credit note. Unpaid invoices past due are flagged overdue. Returns how many were new."""
    created = 0
    for months_back in range(MONTHS_OF_INVOICES, 0, -1):
        period_start = _month_start(today, months_back)
        next_month = _month_start(today, months_back - 1)
        period_end = next_month - datetime.timedelta(days=1)
        for customer in customers:
            if Invoice.objects.filter(customer=customer, period_start=period_start).exists():
                continue
            created += 1
            _seed_month(customer, period_start, period_end, issue_date=next_month, today=today)
    services.flag_overdue_invoices(now=timezone.now())
    return created


def _seed_month(customer, period_start, period_end, *, issue_date, today):
    hours = (period_end - period_start).days * 24 + 24
    draft = services.create_draft(
        customer=customer, period_start=period_start, period_end=period_end
    )
    services.add_lines(invoice=draft, lines=_usage_lines(customer, period_start, hours))
    invoice = services.finalize_invoice(invoice=draft, issue_date=issue_date, deliver=False)
    issued_at = datetime.datetime.combine(issue_date, datetime.time(6), tzinfo=datetime.UTC)
    Invoice.objects.filter(pk=invoice.pk).update(finalized_at=issued_at)
    InvoiceEvent.objects.filter(invoice=invoice).update(created_at=issued_at)

    age_in_months = (today.year - issue_date.year) * 12 + today.month - issue_date.month
    rng = random.Random(f"{customer.number}:{issue_date}:paid")
    if customer.number == "C-10001" and age_in_months == 0:
        services.issue_credit_note(
            invoice=invoice,
            net_amount=Decimal("40.00"),
            reason="SLA credit: k8s-prod-eu1 unavailable for 3 hours",
            issue_date=today,
            deliver=False,
        )
    elif customer.number == "C-10001" and age_in_months <= 2:
        return  # left unpaid: overdue once its due date passes
    elif customer.number == "C-10002" and age_in_months == 0:
        half = (invoice.total / 2).quantize(Decimal("0.01"))
        services.record_bank_payment(
            invoice=invoice,
            amount=half,
            received_at=issued_at + datetime.timedelta(days=9),
            reference="Globex part payment",
        )
    else:
        received_at = issued_at + datetime.timedelta(days=rng.randint(3, 20), hours=6)
        services.record_bank_payment(
            invoice=invoice,
            amount=invoice.total,
            received_at=received_at,
            reference=f"{customer.name} {period_start:%b %Y}",
        )


class Command(BaseCommand):
    help = "Create or refresh the demo customers, logins and their data."

    @transaction.atomic
    def handle(self, *args, **options):
        customers = seed_accounts()
        new_invoices = seed_invoices(customers, services.utc_today())
        names = ", ".join(c.name for c in customers)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {names} ({new_invoices} new invoices).")
        )
