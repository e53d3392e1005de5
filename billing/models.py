"""Invoices, their lines, payments and timeline.

An invoice is a draft until it is finalized; from then on its number, lines and amounts never
change. Corrections are credit notes (kind CREDIT_NOTE, negative amounts) that reference the
invoice they correct and reduce what is owed on it.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Customer
from billing.money import ZERO, line_amount

MONEY = {"max_digits": 12, "decimal_places": 2}


class InvalidTransition(Exception):
    """A status change the invoice's lifecycle does not allow."""


class ImmutableInvoice(Exception):
    """An attempt to change the lines or amounts of a finalized invoice."""


class InvoiceSequence(models.Model):
    """The last invoice number used in a year. Locked while a number is taken: gapless."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


def invoice_pdf_path(invoice: "Invoice", filename: str) -> str:
    return f"invoices/{invoice.customer.number}/{filename}"


class InvoiceQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)

    def issued(self):
        """What a customer may see: everything but drafts."""
        return self.exclude(status=Invoice.Status.DRAFT)

    def unpaid(self):
        """Still owed, overdue included."""
        return self.filter(status__in=Invoice.OPEN_STATUSES)

    def paid(self):
        return self.filter(status=Invoice.Status.PAID)

    def past_due(self, today: datetime.date):
        """Unpaid invoices whose due date has passed, not yet flagged overdue."""
        return self.filter(status=Invoice.Status.UNPAID, due_date__lt=today)


class Invoice(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        UNPAID = "unpaid", "Unpaid"
        OVERDUE = "overdue", "Overdue"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    OPEN_STATUSES = (Status.UNPAID, Status.OVERDUE)
    # The lifecycle. Finalizing leaves DRAFT; paying, crediting, overdue flagging and voiding
    # move on from there. A credit note is settled (PAID) the moment it is issued. A refund
    # reopens a paid invoice.
    TRANSITIONS = {
        Status.DRAFT: {Status.UNPAID, Status.PAID, Status.VOID},
        Status.UNPAID: {Status.OVERDUE, Status.PAID, Status.VOID},
        Status.OVERDUE: {Status.PAID, Status.VOID},
        Status.PAID: {Status.UNPAID, Status.OVERDUE},
        Status.VOID: set(),
    }

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    kind = models.CharField(max_length=12, choices=Kind, default=Kind.INVOICE)
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        help_text="For a credit note: the invoice it corrects.",
    )
    reason = models.CharField(max_length=300, blank=True, help_text="Why a credit note exists.")

    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")

    subtotal = models.DecimalField(**MONEY, default=ZERO)
    vat_rate = models.DecimalField(
        "VAT rate (%)", max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    vat_amount = models.DecimalField("VAT amount", **MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    amount_credited = models.DecimalField(
        **MONEY, default=ZERO, help_text="Reduced by credit notes against this invoice."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    pdf = models.FileField(upload_to=invoice_pdf_path, blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [
            # Holds every column the cards and tab counts read: they never touch the table.
            models.Index(
                fields=["customer", "status", "total", "amount_paid", "amount_credited"],
                name="invoice_customer_money",
            ),
            models.Index(
                F("customer"),
                F("issue_date").desc(),
                F("id").desc(),
                name="invoice_customer_newest",
            ),
            models.Index(fields=["status", "due_date"], name="invoice_status_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_credited__gte=0),
                name="invoice_payments_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False),
                name="invoice_finalized_has_number",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", total__gte=0)
                | Q(kind="credit_note", total__lte=0, credited_invoice__isnull=False),
                name="invoice_sign_matches_kind",
            ),
        ]

    def __str__(self):
        return self.number or f"Draft #{self.pk}"

    @property
    def title(self) -> str:
        return f"{self.get_kind_display()} {self}"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def is_open(self) -> bool:
        """Still owed: unpaid or overdue."""
        return self.status in self.OPEN_STATUSES

    @property
    def outstanding(self) -> Decimal:
        """What is still owed: total less payments and credits; never below zero."""
        if not self.is_open:
            return ZERO
        return max(self.total - self.amount_paid - self.amount_credited, ZERO)

    @property
    def credit_value(self) -> Decimal:
        """For a credit note: how much it credits, as a positive amount."""
        return -self.total if self.is_credit_note else ZERO

    @property
    def display_status(self) -> str:
        """The badge a customer sees; a credit note reads "Credited" rather than "Paid"."""
        if self.is_credit_note and self.status == self.Status.PAID:
            return "credited"
        return self.status

    def transition_to(self, status: str) -> None:
        """Move to `status` if the lifecycle allows it; the caller saves."""
        if status not in self.TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"{self} cannot go from {self.get_status_display()} to {self.Status(status).label}."
            )
        self.status = status

    def settle_if_covered(self, *, at: datetime.datetime) -> bool:
        """Mark paid once payments and credits cover the total. True if it just became paid."""
        if self.is_open and self.amount_paid + self.amount_credited >= self.total:
            self.transition_to(self.Status.PAID)
            self.paid_at = at
            return True
        return False

    def reopen_if_owed(self, *, today: datetime.date) -> bool:
        """After a refund: a paid invoice that is owed again is unpaid, or overdue if past due."""
        if self.status == self.Status.PAID and self.amount_paid + self.amount_credited < self.total:
            past_due = self.due_date is not None and self.due_date < today
            self.transition_to(self.Status.OVERDUE if past_due else self.Status.UNPAID)
            self.paid_at = None
            return True
        return False


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    service = models.CharField(
        max_length=120, help_text="The customer's cloud service, e.g. k8s-prod-eu1."
    )
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=16, decimal_places=4)
    unit = models.CharField(max_length=20, help_text="e.g. vCPU-h, GB-h, GB.")
    unit_price = models.DecimalField(max_digits=14, decimal_places=6)
    amount = models.DecimalField(**MONEY, editable=False, help_text="Quantity × unit price.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.service}: {self.description}"

    def save(self, *args, **kwargs):
        if self.invoice.status != Invoice.Status.DRAFT:
            raise ImmutableInvoice(f"{self.invoice} is finalized; issue a credit note instead.")
        self.amount = line_amount(self.quantity, self.unit_price)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.invoice.status != Invoice.Status.DRAFT:
            raise ImmutableInvoice(f"{self.invoice} is finalized; issue a credit note instead.")
        return super().delete(*args, **kwargs)


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

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.stripe_id}"


class Payment(models.Model):
    """One movement of money for an invoice, in or out. Append-only: a refund is a new row.
    The invoice's amount_paid is the sum of its payments less its refunds."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card (Stripe)"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=8, choices=Kind, default=Kind.PAYMENT)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=20, choices=Method)
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


class CustomerCredit(models.Model):
    """Money of the customer's that we hold: an overpayment, to refund or set off later."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credits")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300)
    checkout = models.ForeignKey(
        CheckoutSession, on_delete=models.PROTECT, null=True, blank=True, related_name="credits"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_amount_positive")
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} for {self.customer}"


class InvoiceEvent(models.Model):
    """The invoice's timeline and audit trail: what happened, when, and who did it."""

    class Kind(models.TextChoices):
        FINALIZED = "finalized", "Issued"
        PDF_RENDERED = "pdf_rendered", "PDF created"
        EMAILED = "emailed", "Emailed"
        NOT_EMAILED = "not_emailed", "Not emailed"
        MARKED_OVERDUE = "marked_overdue", "Marked overdue"
        REMINDER_SENT = "reminder_sent", "Reminder sent"
        CHECKOUT_STARTED = "checkout_started", "Online payment started"
        PAYMENT_PROCESSING = "payment_processing", "Payment processing"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PAYMENT_RECEIVED = "payment_received", "Payment received"
        PAYMENT_MISMATCH = "payment_mismatch", "Payment needs review"
        REFUNDED = "refunded", "Refunded"
        CREDITED = "credited", "Credit note issued"
        PAID = "paid", "Paid"
        VOIDED = "voided", "Voided"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind)
    message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.invoice}: {self.get_kind_display()}"
