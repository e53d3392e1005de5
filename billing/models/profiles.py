"""How a customer is billed (BillingProfile): what only billing reads about a customer, beside
`accounts.Customer`, which says who the customer is."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from core.money import currency_choices


class BillingProfile(models.Model):
    """One per customer, created with it (the admin's Customer form, the demo, the factories):
    its currency and payment terms, its customer at Stripe, and how its invoices, receipts and
    billing mail reach it. The owners change the delivery settings on the Account pane (billing
    renders that part of the pane); staff set the rest in the admin."""

    class Delivery(models.TextChoices):
        ATTACHMENT = "attachment", _("PDF attached to the email")
        LINK = "link", _("A link to the portal only")

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        SWEDISH = "sv", _("Swedish")

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="billing_profile"
    )
    currency = models.CharField(
        max_length=3,
        choices=currency_choices,
        default="EUR",
        help_text="Invoices are issued in it, from price plans in it. Once invoices are issued, "
        "a change applies only to invoices issued afterwards.",
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        "payment terms (days)", default=30, help_text="Days from issue date to due date."
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
    autopay = models.BooleanField(
        _("pay invoices automatically"),
        default=False,
        help_text=_("Charge the default saved payment method when an invoice is issued."),
    )

    class Meta:
        ordering = ["customer__name"]

    def __str__(self):
        return f"Billing of {self.customer}"
