"""Usage display helpers for templates: {% load usage_tags %}."""

from decimal import Decimal

from django import template
from django.utils.translation import get_language

from core.money import format_change
from usage.models import CATALOGUE

register = template.Library()


@register.filter
def metric_label(metric: str) -> str:
    """cpu as "CPU Hours", in the active language."""
    return CATALOGUE[metric].label


@register.filter
def metric_unit(metric: str) -> str:
    """The unit the page shows a metric in: vCPU-hours, GB-hours, average GB, GB."""
    return CATALOGUE[metric].shown_unit


@register.filter
def priced_unit(metric: str) -> str:
    """What a metric's unit price is per: vCPU-hour, GB-hour, GB-month, GB."""
    return CATALOGUE[metric].priced_unit


@register.filter
def signed_percent(change: Decimal) -> str:
    """+12%, −3% (a true minus sign), ±0%; +12 % in Swedish."""
    return format_change(change, language=get_language())
