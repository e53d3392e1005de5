"""The provider's staff groups, kept by data migrations in portal/migrations: "Support" reads
everything and changes nothing, "Billing staff" read everything and run the billing workflows.

Each migration names its apps and what Billing staff may do there beyond reading, frozen as
of that migration; an app that gains models later gets a small migration of its own calling
`grant_staff_permissions` with its label (see 0001_staff_groups)."""

from django.contrib.auth.management import create_permissions

SUPPORT = "Support"
BILLING_STAFF = "Billing staff"


def grant_staff_permissions(apps, rules: dict[str, set[str]]) -> None:
    """For each app label in `rules`: both groups may view every model of the app, and
    Billing staff may also do what `rules[label]` names (permission codenames)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    _create_permissions(apps)
    support, _ = Group.objects.get_or_create(name=SUPPORT)
    billing, _ = Group.objects.get_or_create(name=BILLING_STAFF)
    for label, codenames in rules.items():
        in_app = Permission.objects.filter(content_type__app_label=label)
        reading = list(in_app.filter(codename__startswith="view_"))
        acting = list(in_app.filter(codename__in=codenames))
        missing = set(codenames) - {permission.codename for permission in acting}
        if not reading or missing:
            raise LookupError(f"App {label!r}: no models, or no permissions {sorted(missing)}.")
        support.permissions.add(*reading)
        billing.permissions.add(*reading, *acting)


def _create_permissions(apps) -> None:
    """Django creates permissions after all migrations have run (post_migrate): too late for a
    migration that hands them out. Create those of every app now, as they stand here."""
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module, and create_permissions skips those.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = models_module
