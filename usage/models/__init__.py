"""Metering: the metric catalogue, price plans, raw usage records and their daily rollup.

Raw records arrive through the ingest API or `import_usage` (ingest.py) and are never changed.
The aggregation (aggregation.py) rolls them into DailyUsage, one row per customer, service,
metric and UTC day, and remembers in AggregationCursor how far it has counted. Pages, CSVs and
monthly invoices read the rollup only; prices come from the customer's plan (pricing.py).
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from core.dates import first_of_month
from core.money import currency_choices


class Metric(models.TextChoices):
    CPU = "cpu", "CPU Hours"
    MEMORY = "memory", "Memory"
    STORAGE = "storage", "Storage"
    BANDWIDTH = "bandwidth", "Bandwidth"


@dataclass(frozen=True)
class MetricInfo:
    """A metric as every page, invoice and CSV names it: the one definition of each."""

    label: str  # what the customer reads (translated)
    metered_unit: str  # what records carry and the rollup sums (the daily CSV's unit, English)
    priced_unit: str  # what a unit price is per: an invoice line's unit (translated)
    shown_unit: str  # what the Usage page shows for a range (translated)
    line_description: str  # what an invoice line bills, before its month (translated)
    csv_column: str  # the summary CSV's column (the metering contract's English)


# The catalogue (DESIGN.md, "Metering contract"), in the order pages, charts and invoices list
# the metrics. Storage is metered in GB-hours, priced per GB-month of 730 hours and shown as
# the average GB over a range. Chart colours are CSS, keyed by the metric's value.
CATALOGUE = {
    Metric.CPU: MetricInfo(
        label=_("CPU Hours"),
        metered_unit="vCPU-hours",
        priced_unit=_("vCPU-hour"),
        shown_unit=_("vCPU-hours"),
        line_description=_("CPU Hours (vCPU-hours)"),
        csv_column="cpu_vcpu_hours",
    ),
    Metric.MEMORY: MetricInfo(
        label=_("Memory"),
        metered_unit="GB-hours",
        priced_unit=_("GB-hour"),
        shown_unit=_("GB-hours"),
        line_description=_("Memory (GB-hours)"),
        csv_column="memory_gb_hours",
    ),
    Metric.STORAGE: MetricInfo(
        label=_("Storage"),
        metered_unit="GB-hours",
        priced_unit=_("GB-month"),
        shown_unit=_("average GB"),
        line_description=_("Storage (GB-months)"),
        csv_column="storage_avg_gb",
    ),
    Metric.BANDWIDTH: MetricInfo(
        label=_("Bandwidth"),
        metered_unit="GB",
        priced_unit=_("GB"),
        shown_unit=_("GB"),
        line_description=_("Bandwidth (GB transferred)"),
        csv_column="bandwidth_gb",
    ),
}

# Where each metric stands when lines or rows are sorted by metric.
METRIC_ORDER = {metric: index for index, metric in enumerate(Metric)}

# Bounds (docs/invoicing.md, "Bounds"): a record holds at most 10^9 of its unit (ingest.py), and a
# customer's month at most ten million such records: 10^16 for all its services and metrics
# together (settings.USAGE_MONTH_QUANTITY_MAX), beyond which the aggregation holds records back.
# So every record, day and month fits 17 digits before the point; the invoice's columns are
# sized from the same bound (billing/models/invoices.py).
RECORD_QUANTITY_MAX = 10**9
MONTH_RECORDS_MAX = 10**7
QUANTITY = {"max_digits": 23, "decimal_places": 6}


def validate_price_start(day: datetime.date) -> None:
    """Prices and plan changes start on the 1st of a month that has not been invoiced yet.

    Months are invoiced once they are over, so the current month and later ones are open and
    every earlier month keeps the prices it was invoiced with."""
    if day.day != 1:
        raise ValidationError("A price or plan change starts on the 1st of a month.")
    if day < first_of_month(timezone.now().date()):
        raise ValidationError(
            "Months before this one may already be invoiced: start on the 1st of this month "
            "or later."
        )


# What a spreadsheet runs as a formula at the start of a cell (OWASP, "CSV injection"): ingest
# refuses service names that start so; the CSV exports defuse any stored before that rule.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Service(models.Model):
    """A customer's own cloud service or project, created the first time usage names it."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="service_name_per_customer")
        ]

    def __str__(self):
        return self.name


class PricingPlan(models.Model):
    """A price list, in one currency. Customers without a plan of their own are on the default
    one: the plan ticked as default now, and for each month the one DefaultPlan recorded for it."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(
        "default plan",
        default=False,
        help_text="Customers without a plan of their own use it, from the 1st of this month on "
        "(earlier months keep the default plan they had).",
    )
    currency = models.CharField(
        max_length=3,
        choices=currency_choices,
        default="EUR",
        help_text="Its prices are in this currency; it prices only customers billed in it "
        "(prices are never converted).",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_pricing_plan",
            )
        ]

    def __str__(self):
        return self.name


class Price(models.Model):
    """A plan's unit price for one metric, from the 1st of a month until the next price."""

    plan = models.ForeignKey(PricingPlan, on_delete=models.PROTECT, related_name="prices")
    metric = models.CharField(max_length=16, choices=Metric)
    unit_price = models.DecimalField(
        max_digits=14,
        decimal_places=6,
        help_text="In the plan's currency, per vCPU-hour, GB-hour, GB-month of storage or GB "
        "transferred.",
    )
    effective_from = models.DateField(help_text="The 1st of the first month it applies to.")

    class Meta:
        ordering = ["plan", "metric", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "metric", "effective_from"], name="one_price_per_metric_and_start"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="price_not_negative"
            ),
        ]

    def __str__(self):
        price = f"{self.unit_price} {self.plan.currency}"
        return f"{self.plan} {self.metric} from {self.effective_from}: {price}"

    def clean(self):
        if self._state.adding and self.effective_from:
            validate_price_start(self.effective_from)


class DefaultPlan(models.Model):
    """Which plan customers without a plan of their own are on, from a month on: the history
    of PricingPlan.is_default, so that ticking another default never re-prices an earlier
    month. No plan: from that month on there is no default (their usage cannot be invoiced)."""

    plan = models.ForeignKey(
        PricingPlan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="default_periods",
    )
    effective_from = models.DateField(unique=True, help_text="The 1st of the first month.")

    class Meta:
        ordering = ["-effective_from"]

    def __str__(self):
        return f"default plan from {self.effective_from}: {self.plan or 'none'}"


class CustomerPlan(models.Model):
    """Which plan a customer is on from a month on. Without a row: the default plan."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="plans")
    plan = models.ForeignKey(PricingPlan, on_delete=models.PROTECT, related_name="customers")
    effective_from = models.DateField(help_text="The 1st of the first month on this plan.")

    class Meta:
        ordering = ["customer", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "effective_from"], name="one_plan_change_per_month"
            )
        ]

    def __str__(self):
        return f"{self.customer} on {self.plan} from {self.effective_from}"

    def clean(self):
        if self._state.adding and self.effective_from:
            validate_price_start(self.effective_from)


class UsageRecord(models.Model):
    """One measurement as the cloud sent it: raw, never changed, counted once by its id.

    On PostgreSQL the table is partitioned by month of `start` (usage/partitions.py) and holds
    no primary or unique key: a partitioned table's unique keys must include `start`, and an id
    is the same record whatever its start. RecordKey holds each (customer, id) once instead."""

    id = models.BigAutoField(primary_key=True)
    # No index of their own: every insert would pay for them. RecordKey answers lookups by
    # customer and id; nothing reads raw records by service. No foreign key constraints
    # either: checking them is two lookups a record, two thirds of what a COPY of records
    # costs; the ingest stores a record only for a customer and service it has read.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    metric = models.CharField(max_length=16, choices=Metric)
    external_id = models.CharField("sender's id", max_length=200)
    quantity = models.DecimalField(**QUANTITY)
    start = models.DateTimeField()
    end = models.DateTimeField()
    resource = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    # Senders are never deleted (PROTECT keeps the admin from it).
    sender = models.ForeignKey(
        "usage.Sender", on_delete=models.PROTECT, db_index=False, db_constraint=False
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="usage_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="usage_end_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.external_id}: {self.quantity} {self.metric}"


class RecordKey(models.Model):
    """Each (customer, sender's id) stored, once, whichever month its record is in: the ingest
    inserts the key first and the record only if the key was new, so an id is refused across
    partitions. `digest` is the record's content as usage.ingest.digest computes it (as the
    SQL function usage_record_digest did for the records migration 0008 gave keys): an id sent
    again with another digest is a conflict."""

    pk = models.CompositePrimaryKey("customer", "external_id")
    # Without a foreign key constraint, as UsageRecord's: the ingest has read the customer.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    external_id = models.CharField("sender's id", max_length=200)
    digest = models.BigIntegerField()

    def __str__(self):
        return f"{self.customer_id} {self.external_id}"


class DailyUsage(models.Model):
    """The rollup: what a service used of a metric on one UTC day (the day a record starts)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    service = models.ForeignKey(Service, on_delete=models.CASCADE)
    metric = models.CharField(max_length=16, choices=Metric)
    day = models.DateField()
    quantity = models.DecimalField(**QUANTITY)

    class Meta:
        verbose_name_plural = "daily usage"
        ordering = ["day", "service", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "service", "metric", "day"], name="one_rollup_per_day"
            )
        ]
        indexes = [models.Index(fields=["customer", "day"], name="daily_usage_by_day")]

    def __str__(self):
        return f"{self.day} {self.service} {self.metric}: {self.quantity}"


class HeldRecord(models.Model):
    """A record the aggregation could not count: its customer's month would pass the bound
    (settings.USAGE_MONTH_QUANTITY_MAX). Held instead of jamming every later run; each run tries
    the held records again, and counts them once they fit (or their month is put right)."""

    # Without a foreign key constraint: on PostgreSQL the raw table has no key to refer to.
    record = models.OneToOneField(
        UsageRecord,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="held",
        db_constraint=False,
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="held_usage")
    month = models.DateField(help_text="The 1st of the month (UTC) the record counts in.")
    held_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["customer", "month", "record"]
        indexes = [models.Index(fields=["customer", "month"], name="held_usage_by_month")]

    def __str__(self):
        return f"{self.record} held for {self.customer.number} {self.month:%Y-%m}"


class AggregationCursor(models.Model):
    """How far the rollup has counted: every record with an id up to `last_record_id`.

    One row, locked by the aggregation while it counts, so two runs never count a record twice.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_record_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"counted up to record {self.last_record_id}"


# The models of their own modules, here where Django and every import look for them.
from usage.models.archives import ArchivedMonth as ArchivedMonth  # noqa: E402
from usage.models.late import ClosedMonth as ClosedMonth  # noqa: E402
from usage.models.late import LateUsage as LateUsage  # noqa: E402
from usage.models.senders import IngestToken as IngestToken  # noqa: E402
from usage.models.senders import Sender as Sender  # noqa: E402
from usage.models.senders import SenderDay as SenderDay  # noqa: E402
