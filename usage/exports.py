"""The two CSVs of the metering contract (DESIGN.md), row by row.

`export.csv`: one row per service, then `Total Estimated Bill`: the Usage page's summary table.
`daily.csv`: the daily rollup behind it, each row priced on its own.
Quantities keep the 4 places an invoice line prints; costs are in the currency of the
customer's plan, to its minor unit, in a column that names it: `estimated_cost_sek`,
`estimated_cost_eur` (README, "Currencies"). Numbers are Decimals, text is str: the views
write them with every text cell quoted.
"""

from decimal import ROUND_HALF_UP, Decimal

from core.money import round_money
from usage.models import CATALOGUE, FORMULA_STARTS, Metric
from usage.pricing import QUANTITY_PLACES
from usage.selectors import DailyCosts, UsageSummary

QUANTITY_COLUMNS = [info.csv_column for info in CATALOGUE.values()]
TOTAL_LABEL = "Total Estimated Bill"


def text_cell(value: str) -> str:
    """A service name as a spreadsheet shows it, never runs it: '=cmd for =cmd."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def quantity_cell(value: Decimal) -> Decimal:
    return value.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def cost_column(currency: str) -> str:
    return f"estimated_cost_{currency.lower()}"


def summary_columns(currency: str) -> list[str]:
    return ["service", *QUANTITY_COLUMNS, cost_column(currency)]


def daily_columns(currency: str) -> list[str]:
    """`late`: "yes" on the part of a day's usage counted after its month was invoiced (billed
    on a later invoice, usage.models.late), on a row of its own; empty on every other row."""
    return ["day", "service", "metric", "quantity", "unit", cost_column(currency), "late"]


def summary_rows(summary: UsageSummary) -> list[list[str | Decimal]]:
    rows = [summary_columns(summary.currency)]
    for row in [*summary.services, summary.total]:
        rows.append(
            [
                text_cell(row.service) if row is not summary.total else TOTAL_LABEL,
                *(quantity_cell(quantity) for _, quantity in row.cells),
                round_money(row.cost, summary.currency),
            ]
        )
    return rows


def daily_rows(costs: DailyCosts) -> list[list[str | Decimal]]:
    rows = [daily_columns(costs.currency)]
    for cost in costs.rows:
        rows.append(
            [
                cost.day.isoformat(),
                text_cell(cost.service),
                cost.metric,
                quantity_cell(cost.quantity),
                CATALOGUE[Metric(cost.metric)].metered_unit,
                round_money(cost.cost, costs.currency),
                "yes" if cost.late else "",
            ]
        )
    return rows
