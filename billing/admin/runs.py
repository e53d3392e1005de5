"""What the monthly invoicing run could not invoice: customers' months that need attention."""

from django.contrib import admin

from accounts.admin import RecordAdmin
from billing.models import UninvoicedMonth


class NeedsAttentionFilter(admin.SimpleListFilter):
    """Months not invoiced yet (the default), or those a later run invoiced."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Needs attention"), ("resolved", "Invoiced since")]

    def choices(self, changelist):
        # "Needs attention" is what staff come here for: it is the list without a choice.
        for choice in super().choices(changelist):
            if choice["display"] != "All":
                yield choice | {"selected": choice["selected"] or self.value() is None}

    def queryset(self, request, queryset):
        return queryset.filter(resolved_at__isnull=self.value() != "resolved")


@admin.register(UninvoicedMonth)
class UninvoicedMonthAdmin(RecordAdmin):
    """Recorded by the run, resolved by it when a later run invoices the month: read-only."""

    list_display = ["customer", "usage_month", "reason", "detail", "attempts", "last_failed_at"]
    list_filter = [NeedsAttentionFilter, "reason"]
    search_fields = ["customer__name", "customer__number"]
    list_select_related = ["customer"]
