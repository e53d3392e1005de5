"""Invoices: their lifecycle, amounts, numbering and the customer details they keep.

An invoice is a draft until it is finalized; from then on its number, lines and total never
change. What is owed on it moves as money arrives or leaves, as credit notes reduce it and as
the customer's credit is applied to it:

    outstanding = total - amount_paid - amount_credited - credit_applied   (never below zero)

Money beyond what an invoice owes never stays on the invoice: it becomes customer credit
(CreditEntry in payments.py). Credit notes are invoices of kind CREDIT_NOTE with negative
amounts that reference the invoice they correct.
"""

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.exceptions import InvalidTransition
from billing.models.choices import CreditReason, VatTreatment
from billing.models.profiles import BillingProfile
from billing.models.sizes import MONEY
from core import dates
from core.money import ZERO


class InvoiceSequence(models.Model):
    """The last invoice number used in a year. Locked while a number is taken: gapless."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


def customer_details(customer: Customer) -> dict:
    """Who an invoice is billed to, as it prints them, and in which language. Kept on the
    invoice when it is issued, so that later changes to the customer's details or language
    never alter an issued invoice."""
    return {
        "name": customer.name,
        "number": customer.number,
        "address": customer.postal_lines,
        "country": customer.country,
        "vat_id": customer.vat_id,
        "reference": customer.invoice_reference,
        "language": customer.billing_profile.invoice_language,
    }


def invoice_pdf_path(invoice: "Invoice", filename: str) -> str:
    return f"invoices/{invoice.customer.number}/{filename}"


class InvoiceQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)

    def issued(self):
        """What a customer may see: everything but drafts."""
        return self.exclude(status=Invoice.Status.DRAFT)

    def invoices(self):
        """Invoices, not credit notes: what every count of invoices counts."""
        return self.filter(kind=Invoice.Kind.INVOICE)

    def credit_notes(self):
        return self.filter(kind=Invoice.Kind.CREDIT_NOTE)

    def unpaid(self):
        """Still owed, overdue included."""
        return self.filter(status__in=Invoice.OPEN_STATUSES)

    def settled(self):
        """Nothing owed any more: paid, or covered by credit notes (the Paid tab)."""
        return self.filter(status__in=Invoice.SETTLED_STATUSES)

    def locked(self):
        """The rows locked FOR UPDATE in primary-key order: the one lock order every workflow
        uses, so that two of them locking the same invoices cannot deadlock. Only the invoice
        rows are locked, never the rows a query joins."""
        return self.select_for_update(of=("self",)).order_by("pk")


# A credit note by amount has one line of its own: this service and unit (in English, as
# stored), shown in the reader's language with the credit note's reason as its description.
CREDIT_SERVICE, CREDIT_UNIT = "Credit", "credit"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        UNPAID = "unpaid", _("Unpaid")
        OVERDUE = "overdue", _("Overdue")
        PAID = "paid", _("Paid")
        CREDITED = "credited", _("Credited")
        VOID = "void", _("Void")

    OPEN_STATUSES = (Status.UNPAID, Status.OVERDUE)
    # Paid: money (a payment, or the customer's credit) went into it. Credited: nothing was paid
    # and credit notes cover it (credit notes themselves, and invoices with nothing to pay).
    SETTLED_STATUSES = (Status.PAID, Status.CREDITED)
    TRANSITIONS = {
        Status.DRAFT: {Status.UNPAID, Status.PAID, Status.CREDITED, Status.VOID},
        Status.UNPAID: {Status.OVERDUE, Status.PAID, Status.CREDITED, Status.VOID},
        Status.OVERDUE: {Status.PAID, Status.CREDITED, Status.VOID},
        # A refund reopens a paid invoice; a credit note can free every cent paid on it.
        Status.PAID: {Status.UNPAID, Status.OVERDUE, Status.CREDITED},
        Status.CREDITED: set(),
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
    reason_code = models.CharField(
        "reason",
        max_length=16,
        choices=CreditReason,
        blank=True,
        help_text="Why a credit note exists, when it is one of the fixed reasons.",
    )
    reason = models.CharField(
        "details",
        max_length=300,
        blank=True,
        help_text="Why a credit note exists, in the words staff typed (printed as typed).",
    )
    bill_to = models.JSONField(
        default=dict, blank=True, editable=False, help_text="The customer's details when issued."
    )

    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    usage_month = models.DateField(
        null=True,
        blank=True,
        help_text="For an invoice of metered usage: the month it bills (its 1st). "
        "Empty for invoices made by hand.",
    )
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")

    subtotal = models.DecimalField(**MONEY, default=ZERO)
    vat_rate = models.DecimalField(
        "VAT rate (%)", max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    vat_treatment = models.CharField(
        "VAT treatment",
        max_length=24,
        choices=VatTreatment,
        blank=True,
        help_text="Why it charges its VAT rate, decided with the rate when the draft is made. "
        "Empty on invoices issued before it was recorded.",
    )
    vat_amount = models.DecimalField("VAT amount", **MONEY, default=ZERO)
    total = models.DecimalField(**MONEY, default=ZERO)
    amount_paid = models.DecimalField(
        **MONEY, default=ZERO, help_text="Payments less refunds and money moved to credit."
    )
    amount_credited = models.DecimalField(
        **MONEY, default=ZERO, help_text="Reduced by credit notes against this invoice."
    )
    credit_applied = models.DecimalField(
        **MONEY, default=ZERO, help_text="Paid from the customer's credit."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(
        null=True, blank=True, help_text="When the money that settled it was received."
    )
    overdue_at = models.DateTimeField(null=True, blank=True)
    deliver = models.BooleanField(
        default=False, help_text="Issued to be emailed (imported invoices are not)."
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    undelivered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="An email about it found no Billing address; cleared once one is sent.",
    )
    # Every change of status or amounts counts up `revision`; the stored PDF says which
    # revision it shows, so a stale copy is never served (billing/delivery.py).
    revision = models.PositiveIntegerField(default=0, editable=False)
    pdf = models.FileField(upload_to=invoice_pdf_path, blank=True)
    pdf_revision = models.PositiveIntegerField(null=True, blank=True, editable=False)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-id"]
        # The workflows staff run from the admin, each its own permission: "change" would let
        # anyone who may fix a draft's typo also void invoices and record money.
        permissions = [
            ("finalize_invoice", "Can finalize invoices"),
            ("void_invoice", "Can void invoices"),
            ("credit_invoice", "Can issue credit notes"),
            ("record_payment", "Can record bank payments"),
            ("send_invoice", "Can resend invoice emails and regenerate PDFs"),
        ]
        indexes = [
            models.Index(
                F("customer"),
                F("issue_date").desc(),
                F("id").desc(),
                name="invoice_customer_newest",
            ),
            # The Unpaid tab: a page of a customer's open invoices, however few among many.
            models.Index(
                F("customer"),
                F("issue_date").desc(),
                F("id").desc(),
                condition=Q(status__in=["unpaid", "overdue"]),
                name="invoice_customer_open_newest",
            ),
            models.Index(fields=["status", "due_date"], name="invoice_status_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0)
                & Q(amount_credited__gte=0)
                & Q(credit_applied__gte=0),
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
            # However often and however many at once monthly invoicing runs, a customer gets
            # one invoice per month of usage (billing/invoicing.py).
            models.UniqueConstraint(
                fields=["customer", "usage_month"],
                condition=Q(usage_month__isnull=False),
                name="one_usage_invoice_per_month",
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
    def is_payable(self) -> bool:
        """Something is owed on it: what Pay Now, Pay selected and Stripe Checkout require."""
        return self.outstanding > 0

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OVERDUE

    @property
    def is_paid(self) -> bool:
        return self.status == self.Status.PAID

    @property
    def is_credited(self) -> bool:
        return self.status == self.Status.CREDITED

    @property
    def is_void(self) -> bool:
        return self.status == self.Status.VOID

    @property
    def is_settled(self) -> bool:
        return self.status in self.SETTLED_STATUSES

    @property
    def reason_text(self) -> str:
        """Why a credit note exists, for its reader: the fixed reason in their language, then
        any words staff typed, as typed ("Driftstopp (SLA-kredit): k8s-prod-eu1 down 3 h")."""
        fixed = str(self.get_reason_code_display()) if self.reason_code else ""
        return ": ".join(part for part in (fixed, self.reason) if part)

    @property
    def billed_to(self) -> dict:
        """The details printed under "Bill to": as issued, or the customer's own for a draft."""
        return self.bill_to or customer_details(self.customer)

    @property
    def language(self) -> str:
        """The language its PDF is written in: the customer's when it was issued (invoices
        issued before languages existed are English)."""
        return self.billed_to.get("language", BillingProfile.Language.ENGLISH)

    @property
    def owed(self) -> Decimal:
        """The total less everything that reduced it; what `outstanding` shows while open."""
        return self.total - self.amount_paid - self.amount_credited - self.credit_applied

    @property
    def outstanding(self) -> Decimal:
        """What is still owed; zero once settled, voided or for a credit note."""
        return max(self.owed, ZERO) if self.is_open else ZERO

    @property
    def credit_value(self) -> Decimal:
        """For a credit note: how much it credits, as a positive amount."""
        return -self.total if self.is_credit_note else ZERO

    @property
    def display_status(self) -> str:
        """The badge a customer sees. An invoice with nothing to pay reads "No charge"."""
        if self.status == self.Status.CREDITED and not (
            self.is_credit_note or self.amount_credited
        ):
            return "no_charge"
        return self.status

    @property
    def period_label(self) -> str:
        """ "1 Oct 2026 – 31 Oct 2026" ("1 oktober 2026 – 31 oktober 2026" in Swedish), or ""
        for an invoice without a billing period."""
        if not (self.period_start and self.period_end):
            return ""
        return f"{date_format(self.period_start)} – {date_format(self.period_end)}"

    @property
    def paid_on(self) -> datetime.date | None:
        """The customer's date when the money that settled it arrived."""
        return self.local_date(self.paid_at) if self.paid_at else None

    def local_date(self, at: datetime.datetime) -> datetime.date:
        """`at` as a date in the customer's time zone, where due and overdue are decided."""
        return dates.local_date(at, self.customer.timezone)

    def transition_to(self, status: str) -> None:
        """Move to `status` if the lifecycle allows it; the caller saves."""
        if status not in self.TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"{self} cannot go from {self.get_status_display()} to {self.Status(status).label}."
            )
        self.status = status

    def update_status(self, *, at: datetime.datetime, today: datetime.date) -> str | None:
        """Bring the status in line with the amounts after money or credit moved; the caller
        saves. Nothing owed: Paid if money went into it, else Credited. Owed again (after a
        refund): Unpaid, or Overdue when `today` (the customer's date) is past the due date.
        `at` is when the money that settled it was received. Returns the new status, if any."""
        if self.status in {self.Status.DRAFT, self.Status.VOID} or self.is_credit_note:
            return None
        if self.owed <= 0:
            received = self.amount_paid > 0 or self.credit_applied > 0
            status = self.Status.PAID if received else self.Status.CREDITED
        elif self.is_open:
            return None
        else:
            status = self.Status.OVERDUE if self.due_date < today else self.Status.UNPAID
        if status == self.status:
            return None
        self.transition_to(status)
        self.paid_at = at if status == self.Status.PAID else None
        if status == self.Status.OVERDUE and self.overdue_at is None:
            self.overdue_at = at
        return status
