"""Staff pages for metering: plans and their prices, customers' plans, and the raw and rolled-up
usage (read-only: records are what the cloud sent, the rollup is what the aggregation counted)."""

from django.contrib import admin

from accounts.admin import RecordAdmin
from usage.models import CustomerPlan, DailyUsage, Price, PricingPlan, UsageRecord


class PriceInline(admin.TabularInline):
    """A price is added from the 1st of an open month on and never edited afterwards, so an
    invoiced month always keeps the prices it was invoiced with."""

    model = Price
    extra = 0
    fields = ["metric", "unit_price", "effective_from"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj else []

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PricingPlan)
class PricingPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default"]
    inlines = [PriceInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CustomerPlan)
class CustomerPlanAdmin(admin.ModelAdmin):
    """Moving a customer to another plan, from the 1st of an open month on."""

    list_display = ["customer", "plan", "effective_from"]
    list_filter = ["plan"]
    search_fields = ["customer__name", "customer__number"]
    autocomplete_fields = ["customer"]

    def get_readonly_fields(self, request, obj=None):
        return ["customer", "plan", "effective_from"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(RecordAdmin):
    list_display = ["external_id", "customer", "service", "metric", "quantity", "start", "end"]
    list_filter = ["metric"]
    search_fields = ["external_id", "customer__number", "service__name", "resource"]
    list_select_related = ["customer", "service"]
    show_full_result_count = False  # the table grows without bound


@admin.register(DailyUsage)
class DailyUsageAdmin(RecordAdmin):
    list_display = ["day", "customer", "service", "metric", "quantity"]
    list_filter = ["metric"]
    search_fields = ["customer__number", "service__name"]
    date_hierarchy = "day"
    list_select_related = ["customer", "service"]
