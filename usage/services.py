"""Changes to pricing that must keep the past as it was invoiced."""

from django.db import transaction
from django.utils import timezone

from usage.models import DefaultPlan, PricingPlan, first_of_month


@transaction.atomic
def record_default_plan(*, plan: PricingPlan | None) -> DefaultPlan:
    """From the 1st of this month (UTC) on, customers without a plan of their own are on
    `plan` (None: on no plan). Months before this one keep the default they had: they may be
    invoiced already, and this month is not (months are invoiced once over). A second change
    within the month replaces the first."""
    month = first_of_month(timezone.now().date())
    PricingPlan.objects.exclude(pk=getattr(plan, "pk", None)).filter(is_default=True).update(
        is_default=False
    )
    if plan is not None and not plan.is_default:
        plan.is_default = True
        plan.save(update_fields=["is_default"])
    change, _ = DefaultPlan.objects.update_or_create(effective_from=month, defaults={"plan": plan})
    return change
