"""Billing's sections of the Account pane (added in billing/apps.py through accounts/panes.py):
the currency and payment terms on Customer Info, and how invoices and receipts arrive on
Settings, with the owners' form to change that. Accounts draws the pane around them."""

import copy

from django.contrib import messages
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import owner_required
from accounts.views import after_change, render_pane
from billing import profiles
from billing.forms import BillingSettingsForm


def terms_section(request, context: dict) -> str:
    return render_to_string(
        "billing/partials/account_terms.html",
        {"profile": request.customer.billing_profile},
        request=request,
    )


def settings_section(request, context: dict) -> str:
    profile = request.customer.billing_profile
    form = context.get("billing_settings_form")
    if form is None and request.membership.is_owner:
        form = BillingSettingsForm(instance=profile)
    return render_to_string(
        "billing/partials/account_settings.html",
        {"profile": profile, "form": form},
        request=request,
    )


@require_POST
@owner_required
def settings_edit(request):
    # A copy: an invalid form must not leave its values on the profile the page shows.
    form = BillingSettingsForm(request.POST, instance=copy.copy(request.customer.billing_profile))
    if not form.is_valid():
        return render_pane(request, tab="settings", billing_settings_form=form)
    profiles.settings_save(profile=form.instance, actor=request.user)
    messages.success(request, _("Settings saved."))
    return after_change(request, "settings")
