"""The password reset form, throttled per address and per client (accounts/throttle.py)."""

from django.contrib.auth import views as auth_views
from django.utils.translation import gettext_lazy as _

from accounts.throttle import client_ip, password_reset_request

TOO_MANY_RESETS = _(
    "Too many reset links were asked for this address or from your network. "
    "Please try again in an hour."
)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form (which says the same whether or not the address has an account),
    refused with 429 after too many requests for one address or from one client."""

    def form_valid(self, form):
        allowed = password_reset_request(
            email=form.cleaned_data["email"], ip_address=client_ip(self.request)
        )
        if not allowed:
            form.add_error(None, TOO_MANY_RESETS)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)
