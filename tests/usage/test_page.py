"""The Usage page's figures, each checked against sums done by hand from the daily rollup.

Standard plan prices: CPU €0.031 per vCPU-hour, memory €0.0042 per GB-hour, storage €0.095 per
GB-month (730 GB-hours), bandwidth €0.01 per GB. "Now" is Sunday 22 Nov 2026, noon UTC.
"""

import re

import pytest

from portal import urls
from tests.htmx import HTMX
from tests.usage.conftest import card, summary_rows, text

pytestmark = pytest.mark.django_db


# What Acme used, day by day (the aggregation's rollup), and what a neighbour used.
ACME = [
    ("web", "cpu", "2026-09-30", "300"),  # September: what October compares with
    ("web", "cpu", "2026-10-01", "100"),
    ("web", "cpu", "2026-10-31", "0.5"),
    ("db", "storage", "2026-10-15", "73000"),
    ("web", "cpu", "2026-11-01", "0.5"),
    ("db", "memory", "2026-11-09", "800"),  # 9-15 Nov: the 7 days before Last 7 Days
    ("web", "cpu", "2026-11-15", "15"),
    ("web", "cpu", "2026-11-16", "10"),  # 16-22 Nov: Last 7 Days
    ("web", "storage", "2026-11-18", "7300"),
    ("db", "memory", "2026-11-20", "1000"),
    ("db", "bandwidth", "2026-11-21", "123.456"),
    ("web", "cpu", "2026-11-22", "20"),
]
NEIGHBOUR = [("web", "cpu", "2026-11-20", "999"), ("secret", "memory", "2026-11-20", "999")]


@pytest.fixture
def acme(customer, outsider, rollup):
    rollup(customer, ACME)
    rollup(outsider.memberships.get().customer, NEIGHBOUR)
    return customer


@pytest.fixture
def owner_client(client, owner, now):
    client.force_login(owner)
    return client


def page(client, query: str = "", **headers) -> str:
    response = client.get(f"/usage/{query}", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_last_7_days_cards_table_and_changes_are_the_hand_sums(acme, owner_client):
    html = page(owner_client)
    assert "16 Nov 2026 – 22 Nov 2026, UTC days" in text(html)
    # 10 + 20 vCPU-hours (15 on 15 Nov is the week before, 999 is the neighbour's): 30 x 0.031.
    # Before: 15, so +100%.
    assert card(html, "cpu") == (
        "CPU Hours 30.00 vCPU-hours €0.93 estimated ▲ +100% vs the previous 7 days"
    )
    # 1,000 GB-hours x 0.0042 = 4.20; before: 800, so +25%.
    assert card(html, "memory") == (
        "Memory 1,000.00 GB-hours €4.20 estimated ▲ +25% vs the previous 7 days"
    )
    # 7,300 GB-hours over 7 x 24 = 168 hours: 43.45 GB on average; 10 GB-months x 0.095.
    assert card(html, "storage") == (
        "Storage 43.45 average GB €0.95 estimated New nothing in the previous 7 days"
    )
    # 123.456 GB x 0.01 = 1.23456.
    assert card(html, "bandwidth") == (
        "Bandwidth 123.46 GB €1.23 estimated New nothing in the previous 7 days"
    )
    assert summary_rows(html) == [
        "db 0.00 1,000.00 0.00 123.46 €5.43",  # 4.20 + 1.23
        "web 30.00 0.00 43.45 0.00 €1.88",  # 0.93 + 0.95
        "Total Estimated Bill 30.00 1,000.00 43.45 123.46 €7.31",  # = the four cards
    ]


def test_this_month_so_far_and_the_projected_bill(acme, owner_client):
    html = page(owner_client)
    # November up to the 22nd, each service x metric priced as a whole month:
    # web cpu 0.5 + 15 + 10 + 20 = 45.5 x 0.031 = 1.4105 -> 1.41; web storage 0.95;
    # db memory 1,800 x 0.0042 = 7.56; db bandwidth 1.23. So far: 11.15.
    # The last 7 days cost 7.31; 8 days are left after the 22nd: 7.31 x 8 / 7 = 8.354 -> 8.35.
    outlook = text(html.split('aria-label="This month"')[1].split("</section>")[0])
    assert "This month so far €11.15 Estimated cost of November 2026 up to today" in outlook
    assert "Projected month-end bill €19.50" in outlook
    assert "(€7.31 a week) for the 8 days left" in outlook


def test_last_month_is_october_and_compares_with_september(acme, owner_client):
    html = page(owner_client, "?range=last-month")
    assert "October 2026 1 Oct 2026 – 31 Oct 2026, UTC days" in text(html)
    assert 'id="range-last-month" href="?range=last-month"' in html
    assert 'aria-current="page">Last Month</a>' in html
    # 100 + 0.5 = 100.5 x 0.031 = 3.1155 -> 3.12; September had 300: -66.5% -> -67%.
    assert card(html, "cpu") == (
        "CPU Hours 100.50 vCPU-hours €3.12 estimated ▼ −67% vs September 2026"
    )
    # 73,000 GB-hours over 31 x 24 = 744 hours: 98.12 GB; 100 GB-months x 0.095 = 9.50.
    assert card(html, "storage") == (
        "Storage 98.12 average GB €9.50 estimated New nothing in September 2026"
    )
    assert card(html, "memory") == (
        "Memory 0.00 GB-hours €0.00 estimated none in September 2026 either"
    )
    assert summary_rows(html) == [
        "db 0.00 0.00 98.12 0.00 €9.50",
        "web 100.50 0.00 0.00 0.00 €3.12",
        "Total Estimated Bill 100.50 0.00 98.12 0.00 €12.62",
    ]


def test_the_invoice_sheets_link_shows_one_service_in_one_month(acme, owner_client):
    html = page(owner_client, "?month=2026-10&service=web")
    assert "October 2026" in text(html)
    assert "Service web only" in text(html)
    assert summary_rows(html) == [
        "web 100.50 0.00 0.00 0.00 €3.12",
        "Total Estimated Bill 100.50 0.00 0.00 0.00 €3.12",
    ]
    assert card(html, "storage").startswith("Storage 0.00 average GB €0.00")
    # The range links keep the service; "Show all services" keeps the month.
    assert 'href="?range=7d&amp;service=web"' in html
    assert 'href="?month=2026-10"' in html
    assert 'href="/usage/export.csv?month=2026-10&amp;service=web"' in html


def test_the_current_month_so_far_compares_with_as_many_days_before(acme, owner_client):
    html = page(owner_client, "?month=2026-11")
    # 1-22 Nov (22 days) against 10-31 Oct: 45.5 vCPU-hours against 0.5.
    assert "November 2026 so far 1 Nov 2026 – 22 Nov 2026" in text(html)
    assert card(html, "cpu") == (
        "CPU Hours 45.50 vCPU-hours €1.41 estimated ▲ +9,000% vs the previous 22 days"
    )


def test_90_days_are_drawn_week_by_week_each_month_priced_on_its_own(acme, owner_client):
    html = page(owner_client, "?range=90d")
    assert "Estimated cost per week, EUR" in html
    # 25 Aug (a Tuesday) to 22 Nov: 25-30 Aug, then 12 weeks from Monday 31 Aug.
    assert html.count('<g class="chart-bar">') == 13
    assert "<title>16 Nov – 22 Nov 2026 · CPU Hours: 30.00 vCPU-hours, €0.93</title>" in html
    assert "<title>16 Nov – 22 Nov 2026 · Storage: 43.45 average GB, €0.95</title>" in html
    # 26 Oct - 1 Nov holds 0.5 vCPU-hours of October and 0.5 of November: each month priced
    # on its own, 0.0155 -> 0.02 twice, as their invoices will.
    assert "<title>26 Oct – 1 Nov 2026 · CPU Hours: 1.00 vCPU-hours, €0.04</title>" in html


def test_7_days_are_drawn_day_by_day(acme, owner_client):
    html = page(owner_client)
    assert html.count('<g class="chart-bar">') == 7
    assert "<title>22 Nov 2026 · CPU Hours: 20.00 vCPU-hours, €0.62</title>" in html
    assert "<title>21 Nov 2026 · Bandwidth: 123.46 GB, €1.23</title>" in html
    # The same figures in the chart's data table, and the summary's cells under their labels.
    assert '<td class="num">123.46 GB<span class="block muted small">€1.23</span></td>' in html
    assert '<td class="num" data-label="Bandwidth (GB)">123.46</td>' in html
    # A day without usage is a bar without segments, not a missing day.
    assert "17 Nov 2026 ·" not in html
    assert '<th scope="row">17 Nov 2026</th>' in html


def test_the_range_links_swap_only_the_content_with_htmx(acme, owner_client):
    response = owner_client.get("/usage/?range=last-month", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="usage-content"')
    assert "<html" not in body and "Billing Status" in body
    assert "HX-Request" in response["Vary"]
    # Without JavaScript the same links load the whole page.
    assert "<html" in page(owner_client, "?range=last-month")


def test_billing_status_counts_and_amounts_come_from_the_invoices(acme, owner_client):
    from billing import ledger
    from billing.models import Invoice
    from tests.factories import issued_invoice

    paid = issued_invoice(acme, [("web", "CPU", "1", "h", "100")], vat_rate=0)
    Invoice.objects.filter(pk=paid.pk).update(status="paid", amount_paid=paid.total)
    issued_invoice(acme, [("web", "CPU", "1", "h", "40")], vat_rate=0)
    overdue = issued_invoice(acme, [("web", "CPU", "1", "h", "60")], vat_rate=0)
    Invoice.objects.filter(pk=overdue.pk).update(status="overdue", amount_paid="10")
    ledger.recount_summaries([acme.pk])
    html = page(owner_client)
    status = text(html.split('class="table compact-table status-table"')[1].split("</table>")[0])
    assert "Paid 1 (33%) €100.00" in status
    assert "Unpaid 1 (33%) €40.00 outstanding" in status
    assert "Overdue 1 (33%) €50.00 outstanding" in status
    assert "<title>Overdue: 1 invoice (33%), €50.00</title>" in html


def test_a_customer_without_usage_is_told_what_will_appear(customer, owner_client):
    html = page(owner_client)
    assert "No usage reported yet" in html
    assert "bar-chart" not in html and "usage-table" not in html
    assert "No invoices yet" not in html  # no pie without invoices either


def test_a_range_without_usage_says_so_instead_of_empty_charts(acme, owner_client):
    html = page(owner_client, "?month=2026-06")
    assert "No usage in this range" in html
    assert "Nothing was metered from 1 Jun 2026 to 30 Jun 2026" in text(html)
    assert "bar-chart" not in html and "usage-table" not in html
    assert card(html, "cpu").startswith("CPU Hours 0.00 vCPU-hours €0.00")


def test_another_customers_usage_never_shows(acme, owner_client):
    # The neighbour's "secret" service is no name here: nothing, as for any unknown name.
    html = page(owner_client, "?service=secret")
    assert "No usage in this range" in html
    assert "999" not in text(html)
    assert "Nothing was metered for the service “secret”" in text(html)


def test_the_neighbour_sees_only_their_own_usage(acme, client, outsider, now):
    client.force_login(outsider)
    html = page(client)
    assert summary_rows(html) == [
        "secret 0.00 999.00 0.00 0.00 €4.20",  # 999 x 0.0042 = 4.1958
        "web 999.00 0.00 0.00 0.00 €30.97",  # 999 x 0.031 = 30.969
        "Total Estimated Bill 999.00 999.00 0.00 0.00 €35.17",
    ]


def test_a_viewer_reads_the_page_too(acme, client, viewer, now):
    client.force_login(viewer)
    assert "€7.31" in page(client)


def test_logged_out_visitors_are_sent_to_log_in(client):
    for path in ["/usage/", "/usage/export.csv", "/usage/daily.csv"]:
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        ("?range=bogus", "“bogus” is not a range; showing the last 7 days."),
        ("?range=%3Cscript%3E", "“&lt;script&gt;” is not a range"),
        ("?month=2026-13", "“2026-13” is not a month: write it as YYYY-MM"),
        ("?month=13-2026", "“13-2026” is not a month"),
        ("?month=0001-01", "“0001-01” is not a month"),
        ("?month=2026-1", "“2026-1” is not a month"),
        ("?month=2026-12", "December 2026 has not begun yet; showing the last 7 days."),
        ("?month=9999-12", "December 9999 has not begun yet"),
        ("?service=" + "x" * 121, "That is not a service name; showing all services."),
    ],
)
def test_bad_values_show_the_default_range_and_say_why(acme, owner_client, query, notice):
    # (A NUL character gets a page of its own: tests/portal/test_hostile_input.py.)
    html = page(owner_client, query)
    assert notice in html
    assert "16 Nov 2026 – 22 Nov 2026" in html
    assert "€7.31" in html  # all services
    for csv_path in ["/usage/export.csv", "/usage/daily.csv"]:
        response = owner_client.get(csv_path + query)
        assert response.status_code == 200
        assert "2026-11-16_2026-11-22.csv" in response["Content-Disposition"]


def test_a_hostile_service_name_is_only_ever_text(acme, owner_client, rollup):
    rollup(acme, [("<img src=x onerror=alert(1)>", "cpu", "2026-11-20", "1")])
    html = page(owner_client, "?service=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_repeated_parameters_take_the_last_one(acme, owner_client):
    assert "October 2026" in text(page(owner_client, "?range=7d&range=last-month"))


def test_usage_is_mounted_once_with_its_csvs_and_prices_beneath_it():
    mounts = [str(pattern.pattern) for pattern in urls.urlpatterns]
    assert mounts.count("usage/") == 1
    (usage,) = [pattern for pattern in urls.urlpatterns if str(pattern.pattern) == "usage/"]
    assert [p.name for p in usage.url_patterns] == [
        "usage",
        "usage_export_csv",
        "usage_daily_csv",
        "usage_prices",
    ]


def test_the_page_is_in_the_sidebar_and_marked_current(acme, owner_client):
    html = page(owner_client)
    assert '<a href="/usage/" aria-current="page">' in html


def test_a_single_slice_pie_is_a_whole_circle(acme, owner_client):
    from tests.factories import issued_invoice

    issued_invoice(acme, [("web", "CPU", "1", "h", "40")], vat_rate=0)
    html = page(owner_client)
    assert '<circle class="slice" data-status="unpaid"' in html
    assert "<title>Unpaid: 1 invoice (100%), €40.00</title>" in html


def test_other_customers_never_appear_in_the_pie(acme, owner_client, outsider):
    from tests.factories import issued_invoice

    issued_invoice(outsider.memberships.get().customer, [("x", "y", "1", "h", "999")])
    html = page(owner_client)
    assert "status-table" not in html
    assert "No invoices yet" in html


def test_a_user_who_chose_swedish_reads_the_page_in_swedish(acme, owner_client, owner):
    owner.language = "sv"
    owner.save()
    html = page(owner_client)
    assert '<html lang="sv"' in html
    assert "<h1>Förbrukning</h1>" in html
    assert 'aria-current="page">Senaste 7 dagarna</a>' in html
    assert ">Förra månaden</a>" in html and ">Senaste 90 dagarna</a>" in html
    assert "Senaste 7 dagarna 16 nov 2026 – 22 nov 2026, UTC-dygn" in text(html)
    # The same hand sums as in English, as Swedes write them (1 000,00; 0,93 €).
    assert card(html, "cpu") == (
        "CPU-timmar 30,00 vCPU-timmar 0,93 € uppskattad ▲ +100 % "
        "jämfört med de föregående 7 dagarna"
    )
    assert card(html, "storage") == (
        "Lagring 43,45 GB i snitt 0,95 € uppskattad Ny inget under de föregående 7 dagarna"
    )
    assert summary_rows(html)[-1] == "Total uppskattad kostnad 30,00 1 000,00 43,45 123,46 7,31 €"
    assert "Beräknad kostnad vid månadens slut 19,50 €" in text(html)
    assert "Resursförbrukning" in html and "Faktureringsstatus" in html
    # The chart's axes: euros after the number, Swedish short month names.
    assert ">0,00\u00a0€</text>" in html and ">16 nov</text>" in html
    assert "Oktober 2026 1 okt 2026 – 31 okt 2026, UTC-dygn" in text(
        page(owner_client, "?range=last-month")
    )
    for english in ("Total Estimated Bill", "Last Month", "CPU Hours", "estimated"):
        assert english not in html


def options_of(html: str, name: str) -> list[tuple[str, str, bool]]:
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    return [
        (value, label, bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select
        )
    ]


def test_the_month_picker_offers_the_months_with_usage_and_the_service_filter_the_services(
    acme, owner_client
):
    html = page(owner_client, "?month=2026-10&service=db")
    # September to November 2026 have usage (ACME above); the neighbour's services are not here.
    assert options_of(html, "month") == [
        ("", "Last 7 Days", False),
        ("2026-11", "November 2026", False),
        ("2026-10", "October 2026", True),
        ("2026-09", "September 2026", False),
    ]
    assert options_of(html, "service") == [
        ("", "All services", False),
        ("db", "db", True),
        ("web", "web", False),
    ]
    assert 'name="range"' not in html.split('class="usage-filter"')[1].split("</form>")[0]


def test_the_filter_form_without_javascript_keeps_the_range_when_no_month_is_chosen(
    acme, owner_client
):
    html = page(owner_client, "?range=90d")
    form = html.split('class="usage-filter"')[1].split("</form>")[0]
    assert 'method="get"' in html.split("usage-filter")[1][:80]
    assert '<input type="hidden" name="range" value="90d">' in form
    # What the browser sends when only a service is chosen: the range stays Last 90 Days.
    submitted = page(owner_client, "?range=90d&month=&service=web")
    assert 'aria-current="page">Last 90 Days</a>' in submitted
    assert "Service <strong>web</strong> only" in submitted
    # A month chosen with the form wins over the range it carried.
    assert "October 2026" in text(page(owner_client, "?range=90d&month=2026-10&service="))


def test_a_service_that_is_not_in_the_list_is_shown_as_text_only(acme, owner_client):
    html = page(owner_client, '?service="><script>x</script>')
    assert "<script>x</script>" not in html
    assert [label for _, label, _ in options_of(html, "service")] == ["All services", "db", "web"]
