"""The Stripe webhook endpoint: verify the signature, record the event once, act on it."""

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import payments
from billing.stripe_gateway import InvalidWebhook, verify_webhook

log = logging.getLogger(__name__)


@csrf_exempt  # Stripe cannot send our CSRF token; the signature proves the sender instead
@require_POST
def stripe_webhook(request):
    try:
        event = verify_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except InvalidWebhook as exc:
        log.warning("Refused a Stripe webhook: %s", exc)
        return JsonResponse({"error": str(exc)}, status=400)
    outcome = payments.handle_stripe_event(event)
    log.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome)
    return JsonResponse({"received": event["id"], "outcome": outcome})
