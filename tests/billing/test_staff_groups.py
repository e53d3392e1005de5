"""The staff groups of the data migration: Support reads every page of the admin and changes
nothing; Billing staff run the workflows."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Phone, UndeliveredMail
from billing import services
from billing.admin.invoices import InvoiceAdmin
from billing.models import (
    BillingProfile,
    ChargeAttempt,
    CheckoutSession,
    CreditEntry,
    Invoice,
    Payment,
    PaymentMethod,
    UninvoicedMonth,
)
from portal.staff_groups import BILLING_STAFF, SUPPORT
from tests.billing.conftest import completed, deliver
from tests.billing.test_profiles import management_forms
from tests.database import PROJECT_APPS, snapshot
from tests.factories import InvitationFactory, UserFactory, draft_invoice
from tests.migrating import migrate_to_latest
from usage.models import (
    ArchivedMonth,
    CustomerPlan,
    DailyUsage,
    HeldRecord,
    IngestToken,
    LateUsage,
    PricingPlan,
    Sender,
    Service,
    UsageRecord,
)
from usage.services import create_ingest_token

GROUP_MIGRATIONS = [
    importlib.import_module("portal.migrations.0001_staff_groups").create_staff_groups,
    importlib.import_module("portal.migrations.0002_usage_staff_groups").add_usage_to_staff_groups,
    importlib.import_module(
        "portal.migrations.0003_tax_review_staff_groups"
    ).add_tax_review_to_staff_groups,
    importlib.import_module(
        "portal.migrations.0004_invoicing_history_staff_groups"
    ).read_the_new_tables,
    importlib.import_module(
        "portal.migrations.0005_undelivered_mail_staff_groups"
    ).add_undelivered_mail_to_staff_groups,
    importlib.import_module(
        "portal.migrations.0006_billing_profile_staff_groups"
    ).add_billing_profiles_to_staff_groups,
    importlib.import_module(
        "portal.migrations.0007_senders_staff_groups"
    ).add_senders_to_staff_groups,
    importlib.import_module(
        "portal.migrations.0008_autopay_staff_groups"
    ).add_autopay_to_staff_groups,
    importlib.import_module(
        "portal.migrations.0009_archived_months_staff_groups"
    ).add_archived_months_to_staff_groups,
]
ADMIN = "/admin/billing/invoice/"
WORKFLOW_ACTIONS = InvoiceAdmin.actions


@pytest.fixture
def groups(db):
    # A transactional test elsewhere empties every table, the migration's groups too: make them
    # again as the migration does.
    for migrate in GROUP_MIGRATIONS:
        migrate(apps, None)


def staff_in(group: str) -> Client:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def books(customer, owner, owner_client, invoice, billing_contact, stripe_standin):
    """One row of every model the admin shows: paid by card, then by bank, then credited."""
    owner_client.post(f"/invoices/{invoice.number}/pay/")
    assert deliver(owner_client, completed(CheckoutSession.objects.get())).status_code == 200
    paid = draft_invoice(customer, [("vm", "vCPU-hours", "1", "h", "100")])
    paid = services.finalize_invoice(invoice=paid, deliver=False)  # a second one, paid by bank
    services.record_bank_payment(
        invoice=paid, amount=paid.total, received_at=datetime.datetime.now(datetime.UTC)
    )
    services.issue_credit_note(invoice=paid, reason="Goodwill", net_amount=Decimal("10"))
    account_services.phone_save(
        phone=Phone(customer=customer, label="Office", number="+46812345600"), actor=owner
    )
    InvitationFactory(customer=customer, invited_by=owner)
    method = PaymentMethod.objects.create(
        customer=customer, stripe_id="pm_books", type="card", brand="visa", last4="4242"
    )
    ChargeAttempt.objects.create(invoice=paid, number=1, status="failed", payment_method=method)
    UndeliveredMail.objects.create(
        kind=UndeliveredMail.Kind.INVOICE, object_id=paid.pk, subject=paid.number, failures=1
    )
    # Asked for on the Customer Info tab: a change awaiting review.
    customer.country, customer.vat_id = "FI", "FI20774740"
    account_services.customer_info_save(customer=customer, actor=owner)
    record_usage(customer)
    assert CreditEntry.objects.exists() and Payment.objects.exists()
    return paid


def record_usage(customer):
    """A plan of the customer's own, raw usage records (one held back) and their rollup, a month
    not invoiced, a month archived."""
    plan = PricingPlan.objects.create(name="Books")
    CustomerPlan.objects.create(
        customer=customer, plan=plan, effective_from=datetime.date(2026, 1, 1)
    )
    service = Service.objects.create(customer=customer, name="k8s-prod-eu1")
    start = datetime.datetime(2026, 11, 20, 13, tzinfo=datetime.UTC)
    held = UsageRecord.objects.create(
        customer=customer,
        sender=Sender.named(Sender.IMPORT),
        service=service,
        metric="cpu",
        external_id="r-0",
        quantity=Decimal("12.5"),
        start=start,
        end=start + datetime.timedelta(hours=1),
    )
    HeldRecord.objects.create(record=held, customer=customer, month=datetime.date(2026, 11, 1))
    UsageRecord.objects.create(
        customer=customer,
        sender=Sender.named(Sender.IMPORT),
        service=service,
        metric="cpu",
        external_id="r-1",
        quantity=Decimal("12.5"),
        start=start,
        end=start + datetime.timedelta(hours=1),
    )
    DailyUsage.objects.create(
        customer=customer, service=service, metric="cpu", day=start.date(), quantity=Decimal("12.5")
    )
    LateUsage.objects.create(
        customer=customer, service=service, metric="cpu", day=start.date(), quantity=Decimal("1")
    )
    ArchivedMonth.objects.create(
        month=datetime.date(2025, 1, 1),
        file="raw-usage/2025-01.csv.gz",
        records=0,
        size=20,
        sha256="0" * 64,
    )
    create_ingest_token(name="collector-eu1", customers=[customer])
    UninvoicedMonth.objects.create(
        customer=customer,
        usage_month=datetime.date(2026, 10, 1),
        reason=UninvoicedMonth.Reason.FAILED,
        detail="DataError: numeric field overflow",
    )


def project_admin_pages() -> list[tuple[str, str]]:
    """(changelist, change page of one row) for every model of the project in the admin."""
    pages = []
    for model in admin.site._registry:
        if model._meta.app_label not in PROJECT_APPS:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        row = model.objects.first()
        assert row is not None, f"the books have no {model._meta.label}"
        pages.append(
            (
                reverse("admin:{}_{}_changelist".format(*info)),
                reverse("admin:{}_{}_change".format(*info), args=[row.pk]),
            )
        )
    return pages


def test_support_reads_every_admin_page_and_may_change_nothing(groups, books):
    support = staff_in(SUPPORT)
    before = snapshot()
    for changelist, change in project_admin_pages():
        assert support.get(changelist).status_code == 200, changelist
        page = support.get(change)
        assert page.status_code == 200, change
        assert 'name="_save"' not in page.content.decode(), f"{change} offers to save"
        assert support.post(change, {}).status_code == 403, change
        assert support.get(f"{changelist}add/").status_code == 403, changelist
        assert support.get(f"{change}delete/").status_code == 403, change

    invoice = books
    listing = support.get(ADMIN).content.decode()
    assert not any(f'value="{action}"' in listing for action in WORKFLOW_ACTIONS)
    for action in WORKFLOW_ACTIONS:
        support.post(ADMIN, {"action": action, "_selected_action": [invoice.pk]})
    assert support.get(f"{ADMIN}{invoice.pk}/record-payment/").status_code == 403
    credit = {"net_amount": "5", "reason": "x"}
    assert support.post(f"{ADMIN}{invoice.pk}/credit-note/", credit).status_code == 403
    refund = f"/admin/billing/creditentry/refund/{invoice.customer_id}/"
    assert support.post(refund, {"amount": "1.00"}).status_code == 403
    assert snapshot() == before


def test_billing_staff_finalize_record_payments_and_credit(groups, customer, owner):
    staff = staff_in(BILLING_STAFF)
    draft = draft_invoice(customer, [("vm", "vCPU-hours", "10", "h", "10")])  # 100 + 25% VAT
    response = staff.post(ADMIN, {"action": "finalize_selected", "_selected_action": [draft.pk]})
    assert response.status_code == 302
    invoice = Invoice.objects.get(pk=draft.pk)
    assert (invoice.status, invoice.total) == ("unpaid", Decimal("125.00"))

    paid = {"amount": "100.00", "received_on": "2026-10-05", "reference": "BANK-1"}
    assert staff.post(f"{ADMIN}{invoice.pk}/record-payment/", paid).status_code == 302
    credit = {"net_amount": "20.00", "reason": "Outage in October"}  # 20 + 25% VAT = 25
    assert staff.post(f"{ADMIN}{invoice.pk}/credit-note/", credit).status_code == 302

    invoice.refresh_from_db()
    assert (invoice.amount_paid, invoice.amount_credited) == (Decimal("100.00"), Decimal("25.00"))
    assert invoice.status == "paid"
    assert Payment.objects.get().reference == "BANK-1"


def test_the_migration_makes_both_groups_in_a_database_without_them(transactional_db):
    Group.objects.filter(name__in=[SUPPORT, BILLING_STAFF]).delete()
    MigrationExecutor(connection).migrate([("portal", None)])  # portal's migrations undone
    migrate_to_latest()

    support = Group.objects.get(name=SUPPORT).permissions.all()
    billing = Group.objects.get(name=BILLING_STAFF).permissions.all()
    assert all(p.codename.startswith("view_") for p in support)
    assert {p.content_type.app_label for p in support} == {"accounts", "billing", "usage"}
    assert set(support) < set(billing)
    assert {"finalize_invoice", "record_payment", "credit_invoice", "review_taxchange"} <= {
        p.codename for p in billing
    }
    assert not {p.codename for p in billing} & {"delete_payment", "change_payment"}


def test_billing_staff_make_and_revoke_tokens_and_support_may_not(groups, customer):
    token, _ = create_ingest_token(name="collector-eu1", customers=[])
    tokens_admin = "/admin/usage/ingesttoken/"
    revoke = {"action": "revoke", "_selected_action": [token.pk]}
    support = staff_in(SUPPORT)
    assert 'value="revoke"' not in support.get(tokens_admin).content.decode()
    support.post(tokens_admin, revoke)
    assert IngestToken.objects.live().exists()
    assert support.post(f"{tokens_admin}add/", {"name": "collector-us1"}).status_code == 403

    staff = staff_in(BILLING_STAFF)
    assert staff.post(f"{tokens_admin}add/", {"name": "collector-us1"}).status_code == 200
    staff.post(tokens_admin, revoke)
    assert list(IngestToken.objects.live().values_list("sender__name", flat=True)) == [
        "collector-us1"
    ]


def test_billing_staff_send_failed_mail_again_and_support_may_not(groups, customer):
    failed = UndeliveredMail.objects.create(
        kind=UndeliveredMail.Kind.INVITATION,
        object_id=1,
        customer=customer,
        subject="Invitation of new.colleague@acme.example",
        failures=12,
        gave_up_at=datetime.datetime(2026, 11, 2, 9, tzinfo=datetime.UTC),
    )
    mail_admin = "/admin/accounts/undeliveredmail/"
    retry = {"action": "try_again", "_selected_action": [failed.pk]}
    support = staff_in(SUPPORT)
    assert 'value="try_again"' not in support.get(mail_admin).content.decode()
    support.post(mail_admin, retry)
    assert UndeliveredMail.objects.get().gave_up_at is not None

    staff = staff_in(BILLING_STAFF)
    assert staff.post(mail_admin, retry).status_code == 302
    retried = UndeliveredMail.objects.get()
    assert (retried.gave_up_at, retried.failures) == (None, 0)


def test_support_reads_a_customers_billing_terms_and_billing_staff_change_them(groups, customer):
    change = f"/admin/accounts/customer/{customer.pk}/change/"
    support_page = staff_in(SUPPORT).get(change).content.decode()
    assert "Payment terms (days)" in support_page and 'name="_save"' not in support_page

    staff = staff_in(BILLING_STAFF)
    form = management_forms(staff.get(change).content.decode())
    fields = {
        "name": customer.name, "number": customer.number, "country": customer.country,
        "vat_id": customer.vat_id, "timezone": customer.timezone,
        "billing_profile-0-customer": customer.pk, "billing_profile-0-currency": "EUR",
        "billing_profile-0-payment_terms_days": "45",
        "billing_profile-0-invoice_delivery": "attachment",
        "billing_profile-0-invoice_language": "en",
    }  # fmt: skip
    response = staff.post(change, fields | form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert BillingProfile.objects.get(customer=customer).payment_terms_days == 45
