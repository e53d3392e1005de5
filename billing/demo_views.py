"""The demo checkout: with DEBUG on and no Stripe keys (billing.stripe_gateway.is_demo), Pay Now
opens this local page, made to look like Stripe's hosted Checkout and labelled as a demo. Paying
on it sends the portal the webhook Stripe would send, signed with the demo secret, through the
same handler as Stripe's (billing.views.receive_webhook): the invoice turns Paid as it would.
With DEBUG off, or with Stripe keys, the page does not exist (404)."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.access import billing_manager_required
from billing import payment_selectors, stripe_gateway
from billing.models import CheckoutSession
from billing.views import receive_webhook


def _back(checkout: CheckoutSession, outcome: str) -> str:
    """Where Stripe would send the customer back: the invoice, or the list for several."""
    items = list(checkout.items.all())
    if len(items) == 1:
        return f"{reverse('invoice_detail', args=[items[0].invoice.number])}?checkout={outcome}"
    return f"{reverse('invoice_list')}?checkout={outcome}"


@require_http_methods(["GET", "POST"])
@billing_manager_required
def demo_checkout(request, stripe_id):
    if not stripe_gateway.is_demo():
        raise Http404("The demo checkout exists only with DEBUG on and no Stripe keys.")
    checkout = payment_selectors.checkout_for(request.customer, stripe_id)
    if request.method == "POST":
        if checkout.status == CheckoutSession.Status.OPEN:
            payload, signature = stripe_gateway.demo_completed_event(
                stripe_id=checkout.stripe_id,
                amount=checkout.amount_total,
                currency=checkout.currency,
            )
            receive_webhook(payload, signature)
        return redirect(_back(checkout, "success"))
    context = {
        "checkout": checkout,
        "cancel_url": _back(checkout, "cancelled"),
        "open": checkout.status == CheckoutSession.Status.OPEN,
    }
    return render(request, "billing/demo_checkout.html", context)
