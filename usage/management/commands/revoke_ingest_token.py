"""`manage.py revoke_ingest_token NAME [--prefix bp_live_3f9a]`: revoke a sender's live
tokens, or only the one starting with the prefix (the old one, after a rotation). Its next
batch is answered 401."""

from django.core.management.base import BaseCommand, CommandError

from usage.services import TokenRefused, revoke_ingest_tokens


class Command(BaseCommand):
    help = "Revoke a sender's live tokens (or the one starting with --prefix)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the sender")
        parser.add_argument(
            "--prefix", default="", help="only the token whose secret starts so (bp_live_3f9a)"
        )

    def handle(self, *args, name: str, prefix: str, **options):
        try:
            tokens = revoke_ingest_tokens(name=name, prefix=prefix)
        except TokenRefused as refused:
            raise CommandError(str(refused)) from None
        for token in tokens:
            self.stdout.write(f"Revoked {token.prefix}… of {token.sender}.")
