"""The migration to confirmed addresses and E.164 phones keeps existing customers' mail going."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0002_account_settings")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest(transactional_db):
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_existing_contacts_are_confirmed_and_phones_rewritten_in_e164(back_to_latest):
    old = migrate(BEFORE)
    Customer, Contact, Phone = (
        old.get_model("accounts", m) for m in ("Customer", "Contact", "Phone")
    )
    acme = Customer.objects.create(name="Acme", number="C-1", country="SE")
    globex = Customer.objects.create(name="Globex", number="C-2", country="DE")
    Contact.objects.create(customer=acme, email="ap@acme.example", is_billing=True)
    for customer, number in [
        (acme, "08 123 456 00"),  # national: read in Sweden
        (acme, "+46 8 123 456 00"),  # the same number again: kept once
        (acme, "+46 70 123 45 67"),
        (globex, "030 1234 5678"),  # national: read in Germany
        (globex, "call reception"),  # unreadable: kept as it was, for staff to fix
    ]:
        Phone.objects.create(customer=customer, number=number)

    new = migrate(AFTER)
    Contact, Phone = new.get_model("accounts", "Contact"), new.get_model("accounts", "Phone")
    assert Contact.objects.get().confirmed_at is not None
    assert sorted(Phone.objects.values_list("customer__number", "number")) == [
        ("C-1", "+46701234567"),
        ("C-1", "+46812345600"),
        ("C-2", "+493012345678"),
        ("C-2", "call reception"),
    ]
