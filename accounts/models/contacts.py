"""Where a customer wants its mail to go: email addresses with their roles (Contact), and
phone numbers (Phone)."""

import datetime

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.models.customers import Customer

CONFIRMATION_VALIDITY = datetime.timedelta(hours=72)


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
