"""Load the demo data DESIGN.md promises. Idempotent and deterministic: run it any time."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Contact, Customer, Membership, Phone, User

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
        "phones": [("Office", "+46 8 123 456 00"), ("On call", "+46 70 123 45 67")],
    },
    {
        "number": "C-10002",
        "name": "Globex Corporation",
        "address_line1": "Friedrichstraße 100",
        "postal_code": "10117",
        "city": "Berlin",
        "country": "DE",
        "vat_id": "DE123456789",
        "payment_terms_days": 14,
        "timezone": "Europe/Berlin",
        "login": "other@example.com",
        "login_name": "Otto Other",
        "contacts": [
            ("billing@globex.example", "Globex Billing", {"is_billing": True, "is_tech": True}),
        ],
        "phones": [("Office", "+49 30 1234 5678")],
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
            )
        for label, number in spec["phones"]:
            Phone.objects.update_or_create(
                customer=customer, label=label, defaults={"number": number}
            )
        customers.append(customer)
    return customers


class Command(BaseCommand):
    help = "Create or refresh the demo customers, logins and their data."

    @transaction.atomic
    def handle(self, *args, **options):
        customers = seed_accounts()
        names = ", ".join(c.name for c in customers)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {names}."))
