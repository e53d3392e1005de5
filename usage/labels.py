"""What the customer reads for each range of the Usage page, in their language. Metrics are
named by the catalogue (usage.models.CATALOGUE)."""

from django.utils.translation import gettext_lazy as _

RANGE_LABELS = {
    "7d": _("Last 7 Days"),
    "last-month": _("Last Month"),
    "90d": _("Last 90 Days"),
}
