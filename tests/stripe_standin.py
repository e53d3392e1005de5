"""A local HTTP server that answers the few Stripe API calls the portal makes, and records them.

The stripe library is pointed at it through STRIPE_API_BASE, so no test call leaves the
machine. It also serves the "hosted Checkout page" the portal redirects to, and signs webhook
events the way Stripe does (HMAC-SHA256 over "timestamp.payload" with the endpoint secret).

Saved methods: a setup-mode Checkout Session comes with a SetupIntent that saved
`next_saved` (a card unless the session asked for sepa_debit); SetupIntents and
PaymentMethods can be retrieved, and methods detached. Off-session PaymentIntents answer as
`charge_script` says, one outcome per new request: "succeeded" (also when the script is
empty), a decline code ("card_declined", "insufficient_funds", "expired_card") or
"authentication_required"; a repeated idempotency key gets the same answer, as at Stripe.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

WEBHOOK_SECRET = "whsec_test_standin"

VISA = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2028}
SEPA = {"bank_code": "37040044", "last4": "3000"}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    form: dict


@dataclass
class StripeStandIn:
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_with: int | None = None  # answer every API call with this status, e.g. 500
    on_request: Callable[[str], None] | None = None  # called with the path before answering
    next_saved: dict = field(default_factory=lambda: dict(VISA))  # the card a setup saves
    charge_script: list[str] = field(default_factory=list)  # outcomes of the next charges
    payment_methods: dict = field(default_factory=dict)
    setup_intents: dict = field(default_factory=dict)
    payment_intents: dict = field(default_factory=dict)
    setup_sessions: dict = field(default_factory=dict)
    _responses_by_key: dict = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    # Stripe answers concurrent requests with one idempotency key as one: so does the stand-in.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "StripeStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                standin.requests.append(
                    RecordedRequest("POST", self.path, dict(self.headers), form)
                )
                if standin.on_request:
                    standin.on_request(self.path)
                status, body = standin.answer(self.path, self.headers, form)
                self._send(status, "application/json", json.dumps(body))

            def do_GET(self):
                if self.path.startswith("/v1/"):
                    standin.requests.append(
                        RecordedRequest("GET", self.path, dict(self.headers), {})
                    )
                    status, body = standin.answer_get(urlsplit(self.path).path)
                    self._send(status, "application/json", json.dumps(body))
                elif self.path.startswith("/checkout/"):
                    page = "<!doctype html><title>Stripe Checkout (stand-in)</title>"
                    page += f"<h1>Stand-in checkout</h1><p>{self.path}</p>"
                    self._send(200, "text/html", page)
                else:
                    self._send(404, "application/json", '{"error": {"message": "not here"}}')

            def _send(self, status, content_type, text):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, headers, form: dict) -> tuple[int, dict]:
        with self._lock:
            return self._answer(path, headers, form)

    def _answer(self, path: str, headers, form: dict) -> tuple[int, dict]:
        if self.fail_with:
            return self.fail_with, {"error": {"type": "api_error", "message": "Stand-in outage"}}
        key = headers.get("Idempotency-Key")
        if key in self._responses_by_key:  # as Stripe does: the same key, the same answer
            return self._responses_by_key[key]
        n = next(self._ids)
        status = 200
        if path == "/v1/customers":
            body = {"id": f"cus_test_{n}", "object": "customer", "name": form.get("name")}
        elif path == "/v1/checkout/sessions" and form.get("mode") == "setup":
            body = self._setup_session(n, form)
        elif path == "/v1/payment_intents":
            status, body = self._charge(n, form)
        elif path.startswith("/v1/payment_methods/") and path.endswith("/detach"):
            method = self.payment_methods.get(path.split("/")[3])
            if method is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
            method["customer"] = None
            body = method
        elif path == "/v1/checkout/sessions":
            amounts = [int(v) for k, v in form.items() if k.endswith("[unit_amount]")]
            body = {
                "id": f"cs_test_{n}",
                "object": "checkout.session",
                "url": f"{self.url}/checkout/cs_test_{n}",
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": sum(amounts),
                "currency": form.get("line_items[0][price_data][currency]"),
                "expires_at": int(form["expires_at"]),
            }
        else:
            return 404, {"error": {"type": "invalid_request_error", "message": "Unknown path"}}
        self._responses_by_key[key] = (status, body)
        return status, body

    def _setup_session(self, n: int, form: dict) -> dict:
        kind = form.get("payment_method_types[0]", "card")
        details = self.next_saved if kind == "card" else dict(SEPA)
        method = {"id": f"pm_test_{n}", "object": "payment_method", "type": kind, kind: details}
        method["customer"] = form.get("customer")
        self.payment_methods[method["id"]] = method
        intent = {"id": f"seti_test_{n}", "object": "setup_intent", "customer": form["customer"]}
        self.setup_intents[intent["id"]] = intent | {"payment_method": method["id"]}
        session = self.setup_sessions[f"cs_test_{n}"] = {
            "id": f"cs_test_{n}",
            "object": "checkout.session",
            "mode": "setup",
            "url": f"{self.url}/checkout/cs_test_{n}",
            "status": "open",
            "setup_intent": intent["id"],
            "customer": form["customer"],
            "metadata": {"portal_customer": form.get("metadata[portal_customer]")},
            "expires_at": int(time.time()) + 86400,
        }
        return session

    def _charge(self, n: int, form: dict) -> tuple[int, dict]:
        outcome = self.charge_script.pop(0) if self.charge_script else "succeeded"
        intent = {
            "id": f"pi_test_{n}",
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_received": int(form["amount"]) if outcome == "succeeded" else 0,
            "currency": form["currency"],
            "customer": form["customer"],
            "payment_method": form["payment_method"],
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "status": "succeeded",
        }
        self.payment_intents[intent["id"]] = intent
        if outcome == "succeeded":
            return 200, intent
        if outcome == "authentication_required":
            intent["status"] = "requires_action"
            error = {"type": "card_error", "code": "authentication_required"}
        else:
            intent["status"] = "requires_payment_method"
            error = {"type": "card_error", "code": "card_declined", "decline_code": outcome}
        intent["last_payment_error"] = error
        return 402, {"error": error | {"message": outcome, "payment_intent": intent}}

    def answer_get(self, path: str) -> tuple[int, dict]:
        with self._lock:
            if self.fail_with:
                return self.fail_with, {"error": {"type": "api_error", "message": "Outage"}}
            kind, object_id = path.split("/")[2:4]
            if kind == "setup_intents" and object_id in self.setup_intents:
                intent = dict(self.setup_intents[object_id])
                intent["payment_method"] = self.payment_methods[intent["payment_method"]]
                return 200, intent
            if kind == "payment_methods" and object_id in self.payment_methods:
                return 200, self.payment_methods[object_id]
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}

    def calls(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]


def signed(event: dict | str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """(body, Stripe-Signature header) for an event, signed as Stripe signs them."""
    body = event if isinstance(event, str) else json.dumps(event)
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(
        secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    return body, f"t={timestamp},v1={signature}"


def checkout_event(
    event_id: str,
    event_type: str,
    *,
    session_id: str,
    amount_total: int,
    currency: str = "eur",
    payment_status: str = "paid",
    payment_intent: str = "pi_test_1",
) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "amount_total": amount_total,
                "currency": currency,
                "payment_status": payment_status,
                "payment_intent": payment_intent,
                "status": "complete",
            }
        },
    }


def refund_event(event_id: str, *, payment_intent: str, amount_refunded: int) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": "ch_test_1",
                "object": "charge",
                "payment_intent": payment_intent,
                "amount_refunded": amount_refunded,
                "currency": "eur",
            }
        },
    }


def setup_completed_event(event_id: str, session: dict) -> dict:
    """checkout.session.completed for a setup-mode session the stand-in opened."""
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session | {"status": "complete"}},
    }


def intent_event(event_id: str, intent: dict, *, succeeded: bool = True) -> dict:
    """payment_intent.succeeded (or .payment_failed) for a PaymentIntent the stand-in made."""
    obj = dict(intent)
    if succeeded:
        obj |= {"status": "succeeded", "amount_received": intent["amount"]}
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded" if succeeded else "payment_intent.payment_failed",
        "data": {"object": obj},
    }
