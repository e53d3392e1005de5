"""View guards shared by every app: who is logged in, for which customer, with what role."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

# The session key holding the customer a user with several customers chose to act for.
SESSION_CUSTOMER_KEY = "customer_id"


def customer_required(view):
    """Logged in and acting for a customer. A login without any customer sees why, not a 404."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if request.customer is None:
            return render(request, "accounts/no_customer.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def billing_manager_required(view):
    """Owners and billing members only: paying and choosing who receives invoices. 403 else."""

    @wraps(view)
    @customer_required
    def wrapper(request, *args, **kwargs):
        if not request.membership.can_manage_billing:
            raise PermissionDenied(_("Your role on this account can read, not change, billing."))
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view):
    """Owners only: the customer's details and settings, its team, its activity. 403 else."""

    @wraps(view)
    @customer_required
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_owner:
            raise PermissionDenied(_("Only an owner of this account can change this."))
        return view(request, *args, **kwargs)

    return wrapper


def customers_own(request, model: type[Model], pk: int) -> Model:
    """The request customer's row of `model`, or 404: another customer's rows do not exist here."""
    return get_object_or_404(model, pk=pk, customer=request.customer)
