import pytest
from django.test import Client

from accounts.models import Membership
from tests.factories import ContactFactory, MembershipFactory
from tests.htmx import htmx

HTMX = htmx("account-panel")


@pytest.fixture
def billing_contact(customer):
    """The customer's one confirmed Billing address, as the guide's first screen has it."""
    return ContactFactory(customer=customer, email="ap@acme.example", is_billing=True)


@pytest.fixture
def billing_member(customer):
    return MembershipFactory(customer=customer, role=Membership.Role.BILLING).user


@pytest.fixture
def guest():
    """A second browser: the person who opens an emailed link (owner_client is `client`)."""
    return Client()
