"""The Account pane's audit trail: recording a change, and reading one back in words."""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django_countries import countries

from accounts.models import AuditEntry, Contact, Customer, Membership, Phone, User

_MODELS = [Customer, Contact, Phone, Membership]
_CHOICES = {
    "role": Membership.Role,
    "invoice_delivery": Customer.Delivery,
    "invoice_language": Customer.Language,
}


def snapshot(instance: models.Model, fields) -> dict:
    """The values of `fields` on `instance`, as JSON can hold them."""
    return {field: getattr(instance, field) for field in fields}


def record(
    *,
    customer: Customer,
    actor: User | None,
    action: AuditEntry.Action,
    subject: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry | None:
    """Record a change; of a before/after pair only the fields that differ are kept, and a
    change that changed nothing is not recorded (None)."""
    before, after = dict(before or {}), dict(after or {})
    if before and after:
        changed = [field for field in after if before.get(field) != after[field]]
        if not changed:
            return None
        before = {field: before.get(field) for field in changed}
        after = {field: after[field] for field in changed}
    return AuditEntry.objects.create(
        customer=customer,
        actor=actor,
        actor_email=actor.email if actor else "",
        action=action,
        subject=subject,
        before=before,
        after=after,
    )


def changes(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(label, before, after) as people read them, for every field named on either side."""
    fields = dict.fromkeys([*entry.before, *entry.after])
    return [
        (
            _label(field),
            _value(field, entry.before.get(field)),
            _value(field, entry.after.get(field)),
        )
        for field in fields
    ]


def _label(field: str) -> str:
    for model in _MODELS:
        try:
            return capfirst(model._meta.get_field(field).verbose_name)
        except FieldDoesNotExist:
            continue
    return capfirst(field.replace("_", " "))


def _value(field: str, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field in _CHOICES:
        return str(_CHOICES[field](value).label)
    if field == "country":
        return f"{countries.name(value) or value} ({value})"
    return str(value)
