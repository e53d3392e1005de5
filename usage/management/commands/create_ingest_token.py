"""`manage.py create_ingest_token NAME [--customer NUMBER ...]`: a new token for a sender of
usage (a collector), for those customers only or, without --customer, for every customer. The
secret is printed once, alone on the last line; only its digest is stored."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from usage.services import TokenRefused, create_ingest_token


class Command(BaseCommand):
    help = "Make a token for a sender of usage and print its secret (on the last line)."

    def add_arguments(self, parser):
        parser.add_argument("name", help='the sender, e.g. "collector-eu1"')
        parser.add_argument(
            "--customer",
            action="append",
            default=[],
            metavar="NUMBER",
            help="a customer it may send usage for (repeat for more; none: every customer)",
        )

    def handle(self, *args, name: str, customer: list[str], **options):
        numbers = sorted(set(customer))
        customers = list(Customer.objects.filter(number__in=numbers).order_by("number"))
        if unknown := sorted(set(numbers) - {c.number for c in customers}):
            raise CommandError(f"No customer {', '.join(unknown)}.")
        try:
            token, secret = create_ingest_token(name=name, customers=customers)
        except TokenRefused as refused:
            raise CommandError(str(refused)) from None
        scope = ", ".join(numbers) or "every customer"
        self.stdout.write(f"Token {token.prefix}… for {token.sender} ({scope}).")
        self.stdout.write("Keep the secret now: it is not stored and not shown again.")
        self.stdout.write(secret)
