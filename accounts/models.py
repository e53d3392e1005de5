"""Who may log in (User), the billing accounts they act for (Customer, through Membership),
and where a customer wants its mail to go (Contact, Phone)."""

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
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

    name = models.CharField(max_length=200)
    number = models.CharField(
        "customer number", max_length=20, unique=True, help_text="Shown on invoices, e.g. C-10001."
    )
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166 code, e.g. SE.")
    vat_id = models.CharField("VAT id", max_length=30, blank=True)
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.number})"

    @property
    def address_lines(self) -> list[str]:
        """The postal address as printed on an invoice, one line each, blanks skipped."""
        place = " ".join(part for part in (self.postal_code, self.city) if part)
        lines = [self.address_line1, self.address_line2, place, self.country]
        return [line for line in lines if line]


class Membership(models.Model):
    """A user's seat on a customer account; the role decides what they may change."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        BILLING = "billing", "Billing"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role, default=Role.VIEWER)
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


class Contact(models.Model):
    """An email address of the customer's, with the kinds of mail it should receive."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField()
    name = models.CharField(max_length=150, blank=True)
    is_billing = models.BooleanField("Billing", default=False, help_text="Receives invoices.")
    is_tech = models.BooleanField("Tech", default=False, help_text="Receives technical notices.")
    is_dpo = models.BooleanField("DPO", default=False, help_text="Data protection officer.")

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "customer",
                name="contact_email_unique_per_customer",
                violation_error_message="This email address is already a contact.",
            )
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.email.strip().lower()
        if not (self.is_billing or self.is_tech or self.is_dpo):
            raise ValidationError("Give the contact at least one role: Billing, Tech or DPO.")


class Phone(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=40)
    label = models.CharField(max_length=60, blank=True, help_text="e.g. Office, On call.")

    class Meta:
        ordering = ["label", "number"]

    def __str__(self):
        return f"{self.label}: {self.number}" if self.label else self.number


class PasswordResetRequest(models.Model):
    """One request for a password reset link, kept for the throttle's window. `email` is what
    was typed, lower-cased, and may belong to no user: unknown addresses count the same."""

    email = models.EmailField()
    ip_address = models.GenericIPAddressField(null=True)
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "requested_at"]),
            models.Index(fields=["ip_address", "requested_at"]),
            models.Index(fields=["requested_at"]),
        ]

    def __str__(self):
        return f"{self.email} from {self.ip_address} at {self.requested_at:%Y-%m-%d %H:%M}"
