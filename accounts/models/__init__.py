"""The accounts tables, one module per family:

- users.py      User (who may log in, by email address), PasswordResetRequest
- customers.py  Customer (who the customer is), TaxChange (a new country or VAT id, for staff)
- team.py       Membership (a user's seat and role), Invitation
- contacts.py   Contact (email addresses and their roles), Phone
- records.py    AuditEntry (the Account pane's trail), UndeliveredMail (mail that matters, failed)
"""

from accounts.models.contacts import CONFIRMATION_VALIDITY, Contact, ContactQuerySet, Phone
from accounts.models.customers import Customer, TaxChange, TaxChangeQuerySet, validate_timezone
from accounts.models.records import AuditEntry, UndeliveredMail
from accounts.models.team import INVITATION_VALIDITY, Invitation, Membership
from accounts.models.users import PasswordResetRequest, User, UserManager

__all__ = [
    "CONFIRMATION_VALIDITY",
    "INVITATION_VALIDITY",
    "AuditEntry",
    "Contact",
    "ContactQuerySet",
    "Customer",
    "Invitation",
    "Membership",
    "PasswordResetRequest",
    "Phone",
    "TaxChange",
    "TaxChangeQuerySet",
    "UndeliveredMail",
    "User",
    "UserManager",
    "validate_timezone",  # named by migration 0001
]
