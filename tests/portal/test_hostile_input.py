"""Hostile input on every customer-facing form, query parameter and the Stripe webhook: the
answer is a clear refusal (4xx) or a normal page, never a server error, and nothing is stored.

Each form gets hostile text in every field (markup, quotes, control characters, right-to-left
marks, very long strings) with one text or choice field made invalid for certain (a NUL
character, which no form accepts), so that every field's cleaning runs on it, the refusal is
certain, and the page that shows the errors echoes it all back."""

import json
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import example, given
from hypothesis import strategies as st

from tests.database import snapshot
from tests.factories import ContactFactory, PhoneFactory, issued_invoice
from tests.htmx import HTMX
from tests.stripe_standin import WEBHOOK_SECRET, signed

pytestmark = pytest.mark.both_databases


NASTY = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "{{ request }}{% debug %}",
    "../../etc/passwd",
    "\u202eevil",
    "😀" * 80,
    "x" * 5000,
    "%00%0d%0a",
    "  ",
]
hostile_text = st.one_of(st.text(max_size=300), st.sampled_from(NASTY))


def with_nul(text: str) -> str:
    return f"{text}\x00{text}"


def invalid_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return True
    return False


@st.composite
def refused_form(draw, text_fields: list[str], flags: tuple[str, ...] = ()):
    """Hostile values for `text_fields` (text and choice fields) and `flags` (checkboxes),
    one text field poisoned with a NUL."""
    data = {name: draw(hostile_text) for name in text_fields}
    data |= {name: draw(st.sampled_from(["on", "", "\x00", "true", "0"])) for name in flags}
    poisoned = draw(st.sampled_from(text_fields))
    data[poisoned] = with_nul(data[poisoned])
    return data


@pytest.fixture
def acme(customer, owner):
    ContactFactory(customer=customer, email="ap@acme.example")
    return {
        "invoice": issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")]),
        "contact": ContactFactory(customer=customer, email="tech@acme.example", is_billing=False),
        "phone": PhoneFactory(customer=customer),
    }


def refused_and_unchanged(client, url: str, data: dict, htmx: bool) -> None:
    before = snapshot()
    response = client.post(url, data, **(HTMX if htmx else {}))
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.status_code
    if response.status_code == 200:
        assert 'class="field-error"' in response.content.decode()  # the form says what is wrong
    assert snapshot() == before


CONTACT = (["email", "name"], ("is_billing", "is_tech", "is_dpo"))
FORMS = {
    "contact create": ("/account/contacts/new/", *CONTACT),
    "contact edit": ("/account/contacts/{contact}/edit/", *CONTACT),
    "customer info": (
        "/account/customer/",
        ["address_line1", "address_line2", "postal_code", "city", "country", "vat_id"]
        + ["invoice_reference"],
        (),
    ),
    "settings": (
        "/account/settings/",
        ["invoice_delivery", "invoice_language"],
        ("send_payment_receipts",),
    ),
    "phone create": ("/account/phones/new/", ["label", "number"], ()),
    "phone edit": ("/account/phones/{phone}/edit/", ["label", "number"], ()),
    "team invite": ("/account/team/invite/", ["email", "role"], ()),
}


@pytest.mark.parametrize("form", FORMS)
def test_account_forms_refuse_hostile_input_and_store_nothing(owner_client, acme, form):
    url, text_fields, flags = FORMS[form]
    url = url.format(contact=acme["contact"].pk, phone=acme["phone"].pk)

    @given(data=refused_form(text_fields, flags), htmx=st.booleans())
    def check(data, htmx):
        refused_and_unchanged(owner_client, url, data, htmx)

    check()


def test_login_refuses_hostile_input_and_stores_nothing(client, owner):
    @given(username=hostile_text, password=hostile_text)
    @example(username="x" * 5000, password="0")  # longer than axes' column: a 500 on PostgreSQL
    def check(username, password):
        before = snapshot()
        response = client.post("/accounts/login/", {"username": username, "password": password})
        # The form again (200), or the cool-off page once failures pile up (429).
        assert response.status_code in {200, 429}
        assert "_auth_user_id" not in client.session
        assert snapshot() == before

    check()


def test_password_reset_refuses_hostile_input_and_stores_nothing(client, owner):
    @given(email=hostile_text)
    def check(email):
        before = snapshot()
        response = client.post("/accounts/password_reset/", {"email": email})
        if invalid_email(email.strip()):
            assert response.status_code == 200
            assert 'class="field-error"' in response.content.decode()
        else:  # an address without an account: the same answer as any other, nothing sent
            assert response.status_code in {200, 302}
        assert snapshot() == before

    check()


# ---- Query parameters ----
# Each test also sends a NUL character (`@example`, so that every run tries one): PostgreSQL
# cannot compare text holding one, and before the guard (portal.middleware.RefuseNulMiddleware)
# each of these answered 500 there. A NUL in the path names no page (404); in a parameter it
# gets a page saying what was wrong (400).

query_value = st.one_of(hostile_text, st.integers().map(str), st.just("-1"), st.just("1e9"))
NUL_REFUSED = "holds a NUL character"


def a_page_or_refusal(response) -> None:
    assert response.status_code in {200, 302, 400, 404}, response.status_code


def has_nul(*values: str) -> bool:
    return any("\x00" in value for value in values)


def refused_for_nul(response) -> None:
    assert response.status_code == 400, response.status_code
    assert NUL_REFUSED in response.content.decode()


def test_the_invoice_list_takes_any_page_status_and_search(owner_client, acme):
    @given(page=query_value, status=query_value, q=query_value, htmx=st.booleans())
    @example(page="1", status="all", q=with_nul("INV"), htmx=False)
    @example(page="\x00", status="unpaid\x00", q="", htmx=True)
    def check(page, status, q, htmx):
        before = snapshot()
        params = {"page": page, "status": status, "q": q}
        response = owner_client.get("/invoices/", params, **(HTMX if htmx else {}))
        if has_nul(page, status, q):
            refused_for_nul(response)
        else:
            assert response.status_code == 200
        assert snapshot() == before

    check()


@pytest.mark.parametrize("path", ["/invoices/zip/", "/invoices/pay/"])
def test_selections_take_any_numbers(owner_client, acme, path):
    number = acme["invoice"].number

    @given(numbers=st.lists(query_value, max_size=120))
    @example(numbers=[number, with_nul(number)])
    @example(numbers=["\x00"])
    def check(numbers):
        before = snapshot()
        response = owner_client.get(path, {"number": numbers})
        if has_nul(*numbers):
            refused_for_nul(response)
        else:
            # None of them is Acme's: refused as a whole (404), or nothing selected, or too many.
            assert response.status_code in {302, 404}
        assert snapshot() == before

    check()


def test_invoice_pages_take_any_number(owner_client, acme):
    number = acme["invoice"].number

    @given(number=query_value, suffix=st.sampled_from(["", "pdf/", "pay/"]))
    @example(number=with_nul(number), suffix="")
    @example(number=f"{number}\x00", suffix="pdf/")
    @example(number="\x00", suffix="pay/")
    def check(number, suffix):
        before = snapshot()
        response = owner_client.get(f"/invoices/{quote(number, safe='')}/{suffix}")
        if has_nul(number):
            assert response.status_code == 404
        else:
            a_page_or_refusal(response)
        assert snapshot() == before

    check()


@pytest.mark.parametrize("path", ["/usage/", "/usage/export.csv", "/usage/daily.csv"])
def test_the_usage_page_and_its_csvs_take_any_range_month_and_service(owner_client, acme, path):
    @given(range_=query_value, month=query_value, service=query_value, htmx=st.booleans())
    @example(range_=with_nul("7d"), month="", service="", htmx=False)
    @example(range_="7d", month="2026-10\x00", service="\x00", htmx=True)
    def check(range_, month, service, htmx):
        params = {"range": range_, "month": month, "service": service}
        response = owner_client.get(path, params, **(HTMX if htmx else {}))
        if has_nul(range_, month, service):
            refused_for_nul(response)
        else:
            assert response.status_code == 200

    check()


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/invoices/pay/", {"number": ["INV-2026-0001", "INV-2026-0001\x00"]}),
        ("post", "/accounts/login/", {"username": "ap@acme.example\x00", "password": "x"}),
        ("post", "/account/contacts/new/", {"email": "a@b.example", "name": "\x00"}),
        ("get", "/invoices/?status=unpaid&checkout=%00", {}),
        ("get", "/account/?tab=activity&page=1%00", {}),
        ("get", "/dashboard/?x%00=1", {}),
    ],
)
def test_a_nul_in_any_parameter_is_refused_with_a_page_that_says_so(
    owner_client, acme, method, url, data
):
    before = snapshot()
    refused_for_nul(getattr(owner_client, method)(url, data))
    assert snapshot() == before


def test_a_nul_in_the_admins_search_is_refused_too(admin_client):
    before = snapshot()
    refused_for_nul(admin_client.get("/admin/billing/invoice/", {"q": "INV\x00"}))
    assert admin_client.get("/admin/billing/invoice/INV%00/change/").status_code == 404
    assert snapshot() == before


# ---- The Stripe webhook ----

header_text = st.text(alphabet=st.characters(codec="latin-1"), max_size=200)


def test_the_webhook_refuses_unsigned_bodies_and_stores_nothing(client, acme, settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    @given(
        body=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode)),
        signature=st.one_of(header_text, st.just("t=1,v1=00")),
        content_type=st.one_of(st.just("application/json"), header_text),
    )
    def check(body, signature, content_type):
        before = snapshot()
        response = client.post(
            "/stripe/webhook/", body, content_type=content_type, HTTP_STRIPE_SIGNATURE=signature
        )
        assert response.status_code == 400
        assert snapshot() == before

    check()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def test_the_webhook_refuses_signed_bodies_that_are_no_stripe_event(client, acme, settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    # JSON of any shape but an event's (which needs "data"), or no JSON at all.
    no_event = json_values.filter(lambda value: not (isinstance(value, dict) and "data" in value))

    @given(body=st.one_of(st.text(max_size=500), no_event.map(json.dumps)))
    def check(body):
        before = snapshot()
        payload, signature = signed(body)
        response = client.post(
            "/stripe/webhook/", payload, "application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        assert response.status_code == 400
        assert snapshot() == before

    check()
