"""Account settings: the pane with its tabs (Customer Info, Contact, Settings; Team and
Activity for owners), the owners' form for the customer's details, a user's language, and
the customer switcher. One page; with HTMX the same view returns the panel for the sheet.
Contacts and phones are in contact_views.py, the team in team_views.py; billing renders its
own sections of the pane (accounts/panes.py)."""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import panes, selectors, services
from accounts.access import SESSION_CUSTOMER_KEY, customer_required, owner_required
from accounts.forms import (
    ContactForm,
    CustomerInfoForm,
    InvitationForm,
    LanguageForm,
    PhoneForm,
)
from core.rendering import render_page

TABS = {
    "customer": gettext_lazy("Customer Info"),
    "contact": gettext_lazy("Contact"),
    "settings": gettext_lazy("Settings"),
}
OWNER_TABS = {"team": gettext_lazy("Team"), "activity": gettext_lazy("Activity")}
ACTIVITY_PER_PAGE = 25


def tabs_for(membership) -> dict[str, str]:
    tabs = TABS | panes.tabs()  # the tabs apps above accounts add (billing's Payment methods)
    return tabs | OWNER_TABS if membership.is_owner else tabs


def _tab_context(request, tab: str) -> dict:
    """What one tab shows: only its own reads, so that switching tabs stays cheap."""
    customer, owner = request.customer, request.membership.is_owner
    if tab == "customer":
        pending = selectors.pending_tax_change(customer)
        # The form shows what was asked for, so that saving the address again keeps the request.
        initial = pending.requested if pending else None
        return {
            "dpo_contacts": selectors.dpo_contacts(customer),
            "pending_tax_change": pending,
            "customer_form": CustomerInfoForm(instance=customer, initial=initial)
            if owner
            else None,
        }
    if tab == "contact":
        return {
            "contacts": selectors.contacts_for(customer),
            "phones": selectors.phones_for(customer),
            "new_form": ContactForm(customer=customer),
            "phone_form": PhoneForm(customer=customer),
        }
    if tab == "settings":
        return {"language_form": LanguageForm(instance=request.user)}
    if tab in panes.tabs():
        return {}
    if tab == "team":
        return {
            "members": selectors.team_of(customer),
            "invitations": selectors.open_invitations(customer),
            "invite_form": InvitationForm(customer=customer),
        }
    page = Paginator(selectors.activity_of(customer), ACTIVITY_PER_PAGE)
    return {"activity": page.get_page(request.GET.get("page"))}


def render_pane(request, *, tab: str, status: int = 200, **overrides):
    """The Account pane on `tab`; `overrides` replace the tab's defaults (a bound form with
    its errors, the row being edited)."""
    context = {"tab": tab, "tabs": tabs_for(request.membership)}
    context |= _tab_context(request, tab) | overrides
    context["pane_sections"] = panes.sections_for(tab, request, context)
    return render_page(
        request, "accounts/account.html", context, fragment="account-panel", status=status
    )


def after_change(request, tab: str):
    """After a change: the refreshed panel for HTMX, a redirect (post/redirect/get) otherwise."""
    if request.htmx:
        return render_pane(request, tab=tab)
    return redirect(f"{reverse('account')}?tab={tab}")


@require_GET
@customer_required
def account(request):
    tab = request.GET.get("tab", "customer")
    if tab not in tabs_for(request.membership):
        tab = "customer"
    return render_pane(request, tab=tab)


@require_POST
@owner_required
def customer_info_edit(request):
    # A copy: an invalid form must not leave its values on the customer the page shows.
    form = CustomerInfoForm(request.POST, instance=copy.copy(request.customer))
    if form.is_valid():
        try:
            pending = services.customer_info_save(customer=form.instance, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _(
                    "Customer info saved. The change of country or VAT id awaits review by "
                    "your provider; until it is approved, invoices keep the current ones."
                )
                if pending
                else _("Customer info saved. Invoices issued from now on carry it."),
            )
            return after_change(request, "customer")
    return render_pane(request, tab="customer", customer_form=form)


@require_POST
@customer_required
def language_edit(request):
    """The language the portal speaks to the user. The whole page is loaded again, in it."""
    # A copy, as for the customer: an invalid choice must not stay on the page's user.
    form = LanguageForm(request.POST, instance=copy.copy(request.user))
    if not form.is_valid():
        return render_pane(request, tab="settings", language_form=form)
    user = services.user_language_save(user=form.instance, customer=request.customer)
    translation.activate(user.language)  # the confirmation is already in the new language
    messages.success(
        request,
        _("Language of the portal: %(language)s.") % {"language": user.get_language_display()},
    )
    url = f"{reverse('account')}?tab=settings"
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_POST
@customer_required
def switch_customer(request):
    """Act for another of the user's customers; one they do not belong to does not exist (404)."""
    try:
        customer_id = int(request.POST.get("customer", ""))
    except ValueError:
        raise Http404(_("No such customer.")) from None
    membership = next((m for m in request.memberships if m.customer_id == customer_id), None)
    if membership is None:
        raise Http404(_("No such customer."))
    request.session[SESSION_CUSTOMER_KEY] = customer_id
    messages.success(
        request, _("Now showing %(customer)s.") % {"customer": membership.customer.name}
    )
    return redirect("dashboard")
