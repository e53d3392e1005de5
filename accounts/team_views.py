"""The Team tab (owners): members and their roles, invitations; and the public page where an
invited person accepts, with a new password or with the login they have."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import links, services
from accounts.access import SESSION_CUSTOMER_KEY, customers_own, owner_required
from accounts.contact_views import link_refused
from accounts.forms import InvitationForm, JoinForm, MemberRoleForm
from accounts.models import Invitation, Membership, User
from accounts.views import after_change, render_pane


@require_POST
@owner_required
def member_invite(request):
    form = InvitationForm(request.POST, customer=request.customer)
    if form.is_valid():
        try:
            invitation = services.member_invite(invitation=form.instance, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s. It is valid for 7 days.")
                % {"email": invitation.email},
            )
            return after_change(request, "team")
    return render_pane(request, tab="team", invite_form=form)


@require_POST
@owner_required
def invitation_revoke(request, pk):
    invitation = customers_own(request, Invitation, pk)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The invitation to %(email)s is revoked.") % {"email": invitation.email}
        )
    return after_change(request, "team")


def _member_change(request, pk, change, done):
    membership = customers_own(request, Membership, pk)
    try:
        change(membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return after_change(request, "team")
    messages.success(request, done(membership))
    if membership.user_id == request.user.pk:
        # Owners who step down or leave lose the Team tab: show them what they still may see.
        if request.htmx:
            return HttpResponseClientRedirect(reverse("account"))
        return redirect("account")
    return after_change(request, "team")


@require_POST
@owner_required
def member_role(request, pk):
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose Owner, Billing or Viewer."))
        return after_change(request, "team")
    role = form.cleaned_data["role"]
    return _member_change(
        request,
        pk,
        lambda m: services.member_change_role(membership=m, role=role, actor=request.user),
        lambda m: (
            _("%(email)s is now %(role)s.")
            % {"email": m.user.email, "role": Membership.Role(role).label}
        ),
    )


@require_POST
@owner_required
def member_remove(request, pk):
    return _member_change(
        request,
        pk,
        lambda m: services.member_remove(membership=m, actor=request.user),
        lambda m: (
            _("%(email)s is no longer a member of %(customer)s.")
            % {"email": m.user.email, "customer": request.customer.name}
        ),
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """The link in an invitation email. Without a login for the invited address, the person
    chooses a password; with one, they log in (if need be) and accept."""
    try:
        invitation = services.open_invitation(token)
    except links.LinkRefused as refused:
        return link_refused(request, refused)
    has_login = User.objects.filter(email__iexact=invitation.email).exists()
    context = {"invitation": invitation, "has_login": has_login}
    if has_login:
        if request.method == "POST" and request.user.is_authenticated:
            try:
                membership = services.invitation_accept(token=token, user=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            except links.LinkRefused as refused:
                return link_refused(request, refused)
            else:
                return _joined(request, membership)
        return render(request, "accounts/invitation_accept.html", context)
    form = JoinForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user, membership = services.invitation_accept_as_new_user(
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except links.LinkRefused as refused:
            return link_refused(request, refused)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # The user was just made with this password; no other backend needs asking.
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return _joined(request, membership)
    return render(request, "accounts/invitation_accept.html", context | {"form": form})


def _joined(request, membership):
    request.session[SESSION_CUSTOMER_KEY] = membership.customer_id
    messages.success(
        request,
        _("Welcome to %(customer)s. You are %(role)s.")
        % {"customer": membership.customer.name, "role": membership.get_role_display()},
    )
    return redirect("dashboard")
