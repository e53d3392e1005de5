"""Every row the portal keeps, to compare before and after a request that must change nothing."""

from django.apps import apps
from django.contrib.auth.models import Group

from accounts.models import PasswordResetRequest

PROJECT_APPS = ("accounts", "usage", "billing")
# Bookkeeping that a refused request is meant to leave: the count of reset links asked for.
THROTTLE_MODELS = {PasswordResetRequest}


def snapshot() -> dict[str, list[tuple]]:
    """Each table of the project's apps (and staff groups), all its rows and columns."""
    models = [m for label in PROJECT_APPS for m in apps.get_app_config(label).get_models()]
    tables = {}
    for model in [*models, Group]:
        if model in THROTTLE_MODELS:
            continue
        fields = [field.attname for field in model._meta.concrete_fields]
        tables[model._meta.label] = list(model.objects.order_by("pk").values_list(*fields))
    return tables
