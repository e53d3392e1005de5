"""Load the demo data DESIGN.md promises. Idempotent and deterministic: run it any time."""

import datetime
import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Contact, Customer, Membership, Phone, User
from billing import invoicing, services, webhooks
from billing.models import (
    BillingProfile,
    ChargeAttempt,
    CreditReason,
    Invoice,
    InvoiceEvent,
    PaymentMethod,
    money_params,
)
from core.money import to_minor_units
from portal.demo_usage import MONTHS_OF_USAGE, month_start, seed_senders, seed_usage
from usage.models import CustomerPlan, Price, PricingPlan

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
        "billing": {"payment_terms_days": 30},
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
        "billing": {"payment_terms_days": 14},
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
    {
        "number": "C-10003",
        "name": "Nordlys AB",
        "address_line1": "Storgatan 7",
        "postal_code": "903 26",
        "city": "Umeå",
        "country": "SE",
        "vat_id": "SE556900000201",
        # Billed in kronor, on the SEK plan (SEK_PRICES), its mail and PDFs in Swedish.
        "billing": {"payment_terms_days": 30, "currency": "SEK", "invoice_language": "sv"},
        "timezone": "Europe/Stockholm",
        "login": "sek@example.com",
        "login_name": "Sara Krona",
        "contacts": [
            (
                "faktura@nordlys.example",
                "Nordlys Ekonomi",
                {"is_billing": True, "is_tech": True, "is_dpo": True},
            ),
        ],
        "phones": [("Kontor", "+46901234567")],
    },
]

# Nordlys's plan in kronor: about 11 kr to the euro of the Standard plan (0.031 EUR per
# vCPU-hour, 0.0042 per GB-hour, 0.095 per GB-month, 0.01 per GB), rounded to even prices.
SEK_PLAN = "Standard SEK"
SEK_PRICES = {
    "cpu": Decimal("0.340000"),
    "memory": Decimal("0.046000"),
    "storage": Decimal("1.050000"),
    "bandwidth": Decimal("0.110000"),
}
SEK_PRICES_FROM = datetime.date(2020, 1, 1)


def _user(email: str, *, full_name: str = "", password: str, **flags) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, **flags}
    )
    if created:  # hashing is slow on purpose; a re-run keeps the existing password
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def seed_plans(customers: list[Customer]) -> None:
    """The SEK plan, and each customer billed in SEK on it from its first month of usage on
    (prices are never converted: a customer in kronor needs a plan in kronor)."""
    plan, _ = PricingPlan.objects.get_or_create(name=SEK_PLAN, defaults={"currency": "SEK"})
    for metric, unit_price in SEK_PRICES.items():
        Price.objects.update_or_create(
            plan=plan,
            metric=metric,
            effective_from=SEK_PRICES_FROM,
            defaults={"unit_price": unit_price},
        )
    for customer in customers:
        if customer.billing_profile.currency == plan.currency:
            CustomerPlan.objects.get_or_create(
                customer=customer, plan=plan, defaults={"effective_from": SEK_PRICES_FROM}
            )


def seed_accounts() -> list[Customer]:
    _user("admin@example.com", password=ADMIN_PASSWORD, is_staff=True, is_superuser=True)
    customers = []
    for spec in CUSTOMERS:
        fields = {
            key: value
            for key, value in spec.items()
            if key not in {"number", "billing", "login", "login_name", "contacts", "phones"}
        }
        customer, _ = Customer.objects.update_or_create(number=spec["number"], defaults=fields)
        BillingProfile.objects.update_or_create(customer=customer, defaults=spec["billing"])
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


def seed_invoices(customers: list[Customer], today: datetime.date) -> int:
    """Every month of usage invoiced by the monthly invoicing service, on the 1st of the next
    month: paid, except Acme's newest, which carries an SLA credit note; Globex's newest is
    paid automatically by its saved card. Unpaid invoices
    past due are flagged overdue. Returns how many were new."""
    created = 0
    for months_back in range(MONTHS_OF_USAGE, 0, -1):
        month = month_start(today, months_back)
        if timezone.now() < invoicing.grace_ends(month):
            continue  # last month, still in its grace period: the hourly run invoices it
        for customer in customers:
            # An invoice for the month made by an earlier version of this command counts too.
            if Invoice.objects.filter(
                customer=customer, kind=Invoice.Kind.INVOICE, period_start=month
            ).exists():
                continue
            invoice, issued = invoicing.issue_monthly_invoice(
                customer, month, issue_date=month_start(today, months_back - 1), deliver=False
            )
            if issued:
                created += 1
                _settle(invoice, today=today)
    services.flag_overdue_invoices(now=timezone.now())
    return created


def _settle(invoice: Invoice, *, today: datetime.date) -> None:
    """Give a new invoice the history its age calls for: issued on the 1st at 06:00 UTC, then
    paid (by bank, within 3 to 20 days, or automatically on issue), left unpaid or credited."""
    customer, issue_date = invoice.customer, invoice.issue_date
    issued_at = datetime.datetime.combine(issue_date, datetime.time(6), tzinfo=datetime.UTC)
    Invoice.objects.filter(pk=invoice.pk).update(finalized_at=issued_at)
    InvoiceEvent.objects.filter(invoice=invoice).update(created_at=issued_at)

    age_in_months = (today.year - issue_date.year) * 12 + today.month - issue_date.month
    rng = random.Random(f"{customer.number}:{issue_date}:paid")
    if customer.number == "C-10001" and age_in_months == 0:
        services.issue_credit_note(
            invoice=invoice,
            net_amount=Decimal("40.00"),
            reason_code=CreditReason.SERVICE_OUTAGE,
            reason="k8s-prod-eu1 unavailable for 3 hours",
            issue_date=today,
            deliver=False,
        )
    elif customer.number == "C-10001" and age_in_months <= 2:
        return  # left unpaid: overdue once its due date passes
    elif customer.number == "C-10003" and age_in_months == 0:
        return  # Nordlys's newest invoice, in kronor, is left unpaid
    elif customer.number == "C-10002" and age_in_months == 0:
        _paid_automatically(invoice, issued_at=issued_at)
    else:
        received_at = issued_at + datetime.timedelta(days=rng.randint(3, 20), hours=6)
        services.record_bank_payment(
            invoice=invoice,
            amount=invoice.total,
            received_at=received_at,
            reference=f"{customer.name} {invoice.usage_month:%b %Y}",
        )


GLOBEX_CARD = "pm_demo_globex_visa"


def seed_autopay(customers: list[Customer]) -> None:
    """Globex pays by itself: a saved test card (Visa 4242, as Stripe's test card) and auto-pay
    on. Acme pays by hand."""
    globex = next(customer for customer in customers if customer.number == "C-10002")
    BillingProfile.objects.filter(customer=globex).update(
        autopay=True, stripe_customer_id=f"cus_demo_{globex.number}"
    )
    PaymentMethod.objects.update_or_create(
        stripe_id=GLOBEX_CARD,
        defaults={
            "customer": globex,
            "type": PaymentMethod.Type.CARD,
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
            "is_default": True,
        },
    )


def _paid_automatically(invoice: Invoice, *, issued_at: datetime.datetime) -> None:
    """The charge on issue as it happens with Stripe: the attempt, then Stripe's
    payment_intent.succeeded event, booked by the webhook's own handler."""
    charged_at = issued_at + datetime.timedelta(minutes=2)
    attempt = ChargeAttempt.objects.create(
        invoice=invoice,
        number=1,
        status=ChargeAttempt.Status.PROCESSING,
        payment_method=PaymentMethod.objects.get(stripe_id=GLOBEX_CARD),
        amount=invoice.outstanding,
        currency=invoice.currency,
        stripe_payment_intent=f"pi_demo_{invoice.number}",
        attempted_at=charged_at,
    )
    InvoiceEvent.record(
        invoice,
        InvoiceEvent.Kind.AUTOPAY_STARTED,
        at=charged_at,
        attempt=1,
        method=attempt.payment_method.label,
        **money_params(attempt.amount, attempt.currency),
    )
    minor = to_minor_units(attempt.amount, attempt.currency)
    webhooks.handle_stripe_event(
        {
            "id": f"evt_demo_{invoice.number}",
            "type": "payment_intent.succeeded",
            "created": int((charged_at + datetime.timedelta(seconds=5)).timestamp()),
            "data": {
                "object": {
                    "id": attempt.stripe_payment_intent,
                    "object": "payment_intent",
                    "amount": minor,
                    "amount_received": minor,
                    "currency": attempt.currency.lower(),
                    "status": "succeeded",
                    "metadata": {"charge_attempt": str(attempt.pk)},
                }
            },
        }
    )


class Command(BaseCommand):
    help = "Create or refresh the demo customers, logins and their data."

    @transaction.atomic
    def handle(self, *args, **options):
        customers = seed_accounts()
        seed_autopay(customers)
        seed_plans(customers)
        today = services.utc_today()
        senders = seed_senders(customers)
        new_records = seed_usage(customers, today, senders)
        new_invoices = seed_invoices(customers, today)
        names = ", ".join(c.name for c in customers)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {names} ({new_records} new usage records, "
                f"{new_invoices} new invoices)."
            )
        )
        for sender, secret in dict(senders.values()).items():
            if secret:  # shown once, as every new token's secret is
                self.stdout.write(f"Demo sender {sender}: token {secret}")
