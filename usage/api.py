"""`POST /api/v1/usage/`: the cloud's metering posts batches of usage records here (DESIGN.md,
"Metering contract"). A machine calls it with a bearer token, never a browser with a session.
Every answer is JSON and never cached.

Answers: 200 `{"accepted": N, "duplicates": D}` when the batch is stored (ids seen before
are counted, not stored again); 400 `{"errors": [{"index", "field", "error"}]}` when a record
is invalid, and nothing of the batch is stored; 409 the same, naming each record whose id was
received before with other content; 400 `{"error": ...}` for a body that is not JSON, not an
object, or whose `records` is not a list; 401 without the right token; 405 for
anything but POST; 413 over MAX_RECORDS records or MAX_BODY_BYTES (refused unread); 415 for a
body that is not `application/json`; 503 while USAGE_INGEST_TOKEN is unset.
"""

import hmac
import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from usage.ingest import ConflictingBatch, InvalidBatch, ingest_records, parse_json

log = logging.getLogger(__name__)

MAX_RECORDS = 10_000
# A typical record is about 250 bytes of JSON and the longest one the contract allows about
# 800; 1,000 bytes a record is room enough, and a body beyond that is refused unread.
MAX_BODY_BYTES = MAX_RECORDS * 1_000


@csrf_exempt  # the token authenticates the caller; there is no session to ride on
@never_cache
def ingest_usage(request):
    if request.method != "POST":
        response = _answer(405, error="Send usage records with POST.")
        response["Allow"] = "POST"
        return response
    if not settings.USAGE_INGEST_TOKEN:
        return _answer(503, error="usage ingest is not configured")
    if not _token_matches(request.headers.get("Authorization", "")):
        response = _answer(401, error="A valid bearer token is required.")
        response["WWW-Authenticate"] = 'Bearer realm="usage"'
        return response
    if request.content_type.lower() != "application/json":
        return _answer(415, error="Send the records as application/json.")
    body = _body(request)
    if body is None:
        return _answer(413, error=f"The body is larger than {MAX_BODY_BYTES:,} bytes.")
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
    try:
        result = ingest_records(records)
    except ConflictingBatch as refused:
        return _answer(409, errors=refused.errors)
    except InvalidBatch as refused:
        return _answer(400, errors=refused.errors)
    log.info("Usage batch: %d accepted, %d duplicates", result.accepted, result.duplicates)
    return _answer(200, accepted=result.accepted, duplicates=result.duplicates)


def _answer(status: int, **body) -> JsonResponse:
    return JsonResponse(body, status=status)


def _token_matches(authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    expected = settings.USAGE_INGEST_TOKEN.encode()
    # In constant time: the answer's timing must not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


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
