"""The Contact tab: email addresses with their roles (owners and billing members change them),
the public page that confirms an address from its emailed link, and the phone list."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import links, services
from accounts.access import billing_manager_required, customers_own
from accounts.forms import ContactForm, PhoneForm
from accounts.models import Contact, Phone
from accounts.views import after_change, render_pane

# The form editing a row shares the tab with the form adding one: its ids must differ.
EDIT_ID = "edit-%s"


def _save(request, form, *, save, done, new_form_name, edit_form_name):
    if form.is_valid():
        try:
            saved = save(form.instance, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, done(saved))
            return after_change(request, "contact")
    name = edit_form_name if form.instance.pk else new_form_name
    return render_pane(request, tab="contact", **{name: form})


def _save_contact(request, form, *, done_text):
    """`done_text`: the confirmation, with %(email)s for the address."""

    def done(contact):
        text = done_text % {"email": contact.email}
        if contact.is_confirmed:
            return text
        confirm = _("We sent it a link to confirm the address.")
        return f"{text} {confirm}"

    return _save(
        request,
        form,
        save=lambda contact, actor: services.contact_save(contact=contact, actor=actor),
        done=done,
        new_form_name="new_form",
        edit_form_name="edit_form",
    )


@require_POST
@billing_manager_required
def contact_create(request):
    return _save_contact(
        request,
        ContactForm(request.POST, customer=request.customer),
        done_text=_("%(email)s added."),
    )


@require_http_methods(["GET", "POST"])
@billing_manager_required
def contact_edit(request, pk):
    contact = customers_own(request, Contact, pk)
    if request.method == "GET":
        form = ContactForm(instance=contact, customer=request.customer, auto_id=EDIT_ID)
        return render_pane(request, tab="contact", edit_form=form)
    form = ContactForm(request.POST, instance=contact, customer=request.customer, auto_id=EDIT_ID)
    return _save_contact(request, form, done_text=_("%(email)s saved."))


@require_POST
@billing_manager_required
def contact_toggle_role(request, pk, role):
    """A tick or cross clicked: the role flips at once. HTMX gets the row back."""
    if role not in Contact.ROLES:
        raise Http404(_("No such role."))
    contact = customers_own(request, Contact, pk)
    try:
        contact = services.contact_toggle_role(contact=contact, role=role, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if role in contact.roles:
            done = _("%(email)s now has the %(role)s role.")
        else:
            done = _("%(email)s no longer has the %(role)s role.")
        messages.success(
            request, done % {"email": contact.email, "role": Contact.ROLE_LABELS[role]}
        )
    if request.htmx:
        return render(request, "accounts/partials/contacts.html#contact-row", {"contact": contact})
    return after_change(request, "contact")


@require_POST
@billing_manager_required
def contact_delete(request, pk):
    contact = customers_own(request, Contact, pk)
    try:
        services.contact_delete(contact=contact, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(email)s removed.") % {"email": contact.email})
    return after_change(request, "contact")


@require_POST
@billing_manager_required
def contact_resend(request, pk):
    contact = customers_own(request, Contact, pk)
    try:
        services.contact_resend_confirmation(contact=contact, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("A new confirmation link is on its way to %(email)s.") % {"email": contact.email},
        )
    return after_change(request, "contact")


@require_http_methods(["GET", "POST"])
def contact_confirm(request, token):
    """The link in a confirmation email. GET asks (mail scanners open links, they must not
    confirm); POST confirms. No login needed: the signed link is the proof."""
    try:
        if request.method == "GET":
            contact = services.contact_awaiting(token)
            return render(request, "accounts/contact_confirm.html", {"email": contact.email})
        contact = services.contact_confirm(token=token)
    except links.LinkRefused as refused:
        return link_refused(request, refused)
    return render(request, "accounts/contact_confirmed.html", {"contact": contact})


def link_refused(request, refused: links.LinkRefused):
    status = 400 if refused.refusal == links.Refusal.INVALID else 410
    return render(
        request, "accounts/link_refused.html", {"refusal": refused.refusal}, status=status
    )


# ---- Phones ----


def _save_phone(request, form, *, done_text):
    return _save(
        request,
        form,
        save=lambda phone, actor: services.phone_save(phone=phone, actor=actor),
        done=lambda phone: done_text % {"phone": phone.display},
        new_form_name="phone_form",
        edit_form_name="phone_edit_form",
    )


@require_POST
@billing_manager_required
def phone_create(request):
    return _save_phone(
        request,
        PhoneForm(request.POST, customer=request.customer),
        done_text=_("%(phone)s added."),
    )


@require_http_methods(["GET", "POST"])
@billing_manager_required
def phone_edit(request, pk):
    phone = customers_own(request, Phone, pk)
    if request.method == "GET":
        form = PhoneForm(instance=phone, customer=request.customer, auto_id=EDIT_ID)
        return render_pane(request, tab="contact", phone_edit_form=form)
    form = PhoneForm(request.POST, instance=phone, customer=request.customer, auto_id=EDIT_ID)
    return _save_phone(request, form, done_text=_("%(phone)s saved."))


@require_POST
@billing_manager_required
def phone_delete(request, pk):
    phone = customers_own(request, Phone, pk)
    services.phone_delete(phone=phone, actor=request.user)
    messages.success(request, _("%(phone)s removed.") % {"phone": phone.display})
    return after_change(request, "contact")
