"""Paying by itself: the customer's saved payment methods (PaymentMethod, kept at Stripe; we
hold only what the pane shows) and each automatic charge of an invoice (ChargeAttempt: the
first on issue, then the dunning retries)."""

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.models.invoices import Invoice
from billing.models.sizes import MONEY


class PaymentMethod(models.Model):
    """A card or SEPA Direct Debit mandate saved at Stripe through a setup Checkout. No card
    data is here: Stripe's id, and the brand, last four digits and expiry it reports."""

    class Type(models.TextChoices):
        CARD = "card", _("Card")
        SEPA_DEBIT = "sepa_debit", _("SEPA Direct Debit")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    stripe_id = models.CharField("Stripe payment method id", max_length=255, unique=True)
    type = models.CharField(max_length=10, choices=Type)
    brand = models.CharField(max_length=40, blank=True, help_text="visa, mastercard, … or bank.")
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expiry_notice_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the Billing contacts were told it expires soon."
    )

    class Meta:
        ordering = ["-is_default", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_default=True), name="one_default_method"
            )
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        """ "Visa •••• 4242" or "SEPA Direct Debit •••• 3000"."""
        name = self.brand.title() if self.type == self.Type.CARD else self.get_type_display()
        return f"{name} •••• {self.last4}"

    @property
    def expires_on(self) -> datetime.date | None:
        """The last day it can be charged: the end of its expiry month (cards only)."""
        if not (self.exp_month and self.exp_year):
            return None
        first_of_next = datetime.date(
            self.exp_year + self.exp_month // 12, self.exp_month % 12 + 1, 1
        )
        return first_of_next - datetime.timedelta(days=1)

    @property
    def expiry_label(self) -> str:
        """ "expires 12/2028", or "" for a mandate."""
        if not self.expires_on:
            return ""
        return gettext("expires %(month)02d/%(year)s") % {
            "month": self.exp_month,
            "year": self.exp_year,
        }


class ChargeAttemptQuerySet(models.QuerySet):
    def due(self, now: datetime.datetime):
        return self.filter(status=ChargeAttempt.Status.SCHEDULED, scheduled_for__lte=now)

    def needing_attention(self):
        """The last retry failed and the invoice is still owed: staff follow it up."""
        return self.filter(needs_attention=True, invoice__status__in=Invoice.OPEN_STATUSES)


class ChargeAttempt(models.Model):
    """One off-session charge of an invoice's saved method: attempt 1 when it is issued, then
    one per day of DUNNING_RETRY_DAYS after a decline. Its idempotency key (invoice and
    attempt) makes Stripe answer a repeated request with the same payment."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CHARGING = "charging", _("Charging")  # claimed by a worker, asking Stripe
        PROCESSING = "processing", _("Payment processing")  # Stripe took it; its webhook decides
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        NEEDS_ACTION = "needs_action", _("Needs the customer's authentication")
        CANCELLED = "cancelled", _("Cancelled")

    class Stopped(models.TextChoices):
        PAID = "paid", _("Paid by other means")
        AUTOPAY_OFF = "autopay_off", _("Auto-pay turned off")
        NO_METHOD = "no_method", _("No saved payment method")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="charge_attempts")
    number = models.PositiveSmallIntegerField(help_text="1 on issue, then each retry.")
    status = models.CharField(max_length=12, choices=Status, default=Status.SCHEDULED)
    scheduled_for = models.DateTimeField(default=timezone.now, db_index=True)
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    stripe_payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    failure_code = models.CharField(max_length=60, blank=True)
    stopped = models.CharField(max_length=12, choices=Stopped, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the Billing contacts were told it failed."
    )
    needs_attention = models.BooleanField(
        default=False, help_text="The last retry failed: the invoice waits for manual payment."
    )

    objects = ChargeAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["invoice", "number"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="one_attempt_per_number")
        ]

    def __str__(self):
        return f"{self.invoice} automatic payment {self.number}"

    @property
    def idempotency_key(self) -> str:
        return f"autopay-{self.invoice.number}-{self.number}"
