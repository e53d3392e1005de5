"""How each customer is billed, on the admin's Customer page: accounts registers the Customer
(who it is); billing registers it again with its BillingProfile inline, so that staff create
a customer and its billing profile in one form."""

from django import forms
from django.contrib import admin, messages

from accounts.admin import CustomerAdmin
from accounts.models import Customer
from billing.models import BillingProfile, Invoice


class BillingProfileForm(forms.ModelForm):
    def has_changed(self):
        # Saved with a new customer even when staff keep every default: each customer has one.
        return self.instance._state.adding or super().has_changed()

    def clean_currency(self):
        """A change of currency applies to invoices issued from now on; an invoice already
        issued keeps its own. A draft was made in the old currency and would be issued in
        it, so the change waits until the drafts are issued or deleted."""
        currency = self.cleaned_data["currency"]
        profile = self.instance
        if profile._state.adding or currency == profile.currency:
            return currency
        drafts = Invoice.objects.filter(customer_id=profile.pk, status=Invoice.Status.DRAFT)
        if drafts.exists():
            raise forms.ValidationError(
                f"{drafts.count()} draft invoice(s) of this customer are in "
                f"{profile.currency} and would be issued in it: issue or delete them before "
                f"changing the currency to {currency}."
            )
        return currency


def currency_change_notice(profile: BillingProfile, old: str) -> str:
    """What a change of currency does, for the staff member who made it."""
    issued = Invoice.objects.for_customer(profile.customer).issued().filter(currency=old)
    notice = f"{profile.customer} is billed in {profile.currency} from now on"
    if issued.exists():
        notice += (
            f": its {issued.count()} invoice(s) already issued stay in {old} (and are paid "
            f"and credited in {old}); only invoices issued from now on are in {profile.currency}"
        )
    return notice + f". Its price plan must be in {profile.currency} for usage to be invoiced."


class BillingProfileInline(admin.StackedInline):
    model = BillingProfile
    form = BillingProfileForm
    can_delete = False
    min_num = max_num = 1
    verbose_name_plural = "billing"
    fields = [
        ("currency", "payment_terms_days"),
        "stripe_customer_id",
        "invoice_delivery",
        "send_payment_receipts",
        "invoice_language",
    ]


class BilledCustomerAdmin(CustomerAdmin):
    list_display = [*CustomerAdmin.list_display[:-1], "currency", "payment_terms", "created_at"]
    list_filter = [*CustomerAdmin.list_filter, "billing_profile__currency"]
    list_select_related = ["billing_profile"]
    inlines = [BillingProfileInline, *CustomerAdmin.inlines]

    def save_formset(self, request, form, formset, change):
        old = {}
        if formset.model is BillingProfile:
            old = {f.instance.pk: f.initial.get("currency") for f in formset.forms if change}
        super().save_formset(request, form, formset, change)
        for profile_form in formset.forms if formset.model is BillingProfile else []:
            previous = old.get(profile_form.instance.pk)
            if previous and previous != profile_form.instance.currency:
                notice = currency_change_notice(profile_form.instance, previous)
                self.message_user(request, notice, messages.WARNING)

    @admin.display(ordering="billing_profile__currency")
    def currency(self, customer):
        return customer.billing_profile.currency

    @admin.display(
        description="payment terms (days)", ordering="billing_profile__payment_terms_days"
    )
    def payment_terms(self, customer):
        return customer.billing_profile.payment_terms_days


admin.site.unregister(Customer)
admin.site.register(Customer, BilledCustomerAdmin)
