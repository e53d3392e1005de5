"""Billing's sections of the Account pane (added in billing/apps.py through accounts/panes.py):
the currency and payment terms on Customer Info, how invoices and receipts arrive on
Settings, with the owners' form to change that, and the Payment methods tab (saved cards and
SEPA mandates, Pay invoices automatically), which owners and billing members change and
viewers read. Accounts draws the pane around them."""

import copy

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import (
    billing_manager_required,
    customer_required,
    customers_own,
    owner_required,
)
from accounts.views import after_change, render_pane
from billing import autopay, payment_selectors, profiles
from billing import stripe_gateway as gateway
from billing.exceptions import MethodRefused
from billing.forms import BillingSettingsForm
from billing.models import PaymentMethod
from billing.views import HttpResponseSeeOther

METHODS_TAB = "payment-methods"


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


def payment_methods_section(request, context: dict) -> str:
    customer = request.customer
    return render_to_string(
        "billing/partials/payment_methods.html",
        {
            "methods": payment_selectors.payment_methods_for(customer),
            "profile": customer.billing_profile,
            "can_change": request.membership.can_manage_billing,
            "method_types": autopay.method_types_for(customer),
            "online": gateway.is_configured() and not gateway.is_demo(),
        },
        request=request,
    )


@require_GET
@customer_required
def payment_methods(request):
    """The Payment methods tab at its own address; Stripe's setup page comes back here."""
    returned = request.GET.get("setup")
    if returned == "success":
        messages.success(
            request, _("Thank you. The method appears here as soon as Stripe confirms it.")
        )
    elif returned == "cancelled":
        messages.info(request, _("Nothing was saved."))
    return render_pane(request, tab=METHODS_TAB)


@require_POST
@billing_manager_required
def payment_method_add(request):
    """Open Stripe's page to save a card, or with `?type=sepa_debit` a SEPA mandate (303)."""
    method_type = request.GET.get("type") or request.POST.get("type") or PaymentMethod.Type.CARD
    if method_type not in PaymentMethod.Type.values:
        return HttpResponseBadRequest(_("Unknown kind of payment method."))
    back = request.build_absolute_uri(reverse("payment_methods"))
    try:
        url = autopay.start_setup(
            customer=request.customer,
            user=request.user,
            method_type=method_type,
            success_url=f"{back}?setup=success",
            cancel_url=f"{back}?setup=cancelled",
        )
    except MethodRefused as exc:
        messages.error(request, str(exc))
    except gateway.StripeUnavailable:
        messages.error(request, _("Saving a payment method is not available right now."))
    else:
        return HttpResponseClientRedirect(url) if request.htmx else HttpResponseSeeOther(url)
    return after_change(request, METHODS_TAB)


@require_POST
@billing_manager_required
def payment_method_default(request, pk: int):
    method = customers_own(request, PaymentMethod, pk)
    autopay.make_default(method=method, actor=request.user)
    messages.success(request, _("%(method)s is now the default.") % {"method": method.label})
    return after_change(request, METHODS_TAB)


@require_POST
@billing_manager_required
def payment_method_remove(request, pk: int):
    method = customers_own(request, PaymentMethod, pk)
    try:
        autopay.remove_method(method=method, actor=request.user)
    except gateway.StripeUnavailable:
        messages.error(request, _("Stripe could not be reached; the method is still saved."))
    else:
        messages.success(request, _("%(method)s removed.") % {"method": method.label})
    return after_change(request, METHODS_TAB)


@require_POST
@billing_manager_required
def autopay_edit(request):
    """Pay invoices automatically: `autopay=on` or `autopay=off`."""
    choice = request.POST.get("autopay")
    if choice not in {"on", "off"}:
        return HttpResponseBadRequest(_("Choose on or off."))
    try:
        autopay.set_autopay(customer=request.customer, on=choice == "on", actor=request.user)
    except MethodRefused as exc:
        messages.error(request, str(exc))
    else:
        if choice == "on":
            messages.success(request, _("Invoices are now paid automatically."))
        else:
            messages.success(request, _("Invoices are no longer paid automatically."))
    return after_change(request, METHODS_TAB)
