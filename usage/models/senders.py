"""Who sends usage: senders, their tokens, and what each sent day by day.

A sender is one of the cloud's collectors ("collector-eu1"), with its own tokens; or the
environment's USAGE_INGEST_TOKEN (the sender "environment", for every customer); or the import
command and the demo (the sender "import"). Every stored record names its sender.

A token's secret is shown once, when it is made; only its SHA-256 digest is stored, and the
first characters (`bp_live_3f9a`) to recognise it by. A sender may hold two live tokens at
once, so that a secret is rotated without a gap: make the new one, move the collector, revoke
the old one.
"""

import datetime
import hashlib
import hmac
import secrets

from django.db import connection, models
from django.utils import timezone

from accounts.models import Customer

SECRET_PREFIX = "bp_live_"
SHOWN_LENGTH = len(SECRET_PREFIX) + 4  # bp_live_3f9a
LIVE_TOKENS_MAX = 2
FIRST_ERROR_LENGTH = 500


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(24)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Sender(models.Model):
    ENVIRONMENT = "environment"
    IMPORT = "import"

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def named(cls, name: str) -> "Sender":
        sender, _ = cls.objects.get_or_create(name=name)
        return sender


class IngestTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at=None)

    def revoke(self) -> int:
        """Revoke the live ones: their next batch is answered 401. Returns how many."""
        return self.live().update(revoked_at=timezone.now())

    def for_secret(self, secret: str) -> "IngestToken | None":
        """The live token whose secret this is, with its sender, or None."""
        wanted = digest(secret)
        token = self.live().select_related("sender").filter(digest=wanted).first()
        # The index lookup compares digests, never the secret itself; the comparison here is
        # in constant time all the same, as every comparison of credentials is.
        if token is None or not hmac.compare_digest(token.digest, wanted):
            return None
        return token


class IngestToken(models.Model):
    """A sender's bearer token for POST /api/v1/usage/. `customers` empty: it may send usage
    for every customer; else for those only (a record for another is refused, 403)."""

    sender = models.ForeignKey(Sender, on_delete=models.PROTECT, related_name="tokens")
    prefix = models.CharField(max_length=SHOWN_LENGTH, help_text="The secret's first characters.")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the secret.")
    customers = models.ManyToManyField(
        Customer,
        blank=True,
        related_name="+",
        help_text="The customers it may send usage for; none: every customer.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = IngestTokenQuerySet.as_manager()

    class Meta:
        ordering = ["sender", "-created_at"]

    def __str__(self):
        return f"{self.sender} {self.prefix}…"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


# One statement a batch, whoever else counts at the same time (PostgreSQL and SQLite alike).
COUNT_BATCH = """
INSERT INTO usage_senderday
    (sender_id, day, batches, records, duplicates, rejected_batches, first_error, last_batch_at)
VALUES (%s, %s, 1, %s, %s, %s, %s, %s)
ON CONFLICT (sender_id, day) DO UPDATE SET
    batches = usage_senderday.batches + 1,
    records = usage_senderday.records + excluded.records,
    duplicates = usage_senderday.duplicates + excluded.duplicates,
    rejected_batches = usage_senderday.rejected_batches + excluded.rejected_batches,
    first_error = CASE WHEN usage_senderday.first_error = ''
        THEN excluded.first_error ELSE usage_senderday.first_error END,
    last_batch_at = excluded.last_batch_at
"""


class SenderDay(models.Model):
    """What a sender sent on one UTC day: batches, records stored and duplicates, batches
    refused and the first refusal's reason. Staff read it to see a collector that stopped
    sending or went wrong."""

    sender = models.ForeignKey(Sender, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    batches = models.PositiveIntegerField(default=0)
    records = models.PositiveBigIntegerField(default=0, help_text="Records stored (new ones).")
    duplicates = models.PositiveBigIntegerField(default=0)
    rejected_batches = models.PositiveIntegerField(default=0)
    first_error = models.CharField(max_length=FIRST_ERROR_LENGTH, blank=True)
    last_batch_at = models.DateTimeField()

    class Meta:
        ordering = ["-day", "sender"]
        constraints = [
            models.UniqueConstraint(fields=["sender", "day"], name="one_sender_day"),
        ]

    def __str__(self):
        return f"{self.sender} {self.day}"

    @staticmethod
    def count_batch(
        sender_id: int, *, records: int = 0, duplicates: int = 0, error: str = ""
    ) -> None:
        """Count one batch on its sender's day: stored (records, duplicates) or refused
        (`error`, kept if it is the day's first)."""
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                COUNT_BATCH,
                [
                    sender_id,
                    now.astimezone(datetime.UTC).date(),
                    records,
                    duplicates,
                    1 if error else 0,
                    error[:FIRST_ERROR_LENGTH],
                    now,
                ],
            )
