"""Data -> the geometry of inline SVG charts, drawn by templates on the server (no chart
library, nothing inline for the CSP to refuse: colours and patterns come from classes).

Coordinates are strings with one decimal and a point, whatever the language: an SVG attribute
written as "12,5" by a Swedish number format would break the drawing. Dates, names and
quantities are written here once per bar, in the active language, for the tooltips and the
data table alike.
"""

import datetime
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import date_format, number_format

from usage.models import CATALOGUE, Metric
from usage.selectors import UsageBucket

# The bar chart's canvas (viewBox units): it scales with its container's width.
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 80, 12, 16, 44
MAX_X_LABELS = 8
HUNDREDTH = Decimal("0.01")
PIE_RADIUS, PIE_CENTRE = 90, 100


def _n(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Segment:
    """One metric's part of a bar: its cost drawn, its quantity in the tooltip."""

    metric: str
    label: str
    unit: str
    quantity: str  # as shown: 1,234.50
    cost: Decimal
    used: bool  # any cost or quantity at all: drawn (a zero-height part would only be noise)
    x: str
    y: str
    width: str
    height: str


@dataclass(frozen=True)
class Bar:
    label: str  # "16 Nov 2026", or "16 Nov – 22 Nov 2026" for a week
    axis_label: str  # "16 Nov"
    total: Decimal
    cells: list[Segment]  # every metric, for the data table
    centre: str  # x of the bar's middle, for its axis label
    labelled: bool  # whether the x axis names it (not every bar fits a label)
    major: bool  # whether it keeps its label on a narrow screen too (every other label)

    @property
    def segments(self) -> list[Segment]:
        """The metrics drawn: those with any cost or use."""
        return [cell for cell in self.cells if cell.used]


@dataclass(frozen=True)
class Tick:
    value: Decimal
    y: str


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]
    by_week: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    tick_x: str = _n(LEFT - 8)
    right: str = _n(WIDTH - RIGHT)
    top: int = TOP
    baseline: str = _n(HEIGHT - BOTTOM)
    x_title: str = _n(LEFT + (WIDTH - LEFT - RIGHT) / 2)
    x_title_y: str = _n(HEIGHT - 6)
    y_title_x: str = _n(16)
    y_title_y: str = _n(TOP + (HEIGHT - TOP - BOTTOM) / 2)


def nice_step(top: Decimal, ticks: int = 4) -> Decimal:
    """A round step (1, 2 or 5 times a power of ten) that covers `top` in about `ticks` steps."""
    raw = top / ticks
    magnitude = Decimal(10) ** raw.adjusted()
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    raise AssertionError("unreachable: 10 x magnitude exceeds raw")


def cost_bars(buckets: list[UsageBucket], *, by_week: bool) -> BarChart:
    """Stacked bars of estimated cost per metric, one per day (or week), CPU at the bottom."""
    highest = max((bucket.total for bucket in buckets), default=Decimal(0))
    step = nice_step(highest) if highest > 0 else Decimal("0.25")
    top = step * max(1, math.ceil(highest / step))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(buckets), 1)
    bar_width = min(slot * 0.66, 44)
    every = math.ceil(len(buckets) / MAX_X_LABELS)

    def y_of(amount: Decimal) -> float:
        return HEIGHT - BOTTOM - float(amount / top) * plot_height

    labels = {metric: (str(info.label), str(info.shown_unit)) for metric, info in CATALOGUE.items()}
    bars = []
    for index, bucket in enumerate(buckets):
        x = LEFT + slot * index + (slot - bar_width) / 2
        cells, stacked = [], Decimal(0)
        for metric in Metric.values:
            cost = bucket.costs[metric]
            low, high = y_of(stacked), y_of(stacked + cost)
            stacked += cost
            cells.append(
                Segment(
                    metric=metric,
                    label=labels[metric][0],
                    unit=labels[metric][1],
                    quantity=_quantity(bucket.quantities[metric]),
                    cost=cost,
                    used=bool(cost or bucket.quantities[metric]),
                    x=_n(x),
                    y=_n(high),
                    width=_n(bar_width),
                    height=_n(low - high),
                )
            )
        bars.append(
            Bar(
                label=_span_label(bucket.first_day, bucket.last_day),
                axis_label=date_format(bucket.first_day, "MONTH_DAY_FORMAT"),
                total=bucket.total,
                cells=cells,
                centre=_n(x + bar_width / 2),
                # Counted from the last bar, so that today (or this week) is always named.
                labelled=(len(buckets) - 1 - index) % every == 0,
                major=(len(buckets) - 1 - index) % (2 * every) == 0,
            )
        )
    count = int(top / step)
    ticks = [Tick(step * n, _n(y_of(step * n))) for n in range(count + 1)]
    return BarChart(bars=bars, ticks=ticks, by_week=by_week)


def _quantity(value: Decimal) -> str:
    """As the floatformat:"2g" filter writes it (number_format alone would cut, not round)."""
    rounded = value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)
    return number_format(rounded, 2, use_l10n=True, force_grouping=True)


def _span_label(first_day: datetime.date, last_day: datetime.date) -> str:
    if first_day == last_day:
        return date_format(first_day, "SHORT_DATE_FORMAT")
    first, last = (
        date_format(first_day, "MONTH_DAY_FORMAT"),
        date_format(last_day, "SHORT_DATE_FORMAT"),
    )
    return f"{first} – {last}"


@dataclass(frozen=True)
class Slice:
    key: str
    label: str
    count: int
    amount: Decimal
    percent: int
    path: str  # empty when the slice is the whole pie (drawn as a circle)


def pie(parts: list[tuple[str, str, int, Decimal]]) -> list[Slice]:
    """Slices sized by count from (key, label, count, amount), clockwise from twelve o'clock.
    Parts with a zero count are left out."""
    parts = [part for part in parts if part[2] > 0]
    whole = sum(count for _, _, count, _ in parts)
    slices, start = [], 0.0
    for key, label, count, amount in parts:
        share = count / whole
        end = start + share
        slices.append(
            Slice(
                key=key,
                label=label,
                count=count,
                amount=amount,
                percent=round(share * 100),
                path="" if share == 1 else _arc(start, end),
            )
        )
        start = end
    return slices


def _arc(start: float, end: float) -> str:
    def point(fraction):
        angle = 2 * math.pi * fraction - math.pi / 2
        return (
            _n(PIE_CENTRE + PIE_RADIUS * math.cos(angle)),
            _n(PIE_CENTRE + PIE_RADIUS * math.sin(angle)),
        )

    (x0, y0), (x1, y1) = point(start), point(end)
    large = 1 if end - start > 0.5 else 0
    return (
        f"M{PIE_CENTRE} {PIE_CENTRE} L{x0} {y0} A{PIE_RADIUS} {PIE_RADIUS} 0 {large} 1 {x1} {y1} Z"
    )
