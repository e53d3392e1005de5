"""`POST /api/v1/usage/`: the cloud's metering posts batches of usage records here (DESIGN.md,
"Metering contract"). A machine calls it with a bearer token, never a browser with a session.
Every answer is JSON and never cached.

Answers: 200 `{"accepted": N, "duplicates": D}` when the batch is stored (ids seen before
are counted, not stored again); 400 `{"errors": [{"index", "field", "error"}]}` when a record
is invalid, and nothing of the batch is stored; 409 the same, naming each record whose id was
received before with other content; 403 the same, naming each record for a customer the
token may not send for; 400 `{"error": ...}` for a body that is not JSON, not an object, or
whose `records` is not a list; 401 without a live token; 405 for anything but POST; 413 over
MAX_RECORDS records or MAX_BODY_BYTES (refused unread); 415 for a body that is not
`application/json`.

Senders (usage.models.senders): a token made with `manage.py create_ingest_token`, looked up
once a batch by its digest, or USAGE_INGEST_TOKEN from the environment, the sender
"environment", for every customer. Each batch after the token is counted on its sender's day,
stored or refused, with the day's first refusal: the admin's figures per sender.
"""

import hmac
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from usage.batch import decode_batch
from usage.ingest import (
    ConflictingBatch,
    ForbiddenBatch,
    InvalidBatch,
    ingest_records,
    ingest_typed,
)
from usage.models import IngestToken, Sender, SenderDay
from usage.validation import parse_json

log = logging.getLogger(__name__)

MAX_RECORDS = 10_000
# A typical record is about 250 bytes of JSON and the longest one the contract allows about
# 800; 1,000 bytes a record is room enough, and a body beyond that is refused unread.
MAX_BODY_BYTES = MAX_RECORDS * 1_000


@dataclass(frozen=True)
class Caller:
    sender: Sender
    customers: frozenset[str] | None  # None: every customer


@csrf_exempt  # the token authenticates the caller; there is no session to ride on
@never_cache
def ingest_usage(request):
    if request.method != "POST":
        response = _answer(405, error="Send usage records with POST.")
        response["Allow"] = "POST"
        return response
    caller = _caller(request.headers.get("Authorization", ""))
    if caller is None:
        response = _answer(401, error="A valid bearer token is required.")
        response["WWW-Authenticate"] = 'Bearer realm="usage"'
        return response
    response = _ingest(request, caller)
    if response.status_code != 200:
        SenderDay.count_batch(caller.sender.pk, error=_first_error(response))
    return response


def _ingest(request, caller: Caller) -> JsonResponse:
    if request.content_type.lower() != "application/json":
        return _answer(415, error="Send the records as application/json.")
    body = _body(request)
    if body is None:
        return _answer(413, error=f"The body is larger than {MAX_BODY_BYTES:,} bytes.")
    # Typed records when every record is well-typed, as nearly always; else the batch as JSON,
    # which the validation reads record by record to name every problem.
    records = decode_batch(body)
    typed = records is not None
    if not typed:
        try:
            payload = parse_json(body)
        except ValueError:
            return _answer(400, error="The body is not valid JSON.")
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            return _answer(400, error='The body must be a JSON object with a list "records".')
        records = payload["records"]
    if len(records) > MAX_RECORDS:
        return _answer(
            413,
            error=f"At most {MAX_RECORDS:,} records in one batch; this one has {len(records):,}.",
        )
    ingest = ingest_typed if typed else ingest_records
    try:
        result = ingest(records, sender=caller.sender, customers=caller.customers)
    except ForbiddenBatch as refused:
        return _answer(403, errors=refused.errors)
    except ConflictingBatch as refused:
        return _answer(409, errors=refused.errors)
    except InvalidBatch as refused:
        return _answer(400, errors=refused.errors)
    SenderDay.count_batch(caller.sender.pk, records=result.accepted, duplicates=result.duplicates)
    log.info(
        "Usage batch from %s: %d accepted, %d duplicates",
        caller.sender,
        result.accepted,
        result.duplicates,
    )
    return _answer(200, accepted=result.accepted, duplicates=result.duplicates)


def _answer(status: int, **body) -> JsonResponse:
    return JsonResponse(body, status=status)


def _caller(authorization: str) -> Caller | None:
    """Who sends, from the bearer token: the environment's, or a live IngestToken (whose
    last use is noted, once a batch)."""
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return None
    expected = settings.USAGE_INGEST_TOKEN
    # In constant time: the answer's timing must not tell how much of a guess was right.
    if expected and hmac.compare_digest(secret.encode(), expected.encode()):
        return Caller(Sender.named(Sender.ENVIRONMENT), customers=None)
    token = IngestToken.objects.for_secret(secret)
    if token is None:
        return None
    IngestToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    numbers = frozenset(token.customers.values_list("number", flat=True))
    return Caller(token.sender, customers=numbers or None)


def _first_error(response: JsonResponse) -> str:
    """A refused batch's reason as the admin shows it: the status and the first problem."""
    body = json.loads(response.content)
    if "errors" in body:
        first = body["errors"][0]
        problem = f"record {first['index']}, {first['field']}: {first['error']}"
        return f"{response.status_code} ({len(body['errors'])} problem(s)) {problem}"
    return f"{response.status_code} {body['error']}"


def _body(request) -> bytes | None:
    """The raw body, or None when it is larger than MAX_BODY_BYTES (read no further)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body
