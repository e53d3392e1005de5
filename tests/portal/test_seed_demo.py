"""The demo data is a contract: the README's logins work, and reseeding changes nothing."""

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import Contact, Customer, Membership, User


def snapshot():
    return {
        "users": sorted(User.objects.values_list("email", "is_staff", "is_superuser")),
        "customers": sorted(Customer.objects.values_list("number", "name")),
        "memberships": sorted(
            Membership.objects.values_list("user__email", "customer__name", "role")
        ),
        "contacts": sorted(
            Contact.objects.values_list(
                "customer__name", "email", "is_billing", "is_tech", "is_dpo"
            )
        ),
    }


@pytest.mark.django_db
def test_seed_demo_creates_the_promised_logins_and_is_idempotent():
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first

    for email, password in [
        ("demo@example.com", "demo1234"),
        ("other@example.com", "demo1234"),
        ("admin@example.com", "admin1234"),
    ]:
        response = Client().post("/accounts/login/", {"username": email, "password": password})
        assert response.status_code == 302, email
    assert ("admin@example.com", True, True) in first["users"]
    assert ("demo@example.com", "Acme Cloud AB", "owner") in first["memberships"]
    assert ("other@example.com", "Globex Corporation", "owner") in first["memberships"]
    acme_roles = [c[2:] for c in first["contacts"] if c[0] == "Acme Cloud AB"]
    assert sorted(acme_roles) == sorted(
        [(True, False, False), (False, True, False), (False, False, True)]
    )
