"""The Usage page and its CSVs ask the database the same few questions whatever the history:
10 days or 400 days of rollup, one service or twelve."""

import datetime
from decimal import Decimal

import pytest

from tests.factories import CustomerFactory, MembershipFactory
from tests.htmx import HTMX
from usage.models import DailyUsage, Metric, Service

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 22)
# 3 for the login (session, user, memberships); the page: whether there is usage, the price
# book (3), the priced spans (1), the daily series, the invoices by status, the months held back
# by the aggregation and those a run could not invoice, the months with usage (the month
# picker), the service names (the filter) and, for a calendar month, its invoice (none here;
# an invoiced month adds its late usage and the invoices that billed it). A CSV: the price
# book and its rows (the daily CSV also its late usage).
PAGE_QUERIES = 15
CSV_QUERIES = 8


def customer_with_history(days: int, services: int):
    customer = CustomerFactory()
    owner = MembershipFactory(customer=customer).user
    rows = []
    for n in range(services):
        service = Service.objects.create(customer=customer, name=f"service-{n}")
        for age in range(days):
            for metric in Metric.values:
                rows.append(
                    DailyUsage(
                        customer=customer,
                        service=service,
                        metric=metric,
                        day=TODAY - datetime.timedelta(days=age),
                        quantity=Decimal(age + 1),
                    )
                )
    DailyUsage.objects.bulk_create(rows)
    return owner


@pytest.mark.parametrize(("days", "services"), [(10, 1), (400, 12)])
@pytest.mark.parametrize("query", ["", "?range=last-month", "?range=90d", "?month=2026-02"])
def test_the_page_asks_the_same_few_questions_whatever_the_history(
    client, now, django_assert_max_num_queries, days, services, query
):
    client.force_login(customer_with_history(days, services))
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(f"/usage/{query}")
    assert response.status_code == 200
    with django_assert_max_num_queries(PAGE_QUERIES):
        client.get(f"/usage/{query}", **HTMX)


@pytest.mark.parametrize(("days", "services"), [(10, 1), (400, 12)])
@pytest.mark.parametrize("path", ["/usage/export.csv?range=90d", "/usage/daily.csv?range=90d"])
def test_the_csvs_ask_the_same_few_questions_whatever_the_history(
    client, now, django_assert_max_num_queries, days, services, path
):
    client.force_login(customer_with_history(days, services))
    with django_assert_max_num_queries(CSV_QUERIES):
        assert client.get(path).status_code == 200


def test_the_month_picker_lists_the_months_with_usage_newest_first_in_one_query(
    django_assert_num_queries,
):
    from usage.selectors import usage_months

    customer, other = CustomerFactory(), CustomerFactory()
    service = Service.objects.create(customer=customer, name="web")
    days = ["2024-12-31", "2026-09-01", "2026-09-30", "2026-11-01", "2026-11-22"]
    DailyUsage.objects.bulk_create(
        DailyUsage(customer=customer, service=service, metric="cpu", day=day, quantity=1)
        for day in days
    )
    elsewhere = Service.objects.create(customer=other, name="web")
    DailyUsage.objects.create(
        customer=other, service=elsewhere, metric="cpu", day="2026-10-15", quantity=1
    )

    with django_assert_num_queries(1):
        months = usage_months(customer)

    # No October (only the other customer used anything then), no month twice.
    assert months == [
        datetime.date(2026, 11, 1),
        datetime.date(2026, 9, 1),
        datetime.date(2024, 12, 1),
    ]
    assert usage_months(CustomerFactory()) == []
