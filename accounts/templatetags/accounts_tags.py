from django import template

from accounts import audit
from accounts.models import Contact

register = template.Library()


@register.filter
def role_cells(contact: Contact) -> list[tuple[str, str, bool]]:
    """(role, label, held) for the contact table's role columns, in the guide's order."""
    return [
        (role, Contact.ROLE_LABELS[role], getattr(contact, field))
        for role, field in Contact.ROLES.items()
    ]


@register.filter
def audit_changes(entry):
    """{% for label, before, after in entry|audit_changes %}: a change in words."""
    return audit.changes(entry)
