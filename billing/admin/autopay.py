"""Automatic payments for the billing team: every charge attempt (the first on issue, then the
dunning retries), with those whose last retry failed on an invoice still owed as "needs
attention" (the default list), and the payment methods customers saved. Records only."""

from django.contrib import admin

from accounts.admin import RecordAdmin
from billing.models import ChargeAttempt, PaymentMethod


class NeedsAttentionFilter(admin.SimpleListFilter):
    """Attempts after which nothing more is tried automatically and the invoice is still owed
    (the default), or every attempt."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Needs attention"), ("all", "Every attempt")]

    def choices(self, changelist):
        for choice in super().choices(changelist):
            if choice["display"] != "All":
                yield choice | {"selected": choice["selected"] or self.value() is None}

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.needing_attention()


@admin.register(ChargeAttempt)
class ChargeAttemptAdmin(RecordAdmin):
    list_display = [
        "invoice",
        "number",
        "status",
        "failure_code",
        "amount",
        "currency",
        "scheduled_for",
        "attempted_at",
        "stopped",
    ]
    list_filter = [NeedsAttentionFilter, "status", "failure_code"]
    search_fields = ["invoice__number", "invoice__customer__name", "stripe_payment_intent"]
    list_select_related = ["invoice"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(RecordAdmin):
    list_display = ["customer", "label", "type", "is_default", "exp_month", "exp_year"]
    list_filter = ["type"]
    search_fields = ["customer__name", "customer__number", "stripe_id", "last4"]
    list_select_related = ["customer"]
