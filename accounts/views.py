"""Account settings: Customer Info, Contact (who receives invoices) and Settings tabs,
and the customer switcher. One page; with HTMX the same view returns the panel for the sheet.
Also the password reset form, throttled."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.access import SESSION_CUSTOMER_KEY, billing_manager_required, customer_required
from accounts.forms import ContactForm
from accounts.models import Contact
from accounts.selectors import contacts_for
from accounts.throttle import client_ip

TABS = {"customer": "Customer Info", "contact": "Contact", "settings": "Settings"}


def contact_for(request, pk: int) -> Contact:
    """The request customer's contact, or 404: another customer's contacts do not exist here."""
    return get_object_or_404(Contact, pk=pk, customer=request.customer)


def _render_account(request, *, tab, new_form=None, edit_form=None, status=200):
    context = {
        "tab": tab,
        "tabs": TABS,
        "contacts": contacts_for(request.customer),
        "phones": request.customer.phones.all(),
        "new_form": new_form or ContactForm(customer=request.customer),
        "edit_form": edit_form,
    }
    template = "accounts/account.html"
    if request.htmx:
        template += "#account-panel"
    return render(request, template, context, status=status)


def _contact_tab(request):
    """After a change: the refreshed panel for HTMX, a redirect (post/redirect/get) otherwise."""
    if request.htmx:
        return _render_account(request, tab="contact")
    return redirect(reverse("account") + "?tab=contact")


@require_GET
@customer_required
def account(request):
    tab = request.GET.get("tab", "customer")
    return _render_account(request, tab=tab if tab in TABS else "customer")


def _save_contact(request, form, *, done):
    if form.is_valid():
        try:
            contact = services.contact_save(contact=form.instance)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, done.format(email=contact.email))
            return _contact_tab(request)
    if form.instance.pk:
        return _render_account(request, tab="contact", edit_form=form)
    return _render_account(request, tab="contact", new_form=form)


@require_POST
@billing_manager_required
def contact_create(request):
    form = ContactForm(request.POST, customer=request.customer)
    return _save_contact(request, form, done="{email} added.")


@require_http_methods(["GET", "POST"])
@billing_manager_required
def contact_edit(request, pk):
    contact = contact_for(request, pk)
    if request.method == "GET":
        form = ContactForm(instance=contact, customer=request.customer)
        return _render_account(request, tab="contact", edit_form=form)
    form = ContactForm(request.POST, instance=contact, customer=request.customer)
    return _save_contact(request, form, done="{email} saved.")


@require_POST
@billing_manager_required
def contact_delete(request, pk):
    contact = contact_for(request, pk)
    try:
        services.contact_delete(contact=contact)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{contact.email} removed.")
    return _contact_tab(request)


@require_POST
@customer_required
def switch_customer(request):
    """Act for another of the user's customers; one they do not belong to does not exist (404)."""
    try:
        customer_id = int(request.POST.get("customer", ""))
    except ValueError:
        raise Http404("No such customer.") from None
    membership = next((m for m in request.memberships if m.customer_id == customer_id), None)
    if membership is None:
        raise Http404("No such customer.")
    request.session[SESSION_CUSTOMER_KEY] = customer_id
    messages.success(request, f"Now showing {membership.customer.name}.")
    return redirect("dashboard")


TOO_MANY_RESETS = (
    "Too many reset links were asked for this address or from your network. "
    "Please try again in an hour."
)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form (which says the same whether or not the address has an account),
    refused with 429 after too many requests for one address or from one client."""

    def form_valid(self, form):
        allowed = services.password_reset_request(
            email=form.cleaned_data["email"], ip_address=client_ip(self.request)
        )
        if not allowed:
            form.add_error(None, TOO_MANY_RESETS)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)
