"""Usage display helpers for templates: {% load usage_tags %}."""

from decimal import Decimal

from django import template

from usage.labels import METRIC_LABELS, SHOWN_UNITS

register = template.Library()


@register.filter
def metric_label(metric: str) -> str:
    """cpu as "CPU Hours", in the active language."""
    return METRIC_LABELS[metric]


@register.filter
def metric_unit(metric: str) -> str:
    """The unit the page shows a metric in: vCPU-hours, GB-hours, average GB, GB."""
    return SHOWN_UNITS[metric]


@register.filter
def signed_percent(change: Decimal) -> str:
    """+12%, −3% (a true minus sign), ±0%."""
    if change > 0:
        return f"+{change}%"
    if change < 0:
        return f"−{-change}%"
    return "±0%"
