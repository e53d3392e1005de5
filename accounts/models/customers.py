"""The billing account (Customer: who the customer is) and the changes of its country or VAT
id that wait for the provider's staff (TaxChange)."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.models.users import User


def validate_timezone(value: str) -> None:
    # Not a choices list: the tz database differs between machines and would churn migrations.
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Stockholm.")


class Customer(models.Model):
    """Who the customer is: the company that receives invoices and pays them, its number,
    address, country, VAT id and time zone. How it is billed (currency, terms, delivery, the
    language of its invoices) is billing's: `billing.BillingProfile`."""

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
    timezone = models.CharField(
        "time zone",
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="Dates in the portal are shown in this zone, e.g. Europe/Stockholm.",
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
