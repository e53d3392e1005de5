"""The fixed lists an invoice chooses from: why it charges the VAT it does, and the reasons staff
give for a credit note."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class VatTreatment(models.TextChoices):
    """Why an invoice charges the VAT it does (billing/vat.py decides)."""

    DOMESTIC = "domestic", _("VAT of the seller's country")
    EU_CONSUMER = "eu_consumer", _("VAT of the customer's EU country (One-Stop-Shop)")
    EU_CONSUMER_SELLER_VAT = (
        "eu_consumer_seller_vat",
        _("EU consumer, seller under the EU threshold: VAT of the seller's country"),
    )
    REVERSE_CHARGE = "reverse_charge", _("Reverse charge: the customer accounts for the VAT")
    OUT_OF_SCOPE = "out_of_scope", _("Outside the EU: out of scope of EU VAT")


class CreditReason(models.TextChoices):
    """The reasons staff choose for a credit note, shown in the reader's language. Anything
    else is free text, printed as typed."""

    CREDITED_IN_FULL = "in_full", _("Credited in full")
    SERVICE_OUTAGE = "outage", _("Service outage (SLA credit)")
    BILLING_ERROR = "billing_error", _("Billing error")
    CHARGED_TWICE = "charged_twice", _("Charged twice")
    GOODWILL = "goodwill", _("Goodwill credit")
