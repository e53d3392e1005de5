"""Invoice lines: what an invoice bills, a usage line by its metric, service and month. A line
is written while its invoice is a draft and never changes after (credit notes correct it)."""

import datetime

from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from billing.exceptions import ImmutableInvoice
from billing.models.invoices import CREDIT_SERVICE, CREDIT_UNIT, Invoice
from billing.models.sizes import LINE_QUANTITY, MONEY, check_fits
from core.money import line_amount
from usage.models import CATALOGUE, Metric


def usage_line_label(metric: str, month: datetime.date, *, late: bool = False) -> str:
    """A usage line's description in the active language."""
    description = CATALOGUE[metric].line_description
    month_name = date_format(month, "YEAR_MONTH_FORMAT")
    if late:
        return _("%(description)s, late usage from %(month)s") % {
            "description": description,
            "month": month_name,
        }
    return f"{description}, {month_name}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    service = models.CharField(
        max_length=120, help_text="The customer's cloud service, e.g. k8s-prod-eu1."
    )
    description = models.CharField(max_length=200, help_text="As issued, in English.")
    quantity = models.DecimalField(**LINE_QUANTITY)
    unit = models.CharField(max_length=20, help_text="e.g. vCPU-h, GB-h, GB.")
    unit_price = models.DecimalField(max_digits=14, decimal_places=6)
    amount = models.DecimalField(**MONEY, editable=False, help_text="Quantity × unit price.")
    metric = models.CharField(
        max_length=16, choices=Metric, blank=True, help_text="Blank on a line staff wrote."
    )
    month = models.DateField(
        null=True, blank=True, help_text="The month (its 1st) a usage line's usage is from."
    )
    late = models.BooleanField(
        default=False,
        help_text="Usage of an earlier month, counted after that month was invoiced.",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.service}: {self.description}"

    def save(self, *args, **kwargs):
        if self.invoice.status != Invoice.Status.DRAFT:
            raise ImmutableInvoice(f"{self.invoice} is finalized; issue a credit note instead.")
        self.amount = line_amount(self.quantity, self.unit_price, self.invoice.currency)
        check_fits(self, "quantity", "unit_price", "amount")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.invoice.status != Invoice.Status.DRAFT:
            raise ImmutableInvoice(f"{self.invoice} is finalized; issue a credit note instead.")
        return super().delete(*args, **kwargs)

    @property
    def is_credit_line(self) -> bool:
        """The one line of a credit note by amount."""
        return (self.service, self.unit) == (CREDIT_SERVICE, CREDIT_UNIT) and (
            self.invoice.is_credit_note
        )

    @property
    def label(self) -> str:
        """What the line bills, in the reader's language: a usage line by its metric and
        month ("Lagring (GB-månader), november 2026"; late usage "CPU Hours (vCPU-hours),
        late usage from November 2026"), a credit note's line by its reason, a line staff wrote
        as written."""
        if self.is_credit_line:
            return self.invoice.reason_text or gettext("Credit")
        if not (self.metric and self.month):
            return self.description
        return usage_line_label(self.metric, self.month, late=self.late)

    @property
    def service_label(self) -> str:
        return pgettext("invoice line service", "Credit") if self.is_credit_line else self.service

    @property
    def unit_label(self) -> str:
        if self.is_credit_line:
            return pgettext("invoice line unit", "credit")
        return CATALOGUE[self.metric].priced_unit if self.metric else self.unit
