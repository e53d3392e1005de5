"""On PostgreSQL, two members acting at the same moment cannot together break a rule that
each alone would keep: the last confirmed Billing address, the last owner."""

import pytest
from django.core.exceptions import ValidationError

from accounts import links, services
from accounts.models import Contact, Membership
from tests.concurrency import run_together
from tests.factories import ContactFactory, MembershipFactory


def at_once(*actions) -> tuple[int, list[Exception]]:
    """Run the actions in threads released together; (how many succeeded, the refusals)."""
    errors = run_together(*actions)
    refused = [exc for exc in errors if isinstance(exc, ValidationError | links.LinkRefused)]
    assert len(refused) == len(errors), errors
    return len(actions) - len(errors), refused


@pytest.mark.django_db(transaction=True)
def test_two_members_unticking_the_two_billing_addresses_leave_one(postgres, customer, owner):
    first = ContactFactory(customer=customer, email="a@acme.example", is_tech=True)
    second = ContactFactory(customer=customer, email="b@acme.example", is_tech=True)
    succeeded, refused = at_once(
        lambda: services.contact_toggle_role(contact=first, role="billing", actor=owner),
        lambda: services.contact_toggle_role(contact=second, role="billing", actor=owner),
    )
    assert succeeded == 1 and len(refused) == 1
    assert "keep at least one confirmed address" in refused[0].messages[0]
    assert Contact.objects.filter(customer=customer, is_billing=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_leave_one_owner(postgres, customer, owner):
    other = MembershipFactory(customer=customer, role=Membership.Role.OWNER)
    mine = owner.memberships.get()
    succeeded, refused = at_once(
        lambda: services.member_change_role(membership=other, role="viewer", actor=owner),
        lambda: services.member_change_role(membership=mine, role="viewer", actor=other.user),
    )
    assert succeeded == 1 and len(refused) == 1
    assert customer.memberships.filter(role=Membership.Role.OWNER).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_clicks_on_a_confirmation_link_confirm_once(postgres, customer, owner):
    contact = ContactFactory(customer=customer, email="new@acme.example", confirmed_at=None)
    token = links.confirmation_url(contact).rstrip("/").rsplit("/", 1)[1]
    succeeded, refused = at_once(*[lambda: services.contact_confirm(token=token)] * 5)
    assert succeeded == 1
    assert {exc.refusal for exc in refused} == {links.Refusal.USED}
    assert customer.audit_entries.filter(action="contact_confirmed").count() == 1
