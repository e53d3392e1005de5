"""The Usage page's projection is before VAT and says so; beside it, billing's card adds the
VAT the month's invoice would charge (billing/vat.py), rounded half-up once on the total.

Hand figures, "now" Sunday 22 Nov 2026: 140 vCPU-hours on 20 Nov at €0.031 = €4.34 so far and
in the last 7 days; 8 days left: 4.34 x 8 / 7 = 4.96, projected €9.30 excl. VAT.
"""

import re

import pytest

from tests.factories import CustomerFactory, MembershipFactory
from tests.usage.conftest import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_for(client, rollup, now):
    def page(**customer_fields) -> str:
        customer = CustomerFactory(**customer_fields)
        rollup(customer, [("web", "cpu", "2026-11-20", "140")])
        client.force_login(MembershipFactory(customer=customer).user)
        response = client.get("/usage/")
        assert response.status_code == 200
        return response.content.decode()

    return page


def outlook(html: str) -> str:
    return text(html.split('aria-label="This month"')[1].split("</section>")[0])


def vat_card(html: str) -> str:
    match = re.search(r'<div class="card" data-outlook="vat">(.*?)</div>', html, re.S)
    assert match, "no VAT card"
    return text(match[1])


def test_a_swedish_customer_sees_25_percent_vat_rounded_half_up_once(page_for):
    html = page_for(country="SE", vat_id="SE556000000101")
    assert "Projected month-end bill €9.30 excl. VAT" in outlook(html)
    # 9.30 x 25% = 2.325: half-up to 2.33 (half-even would give 2.32); 9.30 + 2.33 = 11.63.
    assert vat_card(html) == (
        "Projected bill incl. VAT €11.63 €9.30 excl. VAT, plus VAT 25%: €2.33"
    )


def test_a_reverse_charged_eu_business_pays_no_vat_and_is_told_why(page_for):
    html = page_for(country="DE", vat_id="DE123456788")
    assert vat_card(html) == (
        "Projected bill incl. VAT €9.30 €9.30 excl. VAT, plus VAT 0%: €0.00 "
        "Reverse charge: no VAT is charged; you account for it in your country."
    )


def test_a_customer_outside_the_eu_pays_no_vat(page_for):
    html = page_for(country="US", vat_id="")
    assert vat_card(html) == (
        "Projected bill incl. VAT €9.30 €9.30 excl. VAT, plus VAT 0%: €0.00 "
        "Outside the EU: no VAT is charged."
    )


def test_a_german_consumer_pays_germanys_vat(page_for):
    # One-Stop-Shop: 9.30 x 19% = 1.767 -> 1.77; 11.07.
    html = page_for(country="DE", vat_id="")
    assert vat_card(html).startswith("Projected bill incl. VAT €11.07 €9.30 excl. VAT")
    assert "VAT 19%: €1.77" in vat_card(html)


def test_the_summary_tables_costs_say_they_are_before_vat(page_for):
    html = page_for()
    header = html.split('<table class="table usage-table">')[1].split("</thead>")[0]
    assert "Estimated Cost excl. VAT" in text(header)
    assert 'data-label="Estimated Cost, excl. VAT"' in html


def test_the_swedish_page_says_it_in_swedish(page_for, client):
    html = page_for(country="SE")
    user = client.get("/usage/").wsgi_request.user
    user.language = "sv"
    user.save()
    html = client.get("/usage/").content.decode()
    assert "11,63 €" in vat_card(html) and "2,33 €" in vat_card(html)
    for english in ("excl. VAT", "Projected bill incl. VAT", "plus VAT"):
        assert english not in html
