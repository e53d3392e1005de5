"""Which UTC days a range holds: chosen by the customer's own date, counted in UTC days."""

import datetime

import pytest

from tests.factories import CustomerFactory, MembershipFactory
from tests.usage.conftest import summary_rows, text

pytestmark = pytest.mark.django_db


def at(time_machine, iso: str) -> None:
    time_machine.move_to(datetime.datetime.fromisoformat(iso))


def page(client, owner, query: str = "") -> str:
    client.force_login(owner)
    response = client.get(f"/usage/{query}")
    assert response.status_code == 200
    return text(response.content.decode())


@pytest.fixture
def usage_around_new_year(customer, rollup):
    rollup(
        customer,
        [
            ("web", "cpu", "2026-11-30", "1"),
            ("web", "cpu", "2026-12-01", "10"),
            ("web", "cpu", "2026-12-25", "100"),
            ("web", "cpu", "2026-12-31", "1000"),
            ("web", "cpu", "2027-01-01", "10000"),
        ],
    )
    return customer


def test_last_month_seen_on_january_1st_is_december_of_the_year_before(
    usage_around_new_year, client, owner, time_machine
):
    at(time_machine, "2027-01-01T08:00:00+00:00")
    shown = page(client, owner, "?range=last-month")
    assert "December 2026 1 Dec 2026 – 31 Dec 2026, UTC days" in shown
    # 10 + 100 + 1,000 vCPU-hours; November (1) before it.
    assert "Total Estimated Bill 1,110.00" in shown
    assert "vs November 2026" in shown


def test_at_23_59_59_utc_today_is_still_the_last_day_of_the_range(
    usage_around_new_year, client, owner, time_machine
):
    at(time_machine, "2026-12-31T23:59:59+00:00")
    shown = page(client, owner)
    assert "25 Dec 2026 – 31 Dec 2026, UTC days" in shown
    assert "Total Estimated Bill 1,100.00" in shown  # 25 and 31 Dec; not 1 Jan
    assert "November 2026 1 Nov 2026 – 30 Nov 2026" in page(client, owner, "?range=last-month")

    at(time_machine, "2027-01-01T00:00:00+00:00")  # one second later: a new day, a new year
    shown = page(client, owner)
    assert "26 Dec 2026 – 1 Jan 2027, UTC days" in shown
    assert "Total Estimated Bill 11,000.00" in shown  # 31 Dec and 1 Jan
    assert "December 2026 1 Dec 2026 – 31 Dec 2026" in page(client, owner, "?range=last-month")


def test_a_customer_in_auckland_is_a_day_ahead_of_utc(client, rollup, time_machine):
    """At noon UTC on 22 Nov it is 01:00 on 23 Nov in Auckland: the range ends on the UTC day
    23 Nov, which has nothing yet, and starts on 17 Nov."""
    auckland = CustomerFactory(timezone="Pacific/Auckland")
    owner = MembershipFactory(customer=auckland).user
    rollup(
        auckland,
        [
            ("web", "cpu", "2026-11-16", "1"),
            ("web", "cpu", "2026-11-17", "10"),
            ("web", "cpu", "2026-11-22", "100"),
        ],
    )
    at(time_machine, "2026-11-22T12:00:00+00:00")
    shown = page(client, owner)
    assert "17 Nov 2026 – 23 Nov 2026, UTC days" in shown
    assert "Total Estimated Bill 110.00" in shown
    # And on 1 Dec in Auckland (30 Nov, 11:00 UTC), Last Month is already November.
    at(time_machine, "2026-11-30T11:00:00+00:00")
    assert "November 2026 1 Nov 2026 – 30 Nov 2026" in page(client, owner, "?range=last-month")


def test_a_customer_in_los_angeles_is_a_day_behind(client, rollup, time_machine):
    """At 02:00 UTC on 1 Dec it is still 30 Nov in Los Angeles: Last Month is October, and
    This month so far is November's."""
    customer = CustomerFactory(timezone="America/Los_Angeles")
    owner = MembershipFactory(customer=customer).user
    rollup(customer, [("web", "cpu", "2026-11-30", "100"), ("web", "cpu", "2026-12-01", "1")])
    at(time_machine, "2026-12-01T02:00:00+00:00")
    assert "October 2026" in page(client, owner, "?range=last-month")
    shown = page(client, owner)
    assert "24 Nov 2026 – 30 Nov 2026, UTC days" in shown
    # 100 x 0.031 = 3.10 so far in November; no day left after the 30th: projected 3.10.
    assert "This month so far €3.10 Estimated cost of November 2026" in shown
    assert "Projected month-end bill €3.10" in shown


def test_the_range_tables_hold_only_the_ranges_days(
    usage_around_new_year, client, owner, time_machine
):
    at(time_machine, "2027-01-01T08:00:00+00:00")
    client.force_login(owner)
    response = client.get("/usage/?range=90d")
    # 90 days to 1 Jan 2027: from 4 Oct 2026. Every row counted once.
    assert "4 Oct 2026 – 1 Jan 2027" in text(response.content.decode())
    assert summary_rows(response.content.decode())[-1].startswith("Total Estimated Bill 11,111.00")
