"""Every customer billed in its own currency: totals, cards, CSVs and Stripe amounts in the
invoice's currency and its minor unit, never summed across currencies (issue 24)."""

import datetime
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pytest
from django.forms import modelform_factory
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Customer
from billing import checkout, invoicing, payment_selectors, stripe_gateway
from billing.admin.profiles import BillingProfileForm
from billing.exceptions import PaymentRefused
from billing.models import BillingProfile, CheckoutSession, Invoice
from billing.selectors import credit_balance, invoice_stats
from tests.billing.conftest import completed, deliver
from tests.factories import CustomerFactory, draft_invoice, issued_invoice
from usage import exports
from usage import selectors as usage_selectors
from usage.models import CustomerPlan, DailyUsage, Price, PricingPlan, Service
from usage.ranges import month_range

pytestmark = pytest.mark.django_db

# ISO 4217 minor units, written out by hand for the test (not read from core.money).
PLACES = {"SEK": 2, "EUR": 2, "USD": 2, "NOK": 2, "JPY": 0}
SEPTEMBER = datetime.date(2026, 9, 1)
OCTOBER = datetime.date(2026, 10, 1)


def half_up(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-PLACES[currency]), rounding=ROUND_HALF_UP)


@pytest.fixture
def currencies(settings):
    settings.BILLING_CURRENCIES = [*settings.BILLING_CURRENCIES, "JPY"]


class RecordingStripe:
    """Stands in for the Stripe client: keeps each Checkout Session's parameters."""

    def __init__(self):
        self.sessions = []
        self.v1 = SimpleNamespace(checkout=SimpleNamespace(sessions=self))

    def create(self, *, params, options):
        self.sessions.append(params)
        n = len(self.sessions)
        return SimpleNamespace(
            id=f"cs_test_{n}", url=f"https://stripe.test/{n}", expires_at=params["expires_at"]
        )


prices = st.decimals(min_value="0.000001", max_value="50", places=6)
quantities = st.decimals(min_value="0.0001", max_value="5000", places=4)
customer_specs = st.lists(
    st.tuples(
        st.sampled_from(sorted(PLACES)),
        st.lists(st.tuples(quantities, prices), min_size=1, max_size=3),
        st.sampled_from([Decimal("0"), Decimal("25")]),
    ),
    min_size=2,
    max_size=4,
)


@given(specs=customer_specs)
def test_every_amount_is_in_the_invoices_own_currency_and_minor_unit(
    specs, currencies, settings, monkeypatch, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 10, 15, 12, tzinfo=datetime.UTC), tick=False)
    settings.STRIPE_SECRET_KEY = "sk_test_currency"
    stripe = RecordingStripe()
    monkeypatch.setattr(stripe_gateway, "_client", lambda: stripe)
    for currency, lines, vat_rate in specs:
        customer = CustomerFactory(
            billing_profile__currency=currency, billing_profile__stripe_customer_id="cus_x"
        )
        invoice = issued_invoice(
            customer,
            [("vm", "Compute", q, "h", p) for q, p in lines],
            vat_rate=vat_rate,
        )
        # Lines, subtotal, VAT and total, worked out by hand to the currency's minor unit.
        amounts = [half_up(q * p, currency) for q, p in lines]
        subtotal = sum(amounts, Decimal(0))
        vat = half_up(subtotal * vat_rate / 100, currency)
        assert invoice.currency == currency
        assert sorted(invoice.lines.values_list("amount", flat=True)) == sorted(amounts)
        assert (invoice.subtotal, invoice.vat_amount) == (subtotal, vat)
        assert invoice.total == subtotal + vat
        # The cards: one figure, in the invoice's currency only.
        stats = invoice_stats(customer)
        total = subtotal + vat
        assert stats.outstanding == ({currency: total} if total else {currency: 0})
        for figure in stats.outstanding.values():
            assert figure == half_up(figure, currency)
        # Stripe: the invoice's currency, lower case, and its amount in integer minor units.
        if total:
            checkout.start_checkout(
                customer=customer,
                invoices=[invoice],
                user=None,
                success_url="https://portal.test/ok",
                cancel_url="https://portal.test/no",
            )
            (item,) = stripe.sessions[-1]["line_items"]
            assert item["price_data"]["currency"] == currency.lower()
            assert item["price_data"]["unit_amount"] == int(total * 10 ** PLACES[currency])
        # The CSV: a plan in the customer's currency prices its usage, in a column naming it.
        plan = PricingPlan.objects.create(name=f"Plan {customer.number}", currency=currency)
        unit_price = lines[0][1]
        Price.objects.create(
            plan=plan, metric="cpu", unit_price=unit_price, effective_from=SEPTEMBER
        )
        CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=SEPTEMBER)
        service = Service.objects.create(customer=customer, name="vm")
        used = lines[0][0]
        DailyUsage.objects.create(
            customer=customer, service=service, metric="cpu", day=SEPTEMBER, quantity=used
        )
        usage_range = month_range(SEPTEMBER, datetime.date(2026, 10, 15))
        rows = exports.summary_rows(usage_selectors.usage_summary(customer, usage_range))
        assert rows[0][-1] == f"estimated_cost_{currency.lower()}"
        assert rows[-1][-1] == half_up(used * unit_price, currency)


def test_a_swedish_invoice_computed_by_hand(currencies):
    # 8640.5 vCPU-hours at 0.34 kr = 2937.77 kr; one GB-month at 1.05 kr; subtotal 2938.82 kr;
    # VAT 25% 734.705 -> 734.71 kr; total 3673.53 kr.
    nordlys = CustomerFactory(billing_profile__currency="SEK")
    invoice = issued_invoice(
        nordlys,
        [("web", "CPU", "8640.5", "vCPU-h", "0.34"), ("db", "Storage", "1", "GB-month", "1.05")],
        vat_rate=Decimal("25"),
    )
    assert (invoice.currency, invoice.subtotal) == ("SEK", Decimal("2938.82"))
    assert (invoice.vat_amount, invoice.total) == (Decimal("734.71"), Decimal("3673.53"))


def test_a_yen_invoice_rounds_to_whole_yen(currencies):
    # 8640.5 x ¥0.462 = ¥3991.911 -> ¥3992; 3 x ¥0.5 = ¥1.5 -> ¥2; subtotal ¥3994;
    # VAT 25% = ¥998.5 -> ¥999; total ¥4993 (Stripe: 4993, yen have no minor unit).
    tokyo = CustomerFactory(billing_profile__currency="JPY")
    invoice = issued_invoice(
        tokyo,
        [("a", "CPU", "8640.5", "h", "0.462"), ("b", "Setup", "3", "each", "0.5")],
        vat_rate=Decimal("25"),
    )
    assert sorted(invoice.lines.values_list("amount", flat=True)) == [Decimal(2), Decimal(3992)]
    assert (invoice.subtotal, invoice.vat_amount, invoice.total) == (
        Decimal(3994),
        Decimal(999),
        Decimal(4993),
    )


def billed_in_two(first: tuple[str, str], then: tuple[str, str], customer=None):
    """A customer (new, or `customer`) with an invoice (no VAT) of `first` (currency,
    amount), then, after a change of its currency, one of `then`."""
    customer = customer or CustomerFactory()
    BillingProfile.objects.filter(pk=customer.pk).update(currency=first[0])
    customer.billing_profile.refresh_from_db()
    invoices = [issued_invoice(customer, [("vm", "Compute", "1", "h", first[1])], vat_rate=0)]
    BillingProfile.objects.filter(pk=customer.pk).update(currency=then[0])
    customer.billing_profile.refresh_from_db()
    invoices.append(issued_invoice(customer, [("vm", "Compute", "1", "h", then[1])], vat_rate=0))
    return customer, invoices


def test_a_customer_with_invoices_in_two_currencies_sees_a_figure_for_each(currencies):
    customer, _ = billed_in_two(("EUR", "1200"), ("SEK", "3400"))
    stats = invoice_stats(customer)
    assert stats.outstanding == {"EUR": Decimal("1200.00"), "SEK": Decimal("3400.00")}
    from portal.templatetags.portal_tags import amounts

    assert amounts(stats.outstanding) == "€1,200.00 · SEK\u00a03,400.00"


def test_paying_invoices_in_two_currencies_at_once_is_refused_with_the_reason(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_currency"
    customer, (euros, kronor) = billed_in_two(("EUR", "10"), ("SEK", "100"))
    with pytest.raises(PaymentRefused, match="in EUR, SEK: one payment is in one"):
        checkout.start_checkout(
            customer=customer, invoices=[euros, kronor], user=None, success_url="", cancel_url=""
        )
    assert not CheckoutSession.objects.filter(customer=customer).exists()
    assert payment_selectors.currencies_of([euros, kronor]) == ["EUR", "SEK"]


def test_credit_is_applied_only_to_invoices_in_its_currency(currencies):
    from billing import ledger

    customer = CustomerFactory(billing_profile__currency="SEK")
    ledger.add_overpayment(customer=customer, amount=Decimal("50.00"), currency="EUR", note="x")
    kronor = issued_invoice(customer, [("vm", "Compute", "1", "h", "100")])
    assert kronor.credit_applied == Decimal("0.00")  # euros are not set off against kronor
    assert credit_balance(customer, "EUR") == Decimal("50.00")
    assert credit_balance(customer, "SEK") == Decimal("0.00")


def test_the_admin_refuses_a_currency_change_while_a_draft_is_in_the_old_one():
    customer = CustomerFactory(billing_profile__currency="EUR")
    draft_invoice(customer, [("vm", "Compute", "1", "h", "10")])
    profile = customer.billing_profile
    data = {
        "currency": "SEK",
        "payment_terms_days": 30,
        "invoice_delivery": "attachment",
        "invoice_language": "en",
    }
    form_class = modelform_factory(BillingProfile, form=BillingProfileForm, fields=list(data))
    form = form_class(data, instance=profile)
    assert not form.is_valid()
    assert "draft invoice(s) of this customer are in EUR" in form.errors["currency"][0]
    Invoice.objects.filter(customer=customer).delete()
    assert form_class(data, instance=profile).is_valid()


def test_the_admin_says_issued_invoices_keep_their_currency():
    customer = CustomerFactory(billing_profile__currency="EUR")
    issued_invoice(customer, [("vm", "Compute", "1", "h", "10")])
    profile = customer.billing_profile
    from billing.admin.profiles import currency_change_notice

    profile.currency = "SEK"
    notice = currency_change_notice(profile, "EUR")
    assert "its 1 invoice(s) already issued stay in EUR" in notice
    assert "only invoices issued from now on are in SEK" in notice


def test_the_admins_invoice_list_sums_per_currency(admin_client, currencies):
    billed_in_two(("EUR", "1200"), ("JPY", "3400.4"))
    page = admin_client.get("/admin/billing/invoice/").content.decode()
    assert '<tr data-currency="EUR"><td>EUR</td><td>€1,200.00</td><td>€1,200.00</td></tr>' in page
    assert '<tr data-currency="JPY"><td>JPY</td><td>¥3,400</td><td>¥3,400</td></tr>' in page


@pytest.mark.parametrize(
    ("reported", "currency", "outcome"),
    [
        (4993, "jpy", "paid"),  # ¥4,993 in whole yen: what was asked
        (499300, "jpy", "needs_review"),  # as if yen had cents: flagged, not paid
        (4993, "eur", "needs_review"),  # another currency: flagged, not paid
    ],
)
def test_a_yen_checkout_is_asked_and_confirmed_in_whole_yen(
    reported, currency, outcome, client, owner_client, customer, billing_contact, stripe_standin,
    currencies,
):  # fmt: skip
    BillingProfile.objects.filter(pk=customer.pk).update(currency="JPY")
    customer.billing_profile.refresh_from_db()
    # 8640.5 x ¥0.462 = ¥3992 and 3 x ¥0.5 = ¥2; ¥3994 + 25% VAT (¥999) = ¥4993.
    invoice = issued_invoice(
        customer,
        [("a", "CPU", "8640.5", "h", "0.462"), ("b", "Setup", "3", "each", "0.5")],
        vat_rate=Decimal("25"),
    )
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    asked = stripe_standin.calls("/v1/checkout/sessions")[-1].form
    assert asked["line_items[0][price_data][currency]"] == "jpy"
    assert asked["line_items[0][price_data][unit_amount]"] == "4993"
    session = CheckoutSession.objects.get()
    deliver(client, completed(session, amount_total=reported, currency=currency))
    session.refresh_from_db()
    invoice.refresh_from_db()
    assert (session.status == "needs_review") == (outcome == "needs_review")
    assert invoice.status == ("paid" if outcome == "paid" else "unpaid")


def test_the_pay_dialog_says_why_invoices_in_two_currencies_are_not_paid_together(
    owner_client, customer, stripe_standin
):
    _, (euros, kronor) = billed_in_two(("EUR", "10"), ("SEK", "100"), customer)
    query = f"?number={euros.number}&number={kronor.number}"
    page = owner_client.get(f"/invoices/pay/{query}").content.decode()
    assert 'data-refusal="mixed-currencies"' in page
    assert "The selected invoices are in EUR, SEK: one payment is in one currency." in page
    assert "Pay €" not in page and "Pay SEK" not in page  # no button to pay a mixed sum
    response = owner_client.post("/invoices/pay/", {"number": [euros.number, kronor.number]})
    assert response.status_code == 302
    assert not CheckoutSession.objects.exists() and not stripe_standin.calls(
        "/v1/checkout/sessions"
    )


def test_the_usage_page_says_a_month_waits_for_a_plan_in_the_customers_currency(
    owner_client, customer, time_machine, default_plan
):
    time_machine.move_to(datetime.datetime(2026, 11, 15, 12, tzinfo=datetime.UTC), tick=False)
    BillingProfile.objects.filter(pk=customer.pk).update(currency="USD")  # the plan is in EUR
    service = Service.objects.create(customer=customer, name="vm")
    DailyUsage.objects.create(
        customer=customer, service=service, metric="cpu", day=OCTOBER, quantity=Decimal(10)
    )
    outcome = invoicing.invoice_month(Customer.objects.get(pk=customer.pk), OCTOBER)
    assert outcome.uninvoiced.reason == "plan_currency" and outcome.invoice is None
    response = owner_client.get("/usage/?month=2026-10")
    assert response.status_code == 200
    assert "your pricing plan is not in the currency you are billed in" in response.content.decode()
