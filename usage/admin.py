"""Staff pages for metering: plans and their prices, customers' plans, and the raw and rolled-up
usage (read-only: records are what the cloud sent, the rollup is what the aggregation counted)."""

from django.contrib import admin, messages
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from accounts.admin import RecordAdmin
from usage import services
from usage.models import (
    CustomerPlan,
    DailyUsage,
    HeldRecord,
    Metric,
    Price,
    PricingPlan,
    UsageRecord,
)
from usage.pricing import plan_periods


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
    """Ticking a plan's *default plan* (or unticking it) applies from the 1st of this month:
    the change is recorded (DefaultPlan), so earlier months keep the default they had."""

    list_display = ["name", "is_default"]
    fields = ["name", "is_default", "applies_to"]
    readonly_fields = ["applies_to"]
    inlines = [PriceInline]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="applies to")
    def applies_to(self, plan):
        periods = plan_periods(plan.pk) if plan.pk else []
        if not periods:
            return "No customer, in no month."
        rows = (
            (
                period.customer or "Customers without a plan of their own (default plan)",
                date_format(period.first_day),
                f" to {date_format(period.last_day)}" if period.last_day else " on",
            )
            for period in periods
        )
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: from {}{}</li>", rows))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "is_default" in form.changed_data:
            services.record_default_plan(plan=obj if obj.is_default else None)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        priced = set(form.instance.prices.values_list("metric", flat=True))
        unpriced = [metric.label for metric in Metric if metric not in priced]
        if unpriced:
            self.message_user(
                request,
                f"{form.instance} has no price for {', '.join(unpriced)}: a customer on it who "
                "uses them is not invoiced (Uninvoiced months) until the plan prices them.",
                messages.WARNING,
            )


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


@admin.register(HeldRecord)
class HeldRecordAdmin(RecordAdmin):
    """Records the aggregation could not count: their customer's month would pass the bound
    (docs/invoicing.md, "Bounds"). Each aggregation run tries them again; their month is not
    invoiced meanwhile (Admin › Uninvoiced months)."""

    list_display = ["record", "customer", "month", "metric", "quantity", "held_at"]
    list_filter = ["month"]
    search_fields = ["customer__number", "record__external_id"]
    list_select_related = ["record", "customer"]

    @admin.display(ordering="record__metric")
    def metric(self, held):
        return held.record.metric

    @admin.display(ordering="record__quantity")
    def quantity(self, held):
        return held.record.quantity


@admin.register(DailyUsage)
class DailyUsageAdmin(RecordAdmin):
    list_display = ["day", "customer", "service", "metric", "quantity"]
    list_filter = ["metric"]
    search_fields = ["customer__number", "service__name"]
    date_hierarchy = "day"
    list_select_related = ["customer", "service"]
