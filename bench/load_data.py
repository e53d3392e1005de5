"""The load test's data, made in the database DATABASE_URL names (run by bench/load.py as
`python -m bench.load_data OUT.json` in a process of its own): migrations, the demo data, and
a second customer with 10,000 invoices; the PDFs the users will download are stored first.
Writes to OUT.json who logs in and which invoice numbers each may open.
"""

import io
import json
import os
import random
import sys
from pathlib import Path

import django

BIG_CUSTOMER_INVOICES = 10_000
STORED_PDFS = 12  # per customer: the newest, which customers download most
SHEETS = 200  # invoice numbers per customer the users open
BIG_LOGIN = ("big@example.com", "big-cloud-load-1234")


def main(out: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.core.management import call_command

    from accounts.models import Customer, Membership, User
    from bench.invoices import FIRST_ISSUE, customer_with_history
    from bench.measure import analyze
    from billing import delivery, services
    from billing.models import Invoice
    from portal.management.commands.seed_demo import DEMO_PASSWORD

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    big = customer_with_history(
        "C-90001", "Big Cloud AB", BIG_CUSTOMER_INVOICES, FIRST_ISSUE, services.utc_today()
    )
    email, password = BIG_LOGIN
    user = User.objects.create_user(email, password)
    Membership.objects.create(user=user, customer=big, role=Membership.Role.OWNER)
    analyze()

    customers = {
        "demo@example.com": (Customer.objects.get(number="C-10001"), DEMO_PASSWORD),
        email: (big, password),
    }
    logins = []
    for login, (customer, secret) in customers.items():
        invoices = Invoice.objects.filter(customer=customer).exclude(number=None)
        newest = invoices.order_by("-issue_date", "-number")[:STORED_PDFS]
        for invoice in newest:
            delivery.store_invoice_pdf(invoice=invoice)
        numbers = list(invoices.values_list("number", flat=True))
        logins.append(
            {
                "email": login,
                "password": secret,
                "pages": -(-len(numbers) // 25),
                "sheets": random.Random(login).sample(numbers, min(SHEETS, len(numbers))),
                "pdfs": [invoice.number for invoice in newest],
            }
        )
    out.write_text(json.dumps(logins))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
