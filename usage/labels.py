"""What the customer reads for each range and metric, in their language. The CSVs keep the
contract's English column names and units (usage.models.UNITS) whatever the language."""

from django.utils.translation import gettext_lazy as _

from usage.models import Metric

RANGE_LABELS = {
    "7d": _("Last 7 Days"),
    "last-month": _("Last Month"),
    "90d": _("Last 90 Days"),
}

METRIC_LABELS = {
    Metric.CPU: _("CPU Hours"),
    Metric.MEMORY: _("Memory"),
    Metric.STORAGE: _("Storage"),
    Metric.BANDWIDTH: _("Bandwidth"),
}

# The unit each metric is shown in on the page: storage as the average GB over the range.
SHOWN_UNITS = {
    Metric.CPU: _("vCPU-hours"),
    Metric.MEMORY: _("GB-hours"),
    Metric.STORAGE: _("average GB"),
    Metric.BANDWIDTH: _("GB"),
}
