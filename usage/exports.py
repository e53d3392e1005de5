"""The two CSVs of the metering contract (DESIGN.md), row by row.

`export.csv`: one row per service, then `Total Estimated Bill`: the Usage page's summary table.
`daily.csv`: the daily rollup behind it, each row priced on its own.
Quantities keep the 4 places an invoice line prints; costs are in EUR with cents. Numbers are
Decimals, text is str: the views write them with every text cell quoted.
"""

from decimal import ROUND_HALF_UP, Decimal

from core.money import round_money
from usage.models import CATALOGUE, FORMULA_STARTS, Metric
from usage.pricing import QUANTITY_PLACES
from usage.selectors import DailyCost, UsageSummary

SUMMARY_COLUMNS = [
    "service",
    *(info.csv_column for info in CATALOGUE.values()),
    "estimated_cost_eur",
]
# `late`: "yes" on the part of a day's usage counted after its month was invoiced (billed on a
# later invoice, usage.models.late), on a row of its own; empty on every other row.
DAILY_COLUMNS = ["day", "service", "metric", "quantity", "unit", "estimated_cost_eur", "late"]
TOTAL_LABEL = "Total Estimated Bill"


def text_cell(value: str) -> str:
    """A service name as a spreadsheet shows it, never runs it: '=cmd for =cmd."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def quantity_cell(value: Decimal) -> Decimal:
    return value.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def cost_cell(value: Decimal) -> Decimal:
    return round_money(value)


def summary_rows(summary: UsageSummary) -> list[list[str | Decimal]]:
    rows = [SUMMARY_COLUMNS]
    for row in [*summary.services, summary.total]:
        rows.append(
            [
                text_cell(row.service) if row is not summary.total else TOTAL_LABEL,
                *(quantity_cell(quantity) for _, quantity in row.cells),
                cost_cell(row.cost),
            ]
        )
    return rows


def daily_rows(costs: list[DailyCost]) -> list[list[str | Decimal]]:
    rows = [DAILY_COLUMNS]
    for cost in costs:
        rows.append(
            [
                cost.day.isoformat(),
                text_cell(cost.service),
                cost.metric,
                quantity_cell(cost.quantity),
                CATALOGUE[Metric(cost.metric)].metered_unit,
                cost_cell(cost.cost),
                "yes" if cost.late else "",
            ]
        )
    return rows
