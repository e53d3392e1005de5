"""How each customer is billed, on the admin's Customer page: accounts registers the Customer
(who it is); billing registers it again with its BillingProfile inline, so that staff create
a customer and its billing profile in one form."""

from django import forms
from django.contrib import admin

from accounts.admin import CustomerAdmin
from accounts.models import Customer
from billing.models import BillingProfile


class BillingProfileForm(forms.ModelForm):
    def has_changed(self):
        # Saved with a new customer even when staff keep every default: each customer has one.
        return self.instance._state.adding or super().has_changed()


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
