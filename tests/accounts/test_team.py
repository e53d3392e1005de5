"""The Team tab: owners invite people by email with a role (a signed link valid 7 days), change
roles and remove members; an account always keeps an owner."""

import re
import time
from datetime import timedelta
from unittest import mock
from urllib.parse import quote

import pytest
from django.core import mail

from accounts.models import Invitation, Membership, User
from tests.accounts.conftest import HTMX
from tests.factories import TEST_PASSWORD, CustomerFactory, MembershipFactory, UserFactory

DAYS = 24 * 3600


def invite(client, sent, email="new.person@example.test", role="billing"):
    with sent():
        return client.post("/account/team/invite/", {"email": email, "role": role})


def link_path() -> str:
    return re.search(r"https?://[^/\s]+(/account/invitation/\S+/)", mail.outbox[-1].body).group(1)


def members(customer):
    return sorted(customer.memberships.values_list("user__email", "role"))


def test_an_owner_invites_someone_by_email(owner_client, owner, customer, sent):
    response = invite(owner_client, sent, email="  New.Person@Example.TEST ")
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=team"
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "new.person@example.test",
        "billing",
        owner,
    )
    (message,) = mail.outbox
    assert message.to == ["new.person@example.test"]
    assert "within 7 days" in message.body and "as Billing" in message.body
    page = owner_client.get("/account/?tab=team").content.decode()
    assert "new.person@example.test" in page and "valid until" in page


def test_someone_new_chooses_a_password_and_joins(guest, owner_client, customer, sent):
    invite(owner_client, sent)
    path = link_path()
    page = guest.get(path).content.decode()
    assert "Join Acme Cloud AB" in page and "Choose a password" in page

    response = guest.post(
        path,
        {"full_name": "Nell New", "password1": "Sturdy-pass-42", "password2": "Sturdy-pass-42"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    user = User.objects.get(email="new.person@example.test")
    assert user.full_name == "Nell New" and user.check_password("Sturdy-pass-42")
    assert ("new.person@example.test", "billing") in members(customer)
    assert customer.name in guest.get("/dashboard/").content.decode()
    assert Invitation.objects.get().accepted_by == user


def test_a_weak_or_mismatched_password_is_refused_and_nobody_joins(guest, owner_client, sent):
    invite(owner_client, sent)
    path = link_path()
    for data, error in [
        ({"password1": "Sturdy-pass-42", "password2": "other-pass-42"}, "didn"),
        ({"password1": "123", "password2": "123"}, "too short"),
        ({"password1": "new.person1", "password2": "new.person1"}, "too similar"),
    ]:
        page = guest.post(path, data).content.decode()
        assert error in page
    assert not User.objects.filter(email="new.person@example.test").exists()
    assert Invitation.objects.get().accepted_at is None


def test_someone_with_a_login_logs_in_and_accepts(guest, owner_client, customer, sent):
    existing = UserFactory(email="new.person@example.test")
    MembershipFactory(user=existing, customer=CustomerFactory(name="Initech"))
    invite(owner_client, sent, role="viewer")
    path = link_path()

    page = guest.get(path).content.decode()
    assert "Log in to accept" in page
    assert f'href="/accounts/login/?next={quote(path)}"' in page

    guest.force_login(existing)
    assert guest.post(path).status_code == 302
    assert ("new.person@example.test", "viewer") in members(customer)
    # They see both customers now, under Settings and in the switcher; the new one is current.
    settings_page = guest.get("/account/?tab=settings").content.decode()
    assert "Initech" in settings_page and "Acme Cloud AB" in settings_page


def test_another_login_cannot_accept_someone_elses_invitation(
    guest, owner_client, customer, outsider, sent
):
    invite(owner_client, sent)
    UserFactory(email="new.person@example.test")
    guest.force_login(outsider)
    page = guest.get(link_path()).content.decode()
    assert "this invitation is for <strong>new.person@example.test</strong>" in page
    guest.post(link_path())
    assert outsider.email not in dict(members(customer))
    assert Invitation.objects.get().accepted_at is None


def test_an_invitation_is_good_once(guest, owner_client, customer, sent):
    invite(owner_client, sent)
    path = link_path()
    data = {"password1": "Sturdy-pass-42", "password2": "Sturdy-pass-42"}
    guest.post(path, data)
    guest.logout()
    again = guest.post(path, data)
    assert again.status_code == 410
    assert "This link has already been used" in again.content.decode()
    assert customer.memberships.count() == 2


def test_an_invitation_older_than_7_days_is_refused(guest, owner_client, customer, sent):
    invite(owner_client, sent)
    path = link_path()
    data = {"password1": "Sturdy-pass-42", "password2": "Sturdy-pass-42"}
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 7 * DAYS + 1):
        page = guest.post(path, data)
    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert not User.objects.filter(email="new.person@example.test").exists()


def test_a_tampered_invitation_is_refused(guest, owner_client, sent):
    invite(owner_client, sent)
    token = link_path().split("/")[-2]
    page = guest.get(f"/account/invitation/{token[:-2]}xy/")
    assert page.status_code == 400
    assert "This link is not valid" in page.content.decode()


def test_a_revoked_invitation_no_longer_works(guest, owner_client, sent):
    invite(owner_client, sent)
    path = link_path()
    invitation = Invitation.objects.get()
    response = owner_client.post(f"/account/team/invitations/{invitation.pk}/revoke/", follow=True)
    assert "The invitation to new.person@example.test is revoked." in response.content.decode()
    assert guest.get(path).status_code == 410


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"email": "", "role": "viewer"}, "This field is required."),
        ({"email": "not-an-email", "role": "viewer"}, "Enter a valid email address."),
        ({"email": "a@b.example", "role": "admin"}, "Select a valid choice"),
    ],
)
def test_invalid_invitations_are_refused(owner_client, sent, data, error):
    with sent():
        response = owner_client.post("/account/team/invite/", data)
    assert error in response.content.decode()
    assert not Invitation.objects.exists() and mail.outbox == []


def test_members_and_open_invitations_are_not_invited_twice(owner_client, owner, sent):
    response = invite(owner_client, sent, email=owner.email.upper())
    assert f"{owner.email} is already a member." in response.content.decode()
    invite(owner_client, sent)
    response = invite(owner_client, sent, email="NEW.person@example.test")
    assert "already has an open invitation" in response.content.decode()
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


# ---- Roles and removal ----


def test_an_owner_changes_a_members_role(owner_client, customer):
    member = MembershipFactory(customer=customer, role=Membership.Role.VIEWER)
    response = owner_client.post(f"/account/team/{member.pk}/role/", {"role": "billing"}, **HTMX)
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.role == "billing"


def test_an_owner_removes_a_member(owner_client, customer):
    member = MembershipFactory(customer=customer, role=Membership.Role.BILLING)
    assert owner_client.post(f"/account/team/{member.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert User.objects.filter(pk=member.user_id).exists()  # the login stays


def test_the_last_owner_cannot_be_demoted_or_removed(owner_client, owner, customer):
    seat = owner.memberships.get()
    for url, data in [
        (f"/account/team/{seat.pk}/role/", {"role": "viewer"}),
        (f"/account/team/{seat.pk}/remove/", {}),
    ]:
        page = owner_client.post(url, data, follow=True).content.decode()
        assert "An account needs an owner" in page
    seat.refresh_from_db()
    assert seat.role == "owner"


def test_with_a_second_owner_an_owner_may_step_down(owner_client, owner, customer):
    MembershipFactory(customer=customer, role=Membership.Role.OWNER)
    seat = owner.memberships.get()
    response = owner_client.post(f"/account/team/{seat.pk}/role/", {"role": "viewer"}, **HTMX)
    assert response["HX-Redirect"] == "/account/"
    seat.refresh_from_db()
    assert seat.role == "viewer"
    assert owner_client.get("/account/?tab=team").status_code == 200  # falls back to a tab
    assert owner_client.post(f"/account/team/{seat.pk}/role/", {"role": "owner"}).status_code == 403


def test_an_invalid_role_changes_nothing(owner_client, customer):
    member = MembershipFactory(customer=customer, role=Membership.Role.VIEWER)
    page = owner_client.post(f"/account/team/{member.pk}/role/", {"role": "god"}, follow=True)
    assert "Choose Owner, Billing or Viewer." in page.content.decode()
    member.refresh_from_db()
    assert member.role == "viewer"


def test_the_team_tab_is_for_owners(client, billing_member, viewer):
    for user in (billing_member, viewer):
        client.force_login(user)
        page = client.get("/account/?tab=team").content.decode()
        assert ">Team</a>" not in page and "Invite a member" not in page
        assert client.post("/account/team/invite/", {"email": "x@y.example"}).status_code == 403


def test_login_with_the_invited_login_comes_back_to_the_invitation(guest, owner_client, sent):
    UserFactory(email="new.person@example.test")
    invite(owner_client, sent)
    path = link_path()
    response = guest.post(
        f"/accounts/login/?next={path}",
        {"username": "new.person@example.test", "password": TEST_PASSWORD, "next": path},
    )
    assert response["Location"] == path


def test_the_team_tab_marks_expired_invitations_and_costs_few_queries(
    owner_client, customer, django_assert_max_num_queries
):
    for n in range(10):
        MembershipFactory(customer=customer, role=Membership.Role.VIEWER)
        Invitation.objects.create(customer=customer, email=f"i{n}@example.test")
    old = Invitation.objects.create(customer=customer, email="old@example.test")
    Invitation.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=8))
    with django_assert_max_num_queries(6):
        page = owner_client.get("/account/?tab=team", **HTMX).content.decode()
    assert page.count("valid until") == 10
    assert page.count("expired") == 1
