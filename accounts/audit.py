"""The Account pane's audit trail: recording a change, and reading one back in words."""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django_countries import countries

from accounts.models import AuditEntry, Contact, Customer, Membership, Phone, User

# The models whose fields the trail names: labels and choices come from their definitions.
_MODELS = [Customer, Contact, Phone, Membership, User]


def name_fields_of(model: type[models.Model]) -> None:
    """Let the trail name the fields of a model of an app above accounts (billing's profile)."""
    if model not in _MODELS:
        _MODELS.append(model)


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


def _field(name: str) -> models.Field | None:
    for model in _MODELS:
        try:
            return model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


def _label(name: str) -> str:
    field = _field(name)
    return capfirst(field.verbose_name if field else name.replace("_", " "))


def _value(name: str, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name == "country":
        return f"{countries.name(value) or value} ({value})"
    field = _field(name)
    if field and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)
