"""The Usage page in a real browser: ranges swap in place, bars tell their figures on hover,
the CSV holds what the table shows, and it reads well on a laptop and on a phone."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Customer, User
from tests.browser.test_accessibility import violations
from tests.conftest import restore_standard_plan
from tests.usage.conftest import SUMMARY_CSV_HEADER
from usage.models import DailyUsage, Service

pytestmark = pytest.mark.browser

SERVICES = ["k8s-prod-eu1", "web-frontend", "db-primary", "backups"]


@pytest.fixture
def usage_page(page, live_server, demo, log_in):
    """Acme's rollup replaced by 120 days of four services whose use grows day by day, priced
    by the Standard plan. The plan comes from a migration, and the live server's tests empty
    every table after them: it is made again here."""
    restore_standard_plan()
    acme = Customer.objects.get(number="C-10001")
    DailyUsage.objects.filter(customer=acme).delete()
    today = timezone.now().date()
    rows = []
    for index, name in enumerate(SERVICES):
        service, _ = Service.objects.get_or_create(customer=acme, name=name)
        for age in range(120):
            day = today - datetime.timedelta(days=age)
            scale = Decimal(1 + index) * (Decimal(200 - age) / 100)
            for metric, quantity in [
                ("cpu", 96 * scale),
                ("memory", 384 * scale),
                ("storage", 24 * 500 * scale),
                ("bandwidth", 40 * scale + age % 7),
            ]:
                rows.append(
                    DailyUsage(
                        customer=acme, service=service, metric=metric, day=day, quantity=quantity
                    )
                )
    DailyUsage.objects.bulk_create(rows)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.goto(f"{live_server.url}/usage/")
    return page


def card_figures(page) -> list[str]:
    return page.locator(".metric-card .card-figure").all_inner_texts()


def test_ranges_swap_the_cards_and_chart_without_a_full_reload(usage_page, live_server, screenshot):
    page = usage_page
    ranges = page.get_by_role("navigation", name="Date range")
    expect(ranges.get_by_role("link", name="Last 7 Days")).to_have_attribute("aria-current", "page")
    expect(page.locator(".bar-chart .chart-bar")).to_have_count(7)
    expect(page.locator(".usage-table tbody tr")).to_have_count(4)
    screenshot("usage-7d-1280")
    page.evaluate("window.stillTheSamePage = true")
    seven_days = card_figures(page)

    ranges.get_by_role("link", name="Last Month").click()
    expect(page).to_have_url(f"{live_server.url}/usage/?range=last-month")
    expect(ranges.get_by_role("link", name="Last Month")).to_have_attribute("aria-current", "page")
    last_month = (timezone.now().date().replace(day=1) - datetime.timedelta(days=1)).day
    expect(page.locator(".bar-chart .chart-bar")).to_have_count(last_month)
    assert card_figures(page) != seven_days
    screenshot("usage-last-month-1280")

    ranges.get_by_role("link", name="Last 90 Days").click()
    expect(page).to_have_url(f"{live_server.url}/usage/?range=90d")
    # Weeks from Monday: 13 or 14 bars for 90 days, however the weekdays fall.
    today = timezone.now().date()
    weeks = {(today - datetime.timedelta(days=n)).isocalendar()[:2] for n in range(90)}
    expect(page.locator(".bar-chart .chart-bar")).to_have_count(len(weeks))
    expect(page.locator(".panel-header").first).to_contain_text("Estimated cost per week")
    screenshot("usage-90d-1280")
    assert page.evaluate("window.stillTheSamePage") is True

    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/usage/?range=last-month")
    expect(page.locator(".bar-chart .chart-bar")).to_have_count(last_month)


def test_each_range_reads_well_on_a_phone(usage_page, live_server, screenshot):
    page = usage_page
    page.set_viewport_size({"width": 390, "height": 844})
    for key in ["7d", "last-month", "90d"]:
        page.goto(f"{live_server.url}/usage/?range={key}")
        expect(page.locator(".bar-chart")).to_be_visible()
        # Nothing wider than the screen: the page never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(f"usage-{key}-390")


def test_hovering_a_bar_shows_its_day_metric_quantity_and_cost(usage_page):
    page = usage_page
    bar = page.locator(".bar-chart .chart-bar").last
    segment = bar.locator('.segment[data-metric="cpu"]')
    segment.hover()
    hovered_title = page.evaluate(
        """() => {
            const hovered = Array.from(document.querySelectorAll(':hover')).pop();
            return hovered.querySelector(':scope > title').textContent;
        }"""
    )
    today = timezone.localdate(timezone=datetime.UTC)
    assert re.fullmatch(
        rf"{today.day} {today:%b %Y} · CPU Hours: [\d,]+\.\d\d vCPU-hours, €[\d,]+\.\d\d",
        hovered_title,
    ), hovered_title
    # The same figures as the data table's row for that day.
    page.get_by_text("Show data").click()
    last_row = page.locator(".chart-data tbody tr").last
    quantity, cost = re.search(r": ([\d,.]+) vCPU-hours, (€[\d,.]+)", hovered_title).groups()
    expect(last_row.locator("td").first).to_contain_text(f"{quantity} vCPU-hours")
    expect(last_row.locator("td").first).to_contain_text(cost)


def test_the_downloaded_csv_holds_what_the_table_shows(usage_page):
    page = usage_page
    ranges = page.get_by_role("navigation", name="Date range")
    ninety_days = ranges.get_by_role("link", name="Last 90 Days")
    ninety_days.click()
    expect(ninety_days).to_have_attribute("aria-current", "page")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    name = download.value.suggested_filename
    assert re.fullmatch(r"usage-C-10001-\d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d\.csv", name), name
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0] == SUMMARY_CSV_HEADER
    table = [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in page.locator(".usage-table tbody tr, .usage-table tfoot tr").all()
    ]
    names = [*sorted(SERVICES), "Total Estimated Bill"]
    assert [row[0] for row in rows[1:]] == [row[0] for row in table] == names
    for csv_row, table_row in zip(rows[1:], table, strict=True):
        shown = [f"{Decimal(value).quantize(Decimal('0.01')):,}" for value in csv_row[1:5]]
        assert table_row[1:5] == shown
        assert table_row[5] == f"€{Decimal(csv_row[5]):,}"


def test_the_usage_page_has_no_accessibility_violations(usage_page, live_server):
    page = usage_page
    for key in ["7d", "last-month", "90d"]:
        page.goto(f"{live_server.url}/usage/?range={key}")
        page.get_by_text("Show data").click()
        assert violations(page) == [], key
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/usage/?range=90d")
    assert violations(page) == [], "390 px"


def test_a_customer_without_usage_reads_what_will_appear(
    page, live_server, demo, log_in, screenshot
):
    DailyUsage.objects.filter(customer__number="C-10001").delete()
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.goto(f"{live_server.url}/usage/")
    expect(page.get_by_role("heading", name="No usage reported yet")).to_be_visible()
    expect(page.locator(".bar-chart")).to_have_count(0)
    expect(page.get_by_role("heading", name="Billing Status")).to_be_visible()
    screenshot("usage-empty-1280")
    assert violations(page) == []


def test_view_usage_on_an_invoice_line_opens_that_month_and_service(
    page, live_server, demo, log_in, screenshot
):
    """The demo's invoices are issued from its usage: from a line of last month's invoice, the
    Usage page for that month and service shows what the invoice bills for the service."""
    invoice = (
        Customer.objects.get(number="C-10001")
        .invoices.exclude(usage_month=None)
        .latest("usage_month")
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in()
    page.goto(f"{live_server.url}/invoices/{invoice.number}/")
    first_group = page.locator(".lines-table").first
    service = first_group.locator("caption").inner_text()
    subtotal = first_group.locator("tfoot td").inner_text()

    first_group.get_by_role("link", name=re.compile("View usage")).first.click()

    page.wait_for_url(re.compile(rf"/usage/\?month={invoice.usage_month:%Y-%m}&service="))
    summary = page.locator(".usage-table")
    expect(summary.locator("tbody tr")).to_have_count(1)
    expect(summary.locator("tbody tr th, tbody tr td").first).to_have_text(service)
    # The service's estimated cost for the month is the invoice's subtotal for it, to the cent.
    expect(summary.locator("tfoot tr td").last).to_have_text(subtotal)
    screenshot("usage-from-invoice-line-1280")


def test_the_page_reads_well_in_swedish(usage_page, live_server, screenshot):
    page = usage_page
    User.objects.filter(email="demo@example.com").update(language="sv")
    page.goto(f"{live_server.url}/usage/?range=last-month")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", level=1, name="Förbrukning")).to_be_visible()
    ranges = page.get_by_role("navigation", name="Period")
    expect(ranges.get_by_role("link", name="Förra månaden")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator(".usage-table tfoot")).to_contain_text("Total uppskattad kostnad")
    expect(page.get_by_text("Beräknad kostnad vid månadens slut")).to_be_visible()
    # No Swedish label runs out of its card, tab or table cell.
    overflowing = page.evaluate(
        """() => Array.from(document.querySelectorAll(
            '.card, .range-tabs a, .usage-downloads a, .usage-table th, .status-table th'
        )).filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim())"""
    )
    assert overflowing == []
    screenshot("usage-sv-1280", full_page=False)
    assert violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Förbrukning")).to_be_visible()
    screenshot("usage-sv-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
