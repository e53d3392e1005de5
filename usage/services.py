"""Changes to pricing that must keep the past as it was invoiced; senders' tokens; months
closed by their invoice."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from usage.models import (
    ClosedMonth,
    DefaultPlan,
    IngestToken,
    PricingPlan,
    Sender,
    first_of_month,
)
from usage.models.senders import LIVE_TOKENS_MAX, SHOWN_LENGTH, digest, new_secret


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


class TokenRefused(Exception):
    """A token that cannot be made or revoked, with the reason."""


@transaction.atomic
def create_ingest_token(*, name: str, customers: list[Customer]) -> tuple[IngestToken, str]:
    """A new token for the sender `name` (made on first sight), limited to `customers` (none:
    every customer), and its secret: shown this once, stored only as a digest. Refused when
    the sender already holds LIVE_TOKENS_MAX live tokens (one to keep, one to rotate to)."""
    name = name.strip()
    if not name or len(name) > Sender._meta.get_field("name").max_length:
        raise TokenRefused("A sender's name is 1-100 characters.")
    if name in (Sender.ENVIRONMENT, Sender.IMPORT):
        raise TokenRefused(f'"{name}" is the name of a sender without tokens of its own.')
    sender = Sender.named(name)
    # Two runs for the same sender at once: the second waits here and counts the first's token.
    Sender.objects.select_for_update().get(pk=sender.pk)
    if sender.tokens.live().count() >= LIVE_TOKENS_MAX:
        raise TokenRefused(
            f"{name} has {LIVE_TOKENS_MAX} live tokens already: revoke one before making another."
        )
    secret = new_secret()
    token = IngestToken.objects.create(
        sender=sender, prefix=secret[:SHOWN_LENGTH], digest=digest(secret)
    )
    token.customers.set(customers)
    return token, secret


@transaction.atomic
def revoke_ingest_tokens(*, name: str, prefix: str = "") -> list[IngestToken]:
    """Revoke the sender's live tokens (only the one whose secret starts with `prefix`, when
    given); returns those revoked. Their next batch is answered 401."""
    live = IngestToken.objects.live().filter(sender__name=name)
    if prefix:
        live = live.filter(prefix=prefix[:SHOWN_LENGTH])
    tokens = list(live.select_for_update())
    if not tokens:
        raise TokenRefused(f"{name} has no live token{' starting ' + prefix if prefix else ''}.")
    IngestToken.objects.filter(pk__in=[t.pk for t in tokens]).revoke()
    return tokens


def close_month(*, customer: Customer, month: datetime.date) -> None:
    """The customer's month is invoiced: what the aggregation counts for it from now on is
    late usage (usage.models.late). Called by invoicing in the transaction that issues the
    month's invoice, holding the aggregation's cursor (aggregation.pause_counting)."""
    ClosedMonth.objects.get_or_create(customer=customer, month=first_of_month(month))
