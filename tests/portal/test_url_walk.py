"""Every URL of the project, read from the URL resolver, tried by three people who must not get
in: an anonymous visitor (a login, 401/403 from an API, 400 from the webhook), a member of
Globex asking for Acme's objects (404), and an Acme viewer changing anything (403).

A new URL is walked as soon as it exists, and fails here until ROUTES says how to fill it and
who may use it: one line for most (`"usage_export": Route()` for a customer page without
objects, `"usage_ingest": Route(who=API)` for a token API)."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import links
from accounts.models import Membership
from billing import services
from billing.models import CheckoutItem, CheckoutSession, PaymentMethod
from tests.database import snapshot
from tests.factories import (
    ContactFactory,
    InvitationFactory,
    MembershipFactory,
    PhoneFactory,
    issued_invoice,
)

# Who may use a URL: customers' members (anonymous visitors are sent to log in), anyone (the
# login, the links mailed to people without a login, health checks), a program with a token,
# Stripe with a signature.
MEMBER, PUBLIC, API, WEBHOOK = "member", "public", "api", "webhook"


@dataclass
class Acme:
    """Acme's objects, one of each kind a URL can name."""

    customer: object
    owner: object
    viewer: object
    teammate: Membership
    contact: object
    phone: object
    invitation: object
    invoice: object
    checkout: object
    payment: object
    payment_method: object

    def token(self, url: str) -> str:
        return resolve(urlsplit(url).path).kwargs["token"]


@dataclass(frozen=True)
class Route:
    who: str = MEMBER
    # The URL's arguments, from Acme's objects; and parameters, sent as the query of a GET and
    # the form of a POST (naming Acme's objects, or what a valid form needs).
    fill: Callable[[Acme], dict] | None = None
    params: Callable[[Acme], dict] | None = None
    # A POST changes the customer's data, so a viewer is refused (403).
    changes: bool = False

    @property
    def names_acme_objects(self) -> bool:
        return self.who == MEMBER and (self.fill or self.params) is not None

    def url(self, name: str, acme: Acme) -> str:
        return reverse(name, kwargs=self.fill(acme) if self.fill else {})

    def data(self, acme: Acme) -> dict:
        return self.params(acme) if self.params else {}


def contact(acme):
    return {"pk": acme.contact.pk}


def phone(acme):
    return {"pk": acme.phone.pk}


def invoice(acme):
    return {"number": acme.invoice.number}


def teammate(acme):
    return {"pk": acme.teammate.pk}


ROUTES = {
    # portal
    "home": Route(who=PUBLIC),  # a redirect: to the dashboard or the login
    "dashboard": Route(),
    "healthz": Route(who=PUBLIC),
    "readyz": Route(who=PUBLIC),
    "stripe_webhook": Route(who=WEBHOOK),
    # logins (accounts/auth_urls.py and django.contrib.auth.urls)
    "login": Route(who=PUBLIC),
    "logout": Route(who=PUBLIC),
    "password_change": Route(),
    "password_change_done": Route(),
    "password_reset": Route(who=PUBLIC),
    "password_reset_done": Route(who=PUBLIC),
    "password_reset_confirm": Route(
        who=PUBLIC,
        fill=lambda acme: {
            "uidb64": urlsafe_base64_encode(force_bytes(acme.owner.pk)),
            "token": default_token_generator.make_token(acme.owner),
        },
    ),
    "password_reset_complete": Route(who=PUBLIC),
    # the Account pane
    "account": Route(),
    "customer_info_edit": Route(changes=True),
    "settings_edit": Route(changes=True),
    "language_edit": Route(),  # every member chooses the language they read the portal in
    "contact_create": Route(changes=True),
    "contact_edit": Route(fill=contact, changes=True),
    "contact_delete": Route(fill=contact, changes=True),
    "contact_toggle_role": Route(fill=lambda a: contact(a) | {"role": "tech"}, changes=True),
    "contact_resend": Route(fill=contact, changes=True),
    "contact_confirm": Route(
        who=PUBLIC, fill=lambda acme: {"token": acme.token(links.confirmation_url(acme.contact))}
    ),
    "payment_methods": Route(),
    "payment_method_add": Route(changes=True),
    "payment_method_default": Route(fill=lambda acme: {"pk": acme.payment_method.pk}, changes=True),
    "payment_method_remove": Route(fill=lambda acme: {"pk": acme.payment_method.pk}, changes=True),
    "autopay_edit": Route(changes=True),
    "phone_create": Route(changes=True),
    "phone_edit": Route(fill=phone, changes=True),
    "phone_delete": Route(fill=phone, changes=True),
    "member_invite": Route(changes=True),
    "member_role": Route(fill=teammate, params=lambda acme: {"role": "viewer"}, changes=True),
    "member_remove": Route(fill=teammate, changes=True),
    "invitation_revoke": Route(fill=lambda acme: {"pk": acme.invitation.pk}, changes=True),
    "invitation_accept": Route(
        who=PUBLIC, fill=lambda acme: {"token": acme.token(links.invitation_url(acme.invitation))}
    ),
    "switch_customer": Route(params=lambda acme: {"customer": acme.customer.pk}),
    # invoices
    "invoice_list": Route(),
    "invoice_zip": Route(params=lambda acme: {"number": acme.invoice.number}),
    "pay_selected": Route(params=lambda acme: {"number": acme.invoice.number}, changes=True),
    "invoice_detail": Route(fill=invoice),
    "invoice_pdf": Route(fill=invoice),
    "invoice_pay": Route(fill=invoice, changes=True),
    "demo_checkout": Route(fill=lambda acme: {"stripe_id": acme.checkout.stripe_id}, changes=True),
    # payments
    "payment_list": Route(),
    "payment_receipt": Route(fill=lambda acme: {"pk": acme.payment.pk}),
    # usage
    "usage": Route(),
    "usage_ingest": Route(who=API),
    "usage_openapi": Route(who=PUBLIC),  # the ingest API's description, for anyone
    "usage_export_csv": Route(),
    "usage_daily_csv": Route(),
    "usage_prices": Route(),
}


@dataclass(frozen=True)
class Found:
    name: str | None
    route: str  # the pattern as written, prefixes included


def walk(patterns, prefix: str = ""):
    """Every URL pattern below `patterns`, except the admin's (its own test below)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield Found(pattern.name, prefix + str(pattern.pattern))


FOUND = sorted(set(walk(get_resolver().url_patterns)), key=lambda found: found.route)


def route_of(found: Found) -> Route:
    if found.name not in ROUTES:
        pytest.fail(f"Teach the URL walk about {found.name or 'an unnamed URL'} ({found.route}).")
    return ROUTES[found.name]


def walked(which: Callable[[Route], bool] = lambda route: True):
    """The URLs found whose route `which` picks (those not in ROUTES fail the first test)."""
    chosen = [f for f in FOUND if f.name in ROUTES and which(ROUTES[f.name])]
    return pytest.mark.parametrize("found", chosen, ids=lambda found: found.route or "/")


@pytest.fixture
def acme(customer, owner, viewer):
    invitation = InvitationFactory(customer=customer, invited_by=owner)
    invoice = issued_invoice(customer, [("vm", "vCPU-hours", "1", "h", "10")])
    checkout = CheckoutSession.objects.create(
        customer=customer,
        stripe_id="cs_demo_walk",
        url="/invoices/demo-checkout/cs_demo_walk/",
        amount_total=invoice.total,
        currency=invoice.currency,
        attempt=0,
        idempotency_key="walk",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    CheckoutItem.objects.create(checkout=checkout, invoice=invoice, amount=invoice.total)
    payment = services.record_bank_payment(
        invoice=invoice, amount=Decimal("1.00"), received_at=timezone.now()
    )
    return Acme(
        customer=customer,
        owner=owner,
        viewer=viewer,
        teammate=MembershipFactory(customer=customer, role=Membership.Role.BILLING),
        contact=ContactFactory(customer=customer),
        phone=PhoneFactory(customer=customer),
        invitation=invitation,
        invoice=invoice,
        checkout=checkout,
        payment=payment,
        payment_method=PaymentMethod.objects.create(
            customer=customer, stripe_id="pm_walk", type="card", brand="visa", last4="4242"
        ),
    )


def get_and_post(client, url: str, route: Route, acme: Acme) -> dict[str, object]:
    params = route.data(acme)
    return {"GET": client.get(url, params), "POST": client.post(url, params)}


def is_login_redirect(response, login: str = "/accounts/login/") -> bool:
    return response.status_code == 302 and response["Location"].startswith(f"{login}?next=")


@pytest.mark.parametrize("found", FOUND, ids=lambda found: found.route or "/")
def test_every_url_is_known_to_the_walk(found):
    route_of(found)


def test_the_walk_knows_no_url_that_is_gone():
    assert set(ROUTES) <= {found.name for found in FOUND}


@walked()
def test_anonymous_visitors_are_sent_to_log_in(client, acme, found, settings):
    settings.USAGE_INGEST_TOKEN = (
        "a-configured-token-of-forty-characters-xx"  # the sender "environment"
    )
    route = ROUTES[found.name]
    url = route.url(found.name, acme)
    before = snapshot()
    answers = get_and_post(client, url, route, acme)
    statuses = {method: response.status_code for method, response in answers.items()}
    if route.who == MEMBER:
        # Each method the view takes asks for a login; one it does not take is 405.
        assert all(is_login_redirect(r) or r.status_code == 405 for r in answers.values())
        assert any(is_login_redirect(r) for r in answers.values()), statuses
    elif route.who == API:
        assert statuses["POST"] in {401, 403}, statuses
    elif route.who == WEBHOOK:
        assert statuses == {"GET": 405, "POST": 400}
    else:
        assert all(status < 500 for status in statuses.values()), statuses
    if route.who != PUBLIC:
        assert snapshot() == before


@walked(lambda route: route.names_acme_objects)
def test_another_customers_member_finds_none_of_acmes_objects(client, acme, outsider, found):
    route = ROUTES[found.name]
    client.force_login(outsider)
    before = snapshot()
    answers = get_and_post(client, route.url(found.name, acme), route, acme)
    statuses = {method: response.status_code for method, response in answers.items()}
    assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), statuses
    assert snapshot() == before


@walked(lambda route: route.changes)
def test_a_viewer_changes_nothing(client, acme, found, stripe_standin):
    route = ROUTES[found.name]
    client.force_login(acme.viewer)
    before = snapshot()
    assert client.post(route.url(found.name, acme), route.data(acme)).status_code == 403
    assert snapshot() == before
    assert stripe_standin.requests == []


def test_the_admin_asks_anonymous_visitors_and_customers_to_log_in_as_staff(client, acme):
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    for url in urls:
        assert is_login_redirect(client.get(url), "/admin/login/"), url
    client.force_login(acme.owner)  # a customer's owner is no staff
    for url in urls:
        assert is_login_redirect(client.get(url), "/admin/login/"), url
