"""Who may log in (User), the billing accounts they act for (Customer, through Membership, or
on the way there, Invitation), where a customer wants its mail to go (Contact, Phone), what
was changed on the Account pane (AuditEntry), and the changes of country or VAT id that wait
for the provider's staff (TaxChange)."""

import datetime
import zoneinfo

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

# How long the links we mail stay valid: a contact's confirmation, a team invitation.
CONFIRMATION_VALIDITY = datetime.timedelta(hours=72)
INVITATION_VALIDITY = datetime.timedelta(days=7)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        # People type their address in any case; it is stored lower-cased.
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address. Staff run the admin; others act for customers."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    language = models.CharField(
        _("language of the portal"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text="The language the portal's pages speak to this person.",
    )
    is_staff = models.BooleanField(default=False, help_text="Can log in to the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


def validate_timezone(value: str) -> None:
    # Not a choices list: the tz database differs between machines and would churn migrations.
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Stockholm.")


class Customer(models.Model):
    """A billing account: the company that receives invoices and pays them."""

    class Currency(models.TextChoices):
        EUR = "EUR", "Euro"

    class Delivery(models.TextChoices):
        ATTACHMENT = "attachment", _("PDF attached to the email")
        LINK = "link", _("A link to the portal only")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        SWEDISH = "sv", _("Swedish")

    name = models.CharField(max_length=200)
    number = models.CharField(
        _("customer number"),
        max_length=20,
        unique=True,
        help_text="Shown on invoices, e.g. C-10001.",
    )
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, help_text="ISO 3166 code, e.g. SE.")
    vat_id = models.CharField(_("VAT id"), max_length=30, blank=True)
    invoice_reference = models.CharField(
        _("invoice reference"),
        max_length=100,
        blank=True,
        help_text=_("Your purchase-order number or reference, printed on your invoices."),
    )
    currency = models.CharField(max_length=3, choices=Currency, default=Currency.EUR)
    payment_terms_days = models.PositiveSmallIntegerField(
        "payment terms (days)", default=30, help_text="Days from issue date to due date."
    )
    timezone = models.CharField(
        "time zone",
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="Dates in the portal are shown in this zone, e.g. Europe/Stockholm.",
    )
    stripe_customer_id = models.CharField("Stripe customer id", max_length=255, blank=True)
    invoice_delivery = models.CharField(
        _("invoice delivery"),
        max_length=10,
        choices=Delivery,
        default=Delivery.ATTACHMENT,
        help_text="How invoices arrive.",
    )
    send_payment_receipts = models.BooleanField(
        _("payment receipts"), default=True, help_text=_("Email a receipt when a payment arrives.")
    )
    invoice_language = models.CharField(
        _("language of invoices"),
        max_length=2,
        choices=Language,
        default=Language.ENGLISH,
        help_text=_("The language of invoice emails and PDFs."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.number})"

    @property
    def postal_lines(self) -> list[str]:
        """Street, second line, postal code and city: the address without its country."""
        place = " ".join(part for part in (self.postal_code, self.city) if part)
        return [line for line in (self.address_line1, self.address_line2, place) if line]

    @property
    def address_lines(self) -> list[str]:
        """The postal address as printed, one line each, the country by its name."""
        return (
            [*self.postal_lines, countries.name(self.country)]
            if self.country
            else self.postal_lines
        )


class Membership(models.Model):
    """A user's seat on a customer account; the role decides what they may change."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        BILLING = "billing", _("Billing")
        VIEWER = "viewer", _("Viewer")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "customer"], name="one_membership_per_customer")
        ]

    def __str__(self):
        return f"{self.user} is {self.get_role_display()} of {self.customer.name}"

    @property
    def can_manage_billing(self) -> bool:
        """Owners and billing members pay invoices and choose who receives them; viewers read."""
        return self.role in {self.Role.OWNER, self.Role.BILLING}

    @property
    def is_owner(self) -> bool:
        """Owners also edit the customer's details and settings, and manage the team."""
        return self.role == self.Role.OWNER


class ContactQuerySet(models.QuerySet):
    def confirmed(self):
        return self.exclude(confirmed_at=None)

    def confirmation_owed(self):
        """Pending addresses whose latest confirmation has not been mailed yet."""
        return self.filter(confirmed_at=None).filter(
            models.Q(confirmation_mailed_at=None)
            | models.Q(confirmation_mailed_at__lt=models.F("confirmation_sent_at")),
            confirmation_sent_at__isnull=False,
        )


class Contact(models.Model):
    """An email address of the customer's, with the kinds of mail it should receive.

    A new or changed address is *pending* until someone opens the confirmation link mailed to
    it; a pending address receives nothing.
    """

    ROLES = {"billing": "is_billing", "tech": "is_tech", "dpo": "is_dpo"}
    ROLE_LABELS = {"billing": _("Billing"), "tech": _("Tech"), "dpo": _("DPO")}

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(_("email address"))
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_billing = models.BooleanField(_("Billing"), default=False, help_text=_("Receives invoices."))
    is_tech = models.BooleanField(
        _("Tech"), default=False, help_text=_("Receives technical notices.")
    )
    is_dpo = models.BooleanField(_("DPO"), default=False, help_text=_("Data protection officer."))
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # When a confirmation was last asked for (adding or changing the address, Resend), and
    # when a worker last mailed one: a confirmation is owed while the first is the later.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmation_mailed_at = models.DateTimeField(null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "customer",
                name="contact_email_unique_per_customer",
                violation_error_message=_("This email address is already a contact."),
            )
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.email.strip().lower()
        if not self.roles:
            raise ValidationError(_("Give the contact at least one role: Billing, Tech or DPO."))

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def roles(self) -> list[str]:
        """The roles the address holds, by their URL names: ["billing", "dpo"]."""
        return [role for role, field in self.ROLES.items() if getattr(self, field)]

    def give_every_role(self) -> None:
        for field in self.ROLES.values():
            setattr(self, field, True)


class Phone(models.Model):
    """A phone number of the customer's, stored in E.164 (+46812345600)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("number"), max_length=20, help_text="In E.164, e.g. +46812345600.")
    label = models.CharField(
        _("label"), max_length=60, blank=True, help_text=_("e.g. Office, On call.")
    )

    class Meta:
        ordering = ["label", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "number"],
                name="phone_number_unique_per_customer",
                violation_error_message=_("This number is already on the list."),
            )
        ]

    def __str__(self):
        return f"{self.label}: {self.number}" if self.label else self.number

    @property
    def display(self) -> str:
        """The number as people read it: +46 8 123 456 00."""
        try:
            parsed = phonenumbers.parse(self.number)
        except phonenumbers.NumberParseException:
            return self.number
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class Invitation(models.Model):
    """An owner's invitation to join a customer with a role: accepted at most once, through a
    link signed when it was sent and valid for INVITATION_VALIDITY."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(
        _("role"), max_length=10, choices=Membership.Role, default=Membership.Role.VIEWER
    )
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When its link was mailed.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "customer",
                condition=models.Q(accepted_at=None),
                name="one_open_invitation_per_email",
                violation_error_message=_("This address already has an open invitation."),
            )
        ]

    def __str__(self):
        return f"{self.email} invited to {self.customer.name} as {self.get_role_display()}"

    @property
    def expires_at(self):
        return self.created_at + INVITATION_VALIDITY

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at


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


class TaxChangeQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=TaxChange.Status.PENDING)


class TaxChange(models.Model):
    """A customer's request to change its country or VAT id, which decide the VAT on its
    invoices. `Customer.country` and `Customer.vat_id` keep the confirmed values until staff
    approve the request (accounts/services.py); otherwise an owner could choose their own VAT
    rate. `confirmed_*` are the values in force when it was asked for."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tax_changes")
    country = models.CharField(_("country"), max_length=2)
    vat_id = models.CharField(_("VAT id"), max_length=30, blank=True)
    confirmed_country = models.CharField("country before", max_length=2)
    confirmed_vat_id = models.CharField("VAT id before", max_length=30, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = TaxChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [("review_taxchange", "Can approve or reject changes of country or VAT id")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(status="pending"),
                name="one_pending_tax_change_per_customer",
            )
        ]

    def __str__(self):
        return f"{self.customer.name}: {self.country} {self.vat_id}".rstrip()

    @property
    def requested(self) -> dict:
        return {"country": self.country, "vat_id": self.vat_id}


class PasswordResetRequest(models.Model):
    """One request for a password reset link, kept for the throttle's window. `email` is what
    was typed, lower-cased, and may belong to no user: unknown addresses count the same.
    `sent_at`: when a worker handled it (mailed the link, or found no login to mail it to)."""

    email = models.EmailField()
    ip_address = models.GenericIPAddressField(null=True)
    requested_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["email", "requested_at"]),
            models.Index(fields=["ip_address", "requested_at"]),
            models.Index(fields=["requested_at"]),
        ]

    def __str__(self):
        return f"{self.email} from {self.ip_address} at {self.requested_at:%Y-%m-%d %H:%M}"


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
