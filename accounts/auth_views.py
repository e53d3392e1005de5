"""The password reset form, throttled per address and per client (accounts/throttle.py), its
link mailed by a worker (accounts/password_reset.py)."""

from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from accounts.password_reset import request_reset_link
from accounts.throttle import client_ip

TOO_MANY_RESETS = _(
    "Too many reset links were asked for this address or from your network. "
    "Please try again in an hour."
)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form (which says the same whether or not the address has an account),
    refused with 429 after too many requests for one address or from one client. Unlike
    Django's, it sends nothing itself: a task does, after the request."""

    def form_valid(self, form):
        allowed = request_reset_link(
            email=form.cleaned_data["email"], ip_address=client_ip(self.request)
        )
        if not allowed:
            form.add_error(None, TOO_MANY_RESETS)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return HttpResponseRedirect(self.get_success_url())
