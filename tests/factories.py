import factory
from django.utils import timezone

from accounts.models import Contact, Customer, Invitation, Membership, Phone, User
from billing.models import BillingProfile

TEST_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password(TEST_PASSWORD)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Customer {n} AB")
    number = factory.Sequence(lambda n: f"C-{20000 + n}")
    address_line1 = "Storgatan 1"
    postal_code = "111 22"
    city = "Stockholm"
    country = "SE"
    vat_id = "SE556000000101"
    # Created with the customer, as the admin does; set its fields as billing_profile__currency=…
    billing_profile = factory.RelatedFactory(
        "tests.factories.BillingProfileFactory", factory_related_name="customer"
    )


class BillingProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingProfile

    payment_terms_days = 30


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)
    role = Membership.Role.OWNER


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    email = factory.Sequence(lambda n: f"contact{n}@example.test")
    is_billing = True
    confirmed_at = factory.LazyFunction(timezone.now)


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    customer = factory.SubFactory(CustomerFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Membership.Role.VIEWER


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phone

    customer = factory.SubFactory(CustomerFactory)
    label = "Office"
    number = factory.Sequence(lambda n: f"+468123{n:05d}")


def draft_invoice(customer, lines, *, vat_rate=None):
    """A draft with `lines`: (service, description, quantity, unit, unit_price) tuples of
    strings/Decimals."""
    from decimal import Decimal

    from billing import services
    from billing.services import LineSpec

    draft = services.create_draft(customer=customer, vat_rate=vat_rate)
    services.add_lines(
        invoice=draft,
        lines=[
            LineSpec(service, description, Decimal(quantity), unit, Decimal(price))
            for service, description, quantity, unit, price in lines
        ],
    )
    return draft


def issued_invoice(customer, lines, *, issue_date=None, deliver=False, vat_rate=None):
    """An invoice made the way production makes them: draft, lines (see draft_invoice),
    finalize."""
    from billing import services

    draft = draft_invoice(customer, lines, vat_rate=vat_rate)
    return services.finalize_invoice(invoice=draft, issue_date=issue_date, deliver=deliver)
