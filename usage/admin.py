"""Staff pages for metering: plans and their prices, customers' plans, and the raw and rolled-up
usage (read-only: records are what the cloud sent, the rollup is what the aggregation counted)."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from accounts.admin import RecordAdmin
from usage import services
from usage.models import (
    ArchivedMonth,
    CustomerPlan,
    DailyUsage,
    HeldRecord,
    IngestToken,
    LateUsage,
    Metric,
    Price,
    PricingPlan,
    Sender,
    SenderDay,
    UsageRecord,
)
from usage.models.senders import LIVE_TOKENS_MAX
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
    list_display = [
        "external_id",
        "customer",
        "service",
        "metric",
        "quantity",
        "start",
        "end",
        "sender",
    ]
    list_filter = ["metric", "sender"]
    search_fields = ["external_id", "customer__number", "service__name", "resource"]
    list_select_related = ["customer", "service", "sender"]
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


@admin.register(ArchivedMonth)
class ArchivedMonthAdmin(RecordAdmin):
    """Months whose raw records are in the archive storage, not the database (archive_usage;
    restore_usage brings one back). Their rollup, invoices and CSVs are unchanged."""

    list_display = ["month", "records", "file", "size", "sha256", "archived_at"]
    date_hierarchy = "month"


@admin.register(DailyUsage)
class DailyUsageAdmin(RecordAdmin):
    list_display = ["day", "customer", "service", "metric", "quantity"]
    list_filter = ["metric"]
    search_fields = ["customer__number", "service__name"]
    date_hierarchy = "day"
    list_select_related = ["customer", "service"]


@admin.register(LateUsage)
class LateUsageAdmin(RecordAdmin):
    """Usage counted after its month was invoiced: billed on the customer's next invoice."""

    list_display = ["day", "customer", "service", "metric", "quantity", "counted_at"]
    list_filter = ["metric"]
    search_fields = ["customer__number", "service__name"]
    date_hierarchy = "day"
    list_select_related = ["customer", "service"]


def _today():
    return timezone.now().astimezone(datetime.UTC).date()


class SenderDayInline(admin.TabularInline):
    model = SenderDay
    fields = ["day", "batches", "records", "duplicates", "rejected_batches", "first_error"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "the last 14 days"

    def get_queryset(self, request):
        since = _today() - datetime.timedelta(days=13)
        return super().get_queryset(request).filter(day__gte=since)


@admin.register(Sender)
class SenderAdmin(RecordAdmin):
    """Who sends usage, with today's figures (UTC): a collector that stopped shows an old last
    batch, one that went wrong rejected batches and the first reason."""

    list_display = [
        "name",
        "live_tokens",
        "last_batch",
        "records_today",
        "rejected_today",
        "first_error_today",
    ]
    search_fields = ["name"]
    fields = ["name", "created_at", "live_tokens", "last_batch"]
    readonly_fields = fields
    inlines = [SenderDayInline]

    def get_queryset(self, request):
        today = SenderDay.objects.filter(sender=OuterRef("pk"), day=_today())
        return (
            super()
            .get_queryset(request)
            .annotate(
                live=Count("tokens", filter=Q(tokens__revoked_at=None)),
                last_batch_at=Max("days__last_batch_at"),
                records_today=Subquery(today.values("records")),
                rejected_today=Subquery(today.values("rejected_batches")),
                first_error_today=Subquery(today.values("first_error")),
            )
        )

    @admin.display(ordering="live")
    def live_tokens(self, sender):
        return sender.live

    @admin.display(ordering="last_batch_at")
    def last_batch(self, sender):
        return sender.last_batch_at or "never"

    @admin.display(description="records today", ordering="records_today")
    def records_today(self, sender):
        return sender.records_today or 0

    @admin.display(description="rejected batches today", ordering="rejected_today")
    def rejected_today(self, sender):
        return sender.rejected_today or 0

    @admin.display(description="first error today")
    def first_error_today(self, sender):
        return sender.first_error_today or ""


class NewTokenForm(forms.ModelForm):
    name = forms.CharField(max_length=100, help_text='The sender, e.g. "collector-eu1".')

    class Meta:
        model = IngestToken
        fields = ["customers"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if name in (Sender.ENVIRONMENT, Sender.IMPORT):
            raise forms.ValidationError("That sender has no tokens of its own.")
        if IngestToken.objects.live().filter(sender__name=name).count() >= LIVE_TOKENS_MAX:
            raise forms.ValidationError(
                f"{name} has {LIVE_TOKENS_MAX} live tokens already: revoke one first."
            )
        return name


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    """Senders' tokens: made here (the secret is shown once) or with `manage.py
    create_ingest_token`, revoked with the action; never edited, never deleted."""

    list_display = ["sender", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["sender__name", "prefix"]
    list_select_related = ["sender"]
    actions = ["revoke"]
    form = NewTokenForm
    filter_horizontal = ["customers"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "customers"]
        return ["sender", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="customers")
    def scope(self, token):
        numbers = [customer.number for customer in token.customers.all()]
        return ", ".join(numbers) or "every customer"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("customers")

    def save_model(self, request, obj, form, change):
        token, secret = services.create_ingest_token(
            name=form.cleaned_data["name"], customers=list(form.cleaned_data["customers"])
        )
        obj.pk, obj.sender, obj.prefix, obj.digest = token.pk, token.sender, token.prefix, ""
        obj._state.adding = False
        request.ingest_token = (token, secret)

    def save_related(self, request, form, formsets, change):
        """The service set the customers already."""

    def response_add(self, request, obj, post_url_continue=None):
        token, secret = request.ingest_token
        return TemplateResponse(
            request,
            "admin/usage/token_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "token": token,
                "secret": secret,
                "scope": self.scope(token),
            },
        )

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = queryset.revoke()
        self.message_user(request, f"{revoked} token(s) revoked: their next batch is refused.")
