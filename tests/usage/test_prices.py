"""The Prices page: the customer's plan, a unit price per metric with the month it applies
from, as the estimates and invoices price usage (usage/pricing.py). "Now" is 22 Nov 2026.

Standard plan (the migration): CPU €0.031 per vCPU-hour, memory €0.0042 per GB-hour, storage
€0.095 per GB-month, bandwidth €0.01 per GB, from January 2020.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client

from tests.usage.conftest import text
from usage.models import CustomerPlan, DefaultPlan, Price, PricingPlan

pytestmark = pytest.mark.django_db

STANDARD = [
    "CPU Hours €0.031 per vCPU-hour January 2020",
    "Memory €0.0042 per GB-hour January 2020",
    "Storage €0.095 per GB-month January 2020",
    "Bandwidth €0.01 per GB January 2020",
]


def month(year: int, number: int) -> datetime.date:
    return datetime.date(year, number, 1)


def plan(name: str, start: datetime.date, **prices: str) -> PricingPlan:
    """A plan with prices from `start` (created directly: the admin refuses past months)."""
    created = PricingPlan.objects.create(name=name)
    for metric, unit_price in prices.items():
        Price.objects.create(
            plan=created, metric=metric, unit_price=Decimal(unit_price), effective_from=start
        )
    return created


def page(client, **headers) -> str:
    response = client.get("/usage/prices/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def steps(html: str) -> list[tuple[str, str, list[str]]]:
    """(heading, plan and badge, [price rows]) of each step, as shown, newest first."""
    found = []
    for section in re.findall(r'<section class="panel price-step"(.*?)</section>', html, re.S):
        heading = text(re.search(r"<h2[^>]*>(.*?)</h2>", section, re.S)[1])
        header = text(section.split('<div class="panel-header">')[1].split("<table")[0])
        rows = [text(row) for row in re.findall(r"<tr data-metric[^>]*>(.*?)</tr>", section, re.S)]
        found.append((heading, header, rows))
    return found


def test_a_customer_on_the_default_plan_sees_its_prices_per_priced_unit(
    customer, owner_client, now
):
    # The default plan is Standard since 2000, but it has prices only from January 2020.
    assert steps(page(owner_client)) == [
        ("From January 2020", "From January 2020 In force Plan Standard", STANDARD)
    ]


def test_a_plan_change_mid_history_shows_both_with_their_months(customer, owner_client, now):
    partner = plan("Partner", month(2026, 9), cpu="0.025", memory="0.004", storage="0.09")
    CustomerPlan.objects.create(customer=customer, plan=partner, effective_from=month(2026, 10))
    shown = steps(page(owner_client))
    assert shown == [
        (
            "From October 2026",
            "From October 2026 In force Plan Partner",
            [
                "CPU Hours €0.025 per vCPU-hour October 2026",
                "Memory €0.004 per GB-hour October 2026",
                "Storage €0.09 per GB-month October 2026",
                "Bandwidth No price: such usage cannot be invoiced October 2026",
            ],
        ),
        (
            "January 2020 to September 2026",
            "January 2020 to September 2026 Plan Standard",
            STANDARD,
        ),
    ]


def test_unit_prices_keep_six_places_and_a_new_price_says_from_when(customer, owner_client, now):
    gold = plan("Gold", month(2026, 1), cpu="0.031", memory="0.0042", storage="0.095")
    Price.objects.create(
        plan=gold, metric="bandwidth", unit_price="0.01", effective_from=month(2026, 1)
    )
    CustomerPlan.objects.create(customer=customer, plan=gold, effective_from=month(2026, 1))
    Price.objects.create(
        plan=gold, metric="cpu", unit_price=Decimal("0.012345"), effective_from=month(2027, 1)
    )
    upcoming, current, standard = steps(page(owner_client))
    assert upcoming[:2] == ("From January 2027", "From January 2027 Upcoming Plan Gold")
    # Only CPU changes: the other prices go on from the month the customer moved to Gold.
    assert upcoming[2] == [
        "CPU Hours €0.012345 per vCPU-hour January 2027",
        "Memory €0.0042 per GB-hour January 2026",
        "Storage €0.095 per GB-month January 2026",
        "Bandwidth €0.01 per GB January 2026",
    ]
    assert current[:2] == (
        "January 2026 to December 2026",
        "January 2026 to December 2026 In force Plan Gold",
    )
    assert standard[0] == "January 2020 to December 2025"


def test_a_change_of_default_plan_shows_for_a_customer_without_a_plan_of_its_own(
    customer, owner_client, now
):
    cheap = plan("Cheap", month(2026, 1), cpu="0.02", memory="0.003", storage="0.08", bandwidth="0")
    DefaultPlan.objects.create(plan=cheap, effective_from=month(2026, 11))
    (current, standard) = steps(page(owner_client))
    assert current[1] == "From November 2026 In force Plan Cheap"
    assert current[2][3] == "Bandwidth €0.00 per GB November 2026"
    assert standard[0] == "January 2020 to October 2026"


def test_another_customers_plan_never_shows(customer, owner_client, outsider, now):
    secret = plan("Secret Gold", month(2026, 1), cpu="0.000777")
    neighbour = outsider.memberships.get().customer
    CustomerPlan.objects.create(customer=neighbour, plan=secret, effective_from=month(2026, 2))
    html = page(owner_client)
    assert "Secret Gold" not in html and "0.000777" not in html
    assert steps(html) == [
        ("From January 2020", "From January 2020 In force Plan Standard", STANDARD)
    ]
    # The neighbour sees its own plan, and the Standard months before it.
    theirs = Client()
    theirs.force_login(outsider)
    assert [step[0] for step in steps(page(theirs))] == [
        "From February 2026",
        "January 2020 to January 2026",
    ]


def test_a_viewer_reads_the_prices_and_a_visitor_is_sent_to_log_in(client, viewer, now):
    response = client.get("/usage/prices/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(viewer)
    assert "Plan <strong>Standard</strong>" in page(client)


def test_the_usage_page_links_to_the_prices(customer, owner_client, now):
    response = owner_client.get("/usage/")
    assert '<a href="/usage/prices/">See your prices</a>' in response.content.decode()
    # The Prices page is under Usage in the sidebar.
    assert '<a href="/usage/" aria-current="page">' in page(owner_client)


def test_the_page_asks_three_questions_however_long_the_history(
    customer, owner_client, now, django_assert_max_num_queries
):
    for n in range(12):
        changed = plan(f"Plan {n}", month(2025, n + 1), cpu=f"0.0{n + 10}", memory="0.004")
        CustomerPlan.objects.create(
            customer=customer, plan=changed, effective_from=month(2025, n + 1)
        )
        DefaultPlan.objects.create(plan=changed, effective_from=month(2024, n + 1))
    # 3 for the login (session, user, memberships); the page: the customer's plans, the
    # default plans, the prices of the plans in force.
    with django_assert_max_num_queries(6):
        html = page(owner_client)
    assert len(steps(html)) == 12 + 12 + 1  # 2025 by month, 2024 by default, Standard before


def test_a_customer_who_chose_swedish_reads_the_page_in_swedish(customer, owner_client, owner, now):
    owner.language = "sv"
    owner.save()
    html = page(owner_client)
    assert "<h1>Priser</h1>" in html
    heading, header, rows = steps(html)[0]
    assert heading == "Från januari 2020"
    assert rows[0] == "CPU-timmar 0,031 € per vCPU-timme Januari 2020"
    assert rows[2] == "Lagring 0,095 € per GB-månad Januari 2020"
    assert "Prisplan <strong>Standard</strong>" in html
    for english in ("Unit price", "Applies from", "In force", "Back to Usage"):
        assert english not in html


def test_a_customer_without_any_price_is_told_so(owner_client, now):
    DefaultPlan.objects.all().delete()
    html = page(owner_client)
    assert "No prices yet" in html and "price-step" not in html


def test_a_month_without_a_default_plan_says_usage_cannot_be_invoiced(owner_client, now):
    DefaultPlan.objects.create(plan=None, effective_from=month(2026, 12))
    upcoming, _ = steps(page(owner_client))
    assert upcoming[1] == (
        "From December 2026 Upcoming No price plan: usage of these months cannot be invoiced "
        "until our billing team sets one."
    )
    assert upcoming[2] == []
