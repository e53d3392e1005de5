"""The EU VAT rule (billing/vat.py): the seller's country pays its VAT; an EU business with a
valid VAT id of its own country is reverse-charged; an EU consumer pays its own country's
rate (One-Stop-Shop, dated), or the seller's under the €10,000 threshold; outside the EU is
out of scope. Invoice pages and PDFs say why no VAT is charged; issued invoices keep theirs."""

import datetime
from decimal import Decimal

import pytest

from accounts import services as account_services
from accounts.models import TaxChange
from billing import services
from billing.models import Invoice
from billing.pdf import render_invoice_pdf
from billing.vat import vat_for
from tests.billing.conftest import pdf_text
from tests.factories import CustomerFactory, UserFactory, issued_invoice

DAY = datetime.date(2026, 12, 1)
SELLER_VAT_ID = "SE559900112201"  # the default seller's
REVERSE_CHARGE = "Reverse charge, Art. 196 Directive 2006/112/EC"
OUT_OF_SCOPE = "Out of scope of EU VAT"
LINE = [("vm", "vCPU-hours", "10", "h", "10.00")]  # 100.00 before VAT


def flat(text: str) -> str:
    return " ".join(text.split())


# Sellers: in Sweden (VAT_RATE 25.00), the same under the EU threshold, in Germany (19.00).
SE, SE_SMALL, DE = ("SE", "25.00", False), ("SE", "25.00", True), ("DE", "19.00", False)
RC, EU, OWN, OUT = "reverse_charge", "eu_consumer", "eu_consumer_seller_vat", "out_of_scope"
D = datetime.date
# The rates are the member states' standard rates as the European Commission lists them.
CASES = [
    # what, seller, customer's country and VAT id, day, expected treatment and rate
    ("domestic business", SE, "SE", "SE556000000101", DAY, "domestic", "25.00"),
    ("domestic consumer", SE, "SE", "", DAY, "domestic", "25.00"),
    ("domestic, under the threshold", SE_SMALL, "SE", "", DAY, "domestic", "25.00"),
    ("German business", SE, "DE", "DE123456788", DAY, RC, "0.00"),
    ("Greek business (EL)", SE, "GR", "EL094259216", DAY, RC, "0.00"),
    ("Austrian business", SE, "AT", "ATU13585627", DAY, RC, "0.00"),
    ("business, under the threshold", SE_SMALL, "DE", "DE123456788", DAY, RC, "0.00"),
    ("German VAT id, wrong check digit", SE, "DE", "DE123456789", DAY, EU, "19.00"),
    ("another country's VAT id", SE, "DE", "SE556000000101", DAY, EU, "19.00"),
    ("German consumer", SE, "DE", "", DAY, EU, "19.00"),
    ("Hungarian consumer", SE, "HU", "", DAY, EU, "27.00"),
    ("Luxembourg consumer", SE, "LU", "", DAY, EU, "17.00"),
    ("Finnish consumer, August 2024", SE, "FI", "", D(2024, 8, 31), EU, "24.00"),
    ("Finnish consumer, September 2024", SE, "FI", "", D(2024, 9, 1), EU, "25.50"),
    ("Estonian consumer, June 2025", SE, "EE", "", D(2025, 6, 30), EU, "22.00"),
    ("Estonian consumer, July 2025", SE, "EE", "", D(2025, 7, 1), EU, "24.00"),
    ("Slovak consumer, 2024", SE, "SK", "", D(2024, 12, 31), EU, "20.00"),
    ("Slovak consumer, 2025", SE, "SK", "", D(2025, 1, 1), EU, "23.00"),
    ("German consumer, before the table", SE, "DE", "", D(2021, 5, 1), EU, "19.00"),
    ("consumer, under the threshold", SE_SMALL, "DE", "", DAY, OWN, "25.00"),
    ("US business", SE, "US", "12-3456789", DAY, OUT, "0.00"),
    ("Norwegian business", SE, "NO", "974760673MVA", DAY, OUT, "0.00"),
    ("UK consumer", SE, "GB", "", DAY, OUT, "0.00"),
    ("Swiss consumer, under the threshold", SE_SMALL, "CH", "", DAY, OUT, "0.00"),
    ("seller in Germany: German consumer", DE, "DE", "", DAY, "domestic", "19.00"),
    ("seller in Germany: Swedish consumer", DE, "SE", "", DAY, EU, "25.00"),
    ("seller in Germany: Swedish business", DE, "SE", "SE556000000101", DAY, RC, "0.00"),
]


@pytest.fixture
def seller_in(settings):
    def configure(country: str, rate: str, under_threshold: bool) -> None:
        settings.SELLER = settings.SELLER | {"country": country}
        settings.VAT_RATE = Decimal(rate)
        settings.SELLER_UNDER_EU_VAT_THRESHOLD = under_threshold

    return configure


@pytest.mark.parametrize(
    ("seller", "country", "vat_id", "day", "treatment", "rate"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_eu_vat_rule(seller_in, seller, country, vat_id, day, treatment, rate):
    seller_in(*seller)
    vat = vat_for(country=country, vat_id=vat_id, on=day)
    assert (vat.treatment, vat.rate) == (treatment, Decimal(rate))


# ---- Invoices ----


@pytest.mark.both_databases
def test_an_eu_consumer_pays_the_vat_of_their_country(db):
    german = CustomerFactory(country="DE", vat_id="")
    invoice = issued_invoice(german, LINE)
    # 100.00 + 19% = 119.00
    assert (invoice.vat_rate, invoice.vat_amount, invoice.total) == (
        Decimal("19.00"),
        Decimal("19.00"),
        Decimal("119.00"),
    )
    assert invoice.vat_treatment == "eu_consumer"


def test_a_usage_month_takes_the_rate_in_force_at_its_end(db):
    finnish = CustomerFactory(country="FI", vat_id="")

    def month(first, last):
        return services.create_draft(customer=finnish, period_start=first, period_end=last)

    august = month(datetime.date(2024, 8, 1), datetime.date(2024, 8, 31))
    september = month(datetime.date(2024, 9, 1), datetime.date(2024, 9, 30))
    assert (august.vat_rate, september.vat_rate) == (Decimal("24.00"), Decimal("25.50"))


def test_a_reverse_charge_invoice_says_so_with_both_vat_ids(client, db):
    german = CustomerFactory(country="DE", vat_id="DE123456788")
    owner = UserFactory()
    german.memberships.create(user=owner, role="owner")
    invoice = issued_invoice(german, LINE)
    assert (invoice.vat_rate, invoice.total) == (Decimal("0.00"), Decimal("100.00"))

    text = flat("".join(pdf_text(render_invoice_pdf(invoice))))
    assert REVERSE_CHARGE in text
    assert f"Seller's VAT id {SELLER_VAT_ID}, customer's VAT id DE123456788" in text

    client.force_login(owner)
    page = flat(client.get(f"/invoices/{invoice.number}/").content.decode()).replace("&#x27;", "'")
    assert REVERSE_CHARGE in page
    assert f"Seller's VAT id {SELLER_VAT_ID}, customer's VAT id DE123456788" in page


def test_a_customer_outside_the_eu_is_told_the_invoice_is_out_of_scope(client, db):
    american = CustomerFactory(country="US", vat_id="")
    owner = UserFactory()
    american.memberships.create(user=owner, role="owner")
    invoice = issued_invoice(american, LINE)
    assert (invoice.vat_rate, invoice.total) == (Decimal("0.00"), Decimal("100.00"))
    assert OUT_OF_SCOPE in flat("".join(pdf_text(render_invoice_pdf(invoice))))
    client.force_login(owner)
    assert OUT_OF_SCOPE in client.get(f"/invoices/{invoice.number}/").content.decode()
    assert REVERSE_CHARGE not in client.get(f"/invoices/{invoice.number}/").content.decode()


def test_domestic_and_consumer_invoices_carry_no_note(db):
    for customer in (CustomerFactory(), CustomerFactory(country="DE", vat_id="")):
        text = flat("".join(pdf_text(render_invoice_pdf(issued_invoice(customer, LINE)))))
        assert REVERSE_CHARGE not in text and OUT_OF_SCOPE not in text


def test_a_credit_note_keeps_its_invoices_treatment(db):
    german = CustomerFactory(country="DE", vat_id="DE123456788")
    invoice = issued_invoice(german, LINE)
    note = services.issue_credit_note(invoice=invoice, reason="SLA", net_amount=Decimal("10"))
    assert (note.vat_treatment, note.vat_rate, note.total) == (
        "reverse_charge",
        Decimal("0.00"),
        Decimal("-10.00"),
    )
    assert REVERSE_CHARGE in flat("".join(pdf_text(render_invoice_pdf(note))))


def test_an_issued_invoice_keeps_its_vat_when_the_customer_changes(db, settings):
    german = CustomerFactory(country="DE", vat_id="DE123456788")
    owner, staff = UserFactory(), UserFactory(is_staff=True)
    invoice = issued_invoice(german, LINE)
    german.vat_id = ""  # the owner asks to be a consumer; staff approve
    account_services.customer_info_save(customer=german, actor=owner)
    account_services.tax_change_approve(change=TaxChange.objects.get(), actor=staff)
    settings.SELLER_UNDER_EU_VAT_THRESHOLD = True

    invoice = Invoice.objects.get(pk=invoice.pk)
    assert (invoice.vat_treatment, invoice.vat_rate, invoice.total) == (
        "reverse_charge",
        Decimal("0.00"),
        Decimal("100.00"),
    )
    text = flat("".join(pdf_text(render_invoice_pdf(invoice))))
    assert "customer's VAT id DE123456788" in text
    german.refresh_from_db()
    later = issued_invoice(german, LINE)  # under the threshold now: the seller's 25%
    assert (later.vat_treatment, later.total) == ("eu_consumer_seller_vat", Decimal("125.00"))
