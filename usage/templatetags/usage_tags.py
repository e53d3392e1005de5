"""Usage display helpers for templates: {% load usage_tags %}."""

import html
from decimal import Decimal

from django import template
from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from core.money import format_change, format_money
from usage.charts import Bar
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


# The cells the Usage page repeats most: per bar of the Resource Consumption chart its four
# drawn parts with their tooltips and its four data-table cells
# (usage/partials/consumption_chart.html), per service its four quantities
# (usage/partials/summary_table.html). Written here rather than by the template engine: a
# chart has up to 90 bars, and these cells were most of the page's template time
# (docs/scaling.md).
SEGMENT = (
    '\n      <rect class="segment" data-metric="{metric}" x="{x}" y="{y}" width="{width}"'
    ' height="{height}" fill="url(#pattern-{metric})"><title>{bar} · {label}: {quantity} {unit},'
    " {cost}</title></rect>\n      "
)


@register.simple_tag
def bar_segments(bar: Bar, currency: str) -> SafeString:
    """The drawn parts of a bar (usage.charts.Bar.segments), every field escaped."""
    language = get_language()
    label = html.escape(bar.label)
    return mark_safe(
        "".join(
            SEGMENT.format(
                metric=html.escape(segment.metric),
                x=segment.x,
                y=segment.y,
                width=segment.width,
                height=segment.height,
                bar=label,
                label=html.escape(segment.label),
                quantity=html.escape(segment.quantity),
                unit=html.escape(segment.unit),
                cost=html.escape(format_money(segment.cost, currency, language=language)),
            )
            for segment in bar.segments
        )
    )


BAR_CELL = '<td class="num">{quantity} {unit}<span class="block muted small">{cost}</span></td>'


@register.simple_tag
def bar_cells(bar: Bar, currency: str) -> SafeString:
    """A bar's row of the chart's data table: every metric's quantity and cost, escaped."""
    language = get_language()
    return mark_safe(
        "".join(
            BAR_CELL.format(
                quantity=html.escape(cell.quantity),
                unit=html.escape(cell.unit),
                cost=html.escape(format_money(cell.cost, currency, language=language)),
            )
            for cell in bar.cells
        )
    )


QUANTITY_CELL = '<td class="num" data-label="{label} ({unit})">{quantity}</td>'


@register.simple_tag
def quantity_cells(cells) -> SafeString:
    """A row of the usage summary: each (metric, quantity) under its label, to two places as
    floatformat:"2g" writes it."""
    return mark_safe(
        "".join(
            QUANTITY_CELL.format(
                label=html.escape(str(CATALOGUE[metric].label)),
                unit=html.escape(str(CATALOGUE[metric].shown_unit)),
                quantity=html.escape(floatformat(quantity, "2g")),
            )
            for metric, quantity in cells
        )
    )
