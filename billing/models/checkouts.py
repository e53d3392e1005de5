"""Paying on Stripe's hosted Checkout page, and the Stripe webhook events we acted on."""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Customer
from billing.models.invoices import Invoice
from billing.models.sizes import MONEY


class CheckoutSession(models.Model):
    """One attempt to pay one or more invoices on Stripe's hosted Checkout page."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PROCESSING = "processing", "Payment processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        NEEDS_REVIEW = "needs_review", "Needs review"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="checkouts")
    invoices = models.ManyToManyField(Invoice, through="CheckoutItem", related_name="checkouts")
    stripe_id = models.CharField("Stripe session id", max_length=255, unique=True)
    url = models.URLField(max_length=2000)
    status = models.CharField(max_length=12, choices=Status, default=Status.OPEN)
    amount_total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    attempt = models.PositiveIntegerField(help_text="Counts the attempts for the same invoices.")
    idempotency_key = models.CharField(max_length=255, unique=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    receipt_wanted = models.BooleanField(
        default=True,
        help_text="The customer's receipts setting when the payment arrived: no receipt if off.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.stripe_id

    def is_reusable(self, *, now: datetime.datetime) -> bool:
        """Still open on Stripe's side for long enough to finish paying there."""
        return self.status == self.Status.OPEN and self.expires_at > now + datetime.timedelta(
            minutes=5
        )


class CheckoutItem(models.Model):
    """How much of a checkout pays which invoice (the outstanding amount when it started)."""

    checkout = models.ForeignKey(CheckoutSession, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="checkout_items")
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["invoice__issue_date", "invoice_id"]
        constraints = [
            models.UniqueConstraint(fields=["checkout", "invoice"], name="one_item_per_invoice")
        ]

    def __str__(self):
        return f"{self.amount} for {self.invoice}"


class StripeEvent(models.Model):
    """Every Stripe webhook event we acted on, stored by its id before acting: a redelivery
    finds its id taken and changes nothing."""

    stripe_id = models.CharField("Stripe event id", max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=500, blank=True)
    needs_attention = models.BooleanField(default=False, db_index=True)
    deferred = models.BooleanField(
        default=False,
        db_index=True,
        help_text="A refund that arrived before its payment was recorded: applied once it is.",
    )

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.stripe_id}"
