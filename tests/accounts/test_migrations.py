"""The migrations keep existing customers' mail going: to confirmed addresses and E.164 phones,
and to mail the sweeps find (what was asked before them counts as sent)."""

import datetime

from tests.migrating import migrate

BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0002_account_settings")]


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


def test_mail_asked_for_before_the_sweeps_existed_is_not_sent_again(back_to_latest):
    old = migrate([("accounts", "0005_tax_change_review")])
    Customer, Contact, Invitation, PasswordResetRequest = (
        old.get_model("accounts", m)
        for m in ("Customer", "Contact", "Invitation", "PasswordResetRequest")
    )
    acme = Customer.objects.create(name="Acme", number="C-1", country="SE")
    asked = datetime.datetime(2026, 11, 30, 8, 0, tzinfo=datetime.UTC)
    Contact.objects.create(customer=acme, email="new@acme.example", confirmation_sent_at=asked)
    Invitation.objects.create(customer=acme, email="colleague@acme.example", created_at=asked)
    PasswordResetRequest.objects.create(email="dana@acme.example", requested_at=asked)

    new = migrate([("accounts", "0007_mail_sent_and_undelivered_mail")])
    assert new.get_model("accounts", "Contact").objects.get().confirmation_mailed_at == asked
    assert new.get_model("accounts", "Invitation").objects.get().sent_at == asked
    assert new.get_model("accounts", "PasswordResetRequest").objects.get().sent_at == asked
