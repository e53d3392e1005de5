"""Money: what moved in and out of each invoice (Payment) and the customer's credit (CreditEntry).

Both are append-only. Balances are sums of rows: an invoice's amount_paid is its payments less
the refunds and moves to credit taken from them; a customer's credit balance is what came in
less what went out. Every row says where its money came from or went.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import Customer
from billing.models.checkouts import CheckoutSession, StripeEvent
from billing.models.invoices import Invoice
from billing.models.sizes import MONEY
from core.money import ZERO


class Payment(models.Model):
    """One movement of money on an invoice. A refund, or money that a credit note made unneeded
    and that moved on to the customer's credit, is a new row pointing at the payment it takes
    from (`source`)."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"
        TO_CREDIT = "to_credit", "Moved to credit"

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card (Stripe)"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=9, choices=Kind, default=Kind.PAYMENT)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=20, choices=Method)
    source = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        help_text="For a refund or a move to credit: the payment it takes money from.",
    )
    reference = models.CharField(max_length=140, blank=True, help_text="e.g. the bank reference.")
    checkout = models.ForeignKey(
        CheckoutSession, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    stripe_payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_event = models.ForeignKey(
        StripeEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    received_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            # However many events report it, a Stripe payment pays an invoice once.
            models.UniqueConstraint(
                fields=["stripe_payment_intent", "invoice"],
                condition=Q(kind="payment") & ~Q(stripe_payment_intent=""),
                name="one_payment_per_intent_and_invoice",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.amount} {self.currency} for {self.invoice}"


class CreditEntryQuerySet(models.QuerySet):
    def balance(self) -> Decimal:
        """What came in less what went out, over these entries."""
        totals = self.aggregate(
            incoming=Sum("amount", filter=Q(kind__in=CreditEntry.INCOMING)),
            outgoing=Sum("amount", filter=~Q(kind__in=CreditEntry.INCOMING)),
        )
        return (totals["incoming"] or ZERO) - (totals["outgoing"] or ZERO)


class CreditEntry(models.Model):
    """One movement of the customer's credit: money of theirs that we hold."""

    class Kind(models.TextChoices):
        # In: a payment beyond what its invoices still owed when it arrived.
        OVERPAYMENT = "overpayment", "Overpayment"
        # In: money paid on an invoice that a credit note made unneeded.
        FREED = "freed", "Freed by a credit note"
        # In: credit applied to an invoice that a credit note made unneeded.
        UNAPPLIED = "unapplied", "Returned by a credit note"
        # Out: set off against an invoice when it was issued.
        APPLIED = "applied", "Applied to an invoice"
        # Out: paid back to the customer (through Stripe, or by bank by the billing team).
        REFUNDED = "refunded", "Refunded"

    INCOMING = (Kind.OVERPAYMENT, Kind.FREED, Kind.UNAPPLIED)

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_entries")
    kind = models.CharField(max_length=11, choices=Kind)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entries",
        help_text="The invoice the money came from (freed, returned) or went to (applied).",
    )
    credit_note = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment = models.ForeignKey(
        Payment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="For freed money: the move to credit on the invoice.",
    )
    checkout = models.ForeignKey(
        CheckoutSession, on_delete=models.PROTECT, null=True, blank=True, related_name="credits"
    )
    payment_intent = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The Stripe payment the money came from, or went back to.",
    )
    stripe_event = models.ForeignKey(
        StripeEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(max_length=140, blank=True, help_text="e.g. the bank reference.")
    note = models.CharField(max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CreditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        permissions = [("refund_credit", "Can refund customer credit")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_entry_amount_positive")
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.signed_amount} {self.currency} ({self.customer})"

    @property
    def is_incoming(self) -> bool:
        return self.kind in self.INCOMING

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.is_incoming else -self.amount
