"""Staff may only run the workflows their permissions allow: viewing is not acting."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from billing import services
from billing.models import CreditEntry, Invoice, Payment
from tests.billing.conftest import status_of
from tests.factories import UserFactory

ADMIN = "/admin/billing/invoice/"
WORKFLOWS = [
    ("finalize_selected", "finalize_invoice"),
    ("void_selected", "void_invoice"),
    ("credit_selected_in_full", "credit_invoice"),
    ("regenerate_pdfs", "send_invoice"),
    ("resend_emails", "send_invoice"),
    ("record_bank_payment", "record_payment"),
]


def staff_with(*codenames) -> Client:
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def offered_actions(client) -> set[str]:
    page = client.get(ADMIN).content.decode()
    return {name for name, _perm in WORKFLOWS if f'value="{name}"' in page}


def test_a_viewer_is_offered_no_workflow_and_cannot_post_one(invoice, billing_contact):
    viewer = staff_with("view_invoice", "view_creditentry")
    assert offered_actions(viewer) == set()
    for action, _perm in WORKFLOWS:
        viewer.post(ADMIN, {"action": action, "_selected_action": [invoice.pk]})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_credited) == ("unpaid", Decimal("0.00"))
    assert not Invoice.objects.filter(kind="credit_note").exists()
    assert viewer.get(f"{ADMIN}{invoice.pk}/record-payment/").status_code == 403
    assert (
        viewer.post(
            f"{ADMIN}{invoice.pk}/credit-note/", {"net_amount": "10", "reason": "x"}
        ).status_code
        == 403
    )
    assert not Payment.objects.exists()


@pytest.mark.parametrize(("action", "codename"), WORKFLOWS)
def test_each_workflow_is_offered_with_its_own_permission(invoice, action, codename):
    staff = staff_with("view_invoice", codename)
    assert action in offered_actions(staff)
    others = {name for name, perm in WORKFLOWS if perm != codename}
    assert not offered_actions(staff) & others


def test_recording_a_payment_needs_its_permission(invoice):
    staff = staff_with("view_invoice", "record_payment")
    received_on = "2026-10-05"
    response = staff.post(
        f"{ADMIN}{invoice.pk}/record-payment/", {"amount": "10.00", "received_on": received_on}
    )
    assert response.status_code == 302
    assert status_of(invoice) == "unpaid" and Payment.objects.get().amount == Decimal("10.00")


def test_only_drafts_can_be_deleted_and_only_with_the_delete_permission(customer, invoice):
    draft = services.create_draft(customer=customer)
    viewer = staff_with("view_invoice", "change_invoice")
    assert viewer.post(f"{ADMIN}{draft.pk}/delete/", {"post": "yes"}).status_code == 403
    deleter = staff_with("view_invoice", "change_invoice", "delete_invoice")
    assert deleter.post(f"{ADMIN}{invoice.pk}/delete/", {"post": "yes"}).status_code == 403
    deleter.post(f"{ADMIN}{draft.pk}/delete/", {"post": "yes"})
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert Invoice.objects.filter(pk=invoice.pk).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/billing/payment/",
        "/admin/billing/stripeevent/",
        "/admin/billing/checkoutsession/",
        "/admin/billing/creditentry/",
    ],
)
def test_money_records_cannot_be_made_or_deleted_by_hand_even_by_a_superuser(admin_client, path):
    assert admin_client.get(f"{path}add/").status_code in {403, 404}


def test_refunding_credit_needs_its_permission(customer, invoice):
    services.record_bank_payment(
        invoice=invoice, amount=invoice.total, received_at=datetime.datetime.now(datetime.UTC)
    )
    services.issue_credit_note(invoice=invoice, reason="x", net_amount=Decimal("8"), deliver=False)
    url = f"/admin/billing/creditentry/refund/{customer.pk}/"
    viewer = staff_with("view_creditentry")
    assert viewer.post(url, {"amount": "1.00"}).status_code == 403
    refunder = staff_with("view_creditentry", "refund_credit")
    assert refunder.post(url, {"amount": "1.00"}).status_code == 302
    assert CreditEntry.objects.filter(kind="refunded").count() == 1
