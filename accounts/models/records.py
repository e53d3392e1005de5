"""What happened, kept: each change made on the Account pane (AuditEntry), and the mail that
matters whose send failed (UndeliveredMail)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.customers import Customer
from accounts.models.users import User


class AuditEntry(models.Model):
    """One change made on the Account pane: who, when, what it was before and after.

    `before` and `after` hold only the fields that changed (by field name), or the whole
    thing for something added (`before` empty) or removed (`after` empty).
    """

    class Action(models.TextChoices):
        CUSTOMER_CHANGED = "customer_changed", _("Customer info changed")
        SETTINGS_CHANGED = "settings_changed", _("Settings changed")
        CONTACT_ADDED = "contact_added", _("Email address added")
        CONTACT_CHANGED = "contact_changed", _("Email address changed")
        CONTACT_REMOVED = "contact_removed", _("Email address removed")
        CONTACT_CONFIRMED = "contact_confirmed", _("Email address confirmed")
        CONFIRMATION_SENT = "confirmation_sent", _("Confirmation email sent")
        PHONE_ADDED = "phone_added", _("Phone added")
        PHONE_CHANGED = "phone_changed", _("Phone changed")
        PHONE_REMOVED = "phone_removed", _("Phone removed")
        MEMBER_INVITED = "member_invited", _("Member invited")
        INVITATION_REVOKED = "invitation_revoked", _("Invitation revoked")
        MEMBER_JOINED = "member_joined", _("Invitation accepted")
        MEMBER_ROLE_CHANGED = "member_role_changed", _("Member's role changed")
        MEMBER_REMOVED = "member_removed", _("Member removed")
        LANGUAGE_CHANGED = "language_changed", _("Language of the portal changed")
        TAX_CHANGE_REQUESTED = "tax_change_requested", _("Change of country or VAT id requested")
        TAX_CHANGE_WITHDRAWN = "tax_change_withdrawn", _("Change of country or VAT id withdrawn")
        TAX_CHANGE_APPROVED = "tax_change_approved", _("Change of country or VAT id approved")
        TAX_CHANGE_REJECTED = "tax_change_rejected", _("Change of country or VAT id rejected")
        PAYMENT_METHOD_ADDED = "payment_method_added", _("Payment method added")
        PAYMENT_METHOD_DEFAULT = "payment_method_default", _("Default payment method changed")
        PAYMENT_METHOD_REMOVED = "payment_method_removed", _("Payment method removed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the entry must still say who after the login is deleted.
    actor_email = models.EmailField(blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=30, choices=Action)
    subject = models.CharField(max_length=254, blank=True, help_text="What was changed.")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["customer", "-at"], name="audit_customer_recent")]

    def __str__(self):
        return f"{self.get_action_display()}: {self.subject}"


class UndeliveredMail(models.Model):
    """An email that matters whose last send failed: kept, and retried by the sweeps, until it
    goes out (then this row goes) or has failed MAIL_ATTEMPTS times (`gave_up_at`: then staff
    see it as failed in the admin, and retry it there once the cause is fixed).

    The mail itself is not stored: the row that wants it (`kind`, `object_id`) is, with its
    claim field still empty, and the mail is written afresh from it on every try."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice or credit note"
        REMINDER = "reminder", "Overdue reminder"
        RECEIPT = "receipt", "Payment receipt"
        CONFIRMATION = "confirmation", "Address confirmation"
        INVITATION = "invitation", "Team invitation"
        PASSWORD_RESET = "password_reset", "Password reset link"
        CHARGE_FAILED = "charge_failed", "Automatic payment failed"
        CARD_EXPIRING = "card_expiring", "Saved card expiring"

    kind = models.CharField(max_length=20, choices=Kind)
    object_id = models.PositiveBigIntegerField(help_text="The invoice, payment, contact, … id.")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE)
    subject = models.CharField(max_length=254, help_text="What the mail is about.")
    recipients = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_failed_at = models.DateTimeField(default=timezone.now)
    gave_up_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_failed_at"]
        verbose_name_plural = "undelivered mail"
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="one_failure_per_mail")
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.subject}"
