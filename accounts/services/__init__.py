"""Every change on the Account pane, in transactions, each recorded in the audit trail:

- customers.py  Customer Info, a user's language, staff's review of tax changes;
                `lock_customer`, the one lock every change on the pane takes
- contacts.py   email addresses (with their confirmation) and phones
- team.py       invitations, memberships and roles
"""

from accounts.services.contacts import (
    contact_awaiting,
    contact_confirm,
    contact_delete,
    contact_resend_confirmation,
    contact_save,
    contact_toggle_role,
    mail_contact_confirmation,
    phone_delete,
    phone_save,
)
from accounts.services.customers import (
    CUSTOMER_INFO_FIELDS,
    customer_info_save,
    lock_customer,
    tax_change_approve,
    tax_change_reject,
    user_language_save,
)
from accounts.services.team import (
    invitation_accept,
    invitation_accept_as_new_user,
    invitation_revoke,
    mail_invitation,
    member_change_role,
    member_invite,
    member_remove,
    open_invitation,
)

__all__ = [
    "CUSTOMER_INFO_FIELDS",
    "contact_awaiting",
    "contact_confirm",
    "contact_delete",
    "contact_resend_confirmation",
    "contact_save",
    "contact_toggle_role",
    "customer_info_save",
    "invitation_accept",
    "invitation_accept_as_new_user",
    "invitation_revoke",
    "lock_customer",
    "mail_contact_confirmation",
    "mail_invitation",
    "member_change_role",
    "member_invite",
    "member_remove",
    "open_invitation",
    "phone_delete",
    "phone_save",
    "tax_change_approve",
    "tax_change_reject",
    "user_language_save",
]
