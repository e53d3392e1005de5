"""Forms staff fill in the admin for money movements (on one invoice, or of a customer's
credit), and the owners' form for how invoices reach them (the Account pane's Settings tab)."""

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import language_names
from billing.models import BillingProfile
from billing.models.choices import CreditReason
from billing.models.sizes import MONEY
from billing.profiles import OWNER_FIELDS


class BankPaymentForm(forms.Form):
    amount = forms.DecimalField(**MONEY, min_value=Decimal("0.01"))
    received_on = forms.DateField(
        initial=lambda: timezone.now().date(), widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(max_length=140, required=False, help_text="The bank's reference.")

    def clean_received_on(self):
        received_on = self.cleaned_data["received_on"]
        if received_on > timezone.now().date():
            raise forms.ValidationError("A payment cannot be received in the future.")
        return received_on

    @property
    def received_at(self) -> datetime.datetime:
        """Bank transfers carry a date, not a time: noon UTC of that day."""
        day = self.cleaned_data["received_on"]
        return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)


class CreditNoteForm(forms.Form):
    net_amount = forms.DecimalField(
        **MONEY,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Net of VAT. Leave empty to credit the whole invoice, line by line.",
    )
    reason_code = forms.ChoiceField(
        label="Reason",
        choices=[("", "Other (type it below)"), *CreditReason.choices],
        required=False,
        help_text="A fixed reason reads in the customer's language on the credit note.",
    )
    reason = forms.CharField(
        label="Details",
        max_length=300,
        required=False,
        help_text="Printed as typed, after the fixed reason if one is chosen.",
    )

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("reason_code") or cleaned.get("reason", "").strip()):
            raise forms.ValidationError("Choose a reason or type one.")
        return cleaned


class CreditRefundForm(forms.Form):
    amount = forms.DecimalField(**MONEY, min_value=Decimal("0.01"))
    reference = forms.CharField(
        max_length=140, required=False, help_text="The bank's reference of the transfer."
    )


class BillingSettingsForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice_language"].choices = language_names(BillingProfile.Language.values)

    class Meta:
        model = BillingProfile
        fields = OWNER_FIELDS
        widgets = {"invoice_delivery": forms.RadioSelect}
        labels = {"send_payment_receipts": _("Email a receipt when a payment arrives")}
        help_texts = {"send_payment_receipts": "", "invoice_delivery": ""}
