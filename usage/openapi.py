"""The ingest API described in OpenAPI 3.1, from the same constants the API checks with: served
at GET /api/v1/openapi.json, kept in the repository as docs/openapi.json (a test checks that
the two match, and schemathesis that every answer is one it describes).
`python manage.py openapi_schema > docs/openapi.json` writes the file again."""

import json

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from usage.api import MAX_BODY_BYTES, MAX_RECORDS
from usage.models import Metric
from usage.validation import CUSTOMER_NUMBER_LENGTH, LENGTHS, MAX_QUANTITY, TIMESTAMP_MAX_LENGTH

EXAMPLE = {
    "id": "evt-0001",
    "customer": "C-10001",
    "service": "k8s-prod-eu1",
    "metric": "cpu",
    "quantity": "12.5",
    "start": "2026-11-20T13:00:00Z",
    "end": "2026-11-20T14:00:00Z",
    "resource": "vm-42",
}


def _json(schema_name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


def _timestamp(description: str) -> dict:
    return {
        "type": "string",
        "format": "date-time",
        "maxLength": TIMESTAMP_MAX_LENGTH,
        "description": description,
    }


def schema() -> dict:
    accept_days = settings.USAGE_ACCEPT_DAYS
    record = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "customer", "service", "metric", "quantity", "start", "end"],
        "properties": {
            "id": {
                "type": "string",
                "minLength": 1,
                "maxLength": LENGTHS["id"],
                "description": "The sender's id for the record, unique per customer: the same "
                "id with the same content again is a duplicate (counted once), with other "
                "content a conflict (409).",
            },
            "customer": {
                "type": "string",
                "minLength": 1,
                "maxLength": CUSTOMER_NUMBER_LENGTH,
                "description": "The customer number.",
                "examples": ["C-10001"],
            },
            "service": {
                "type": "string",
                "minLength": 1,
                "maxLength": LENGTHS["service"],
                "description": "The customer's service or project, created on first sight: "
                "letters and digits of any script, spaces and . _ - : / ( ) #; not starting "
                "(nor a part after ; or , starting) with = + - @.",
            },
            "metric": {
                "type": "string",
                "enum": list(Metric.values),
                "description": "cpu (vCPU-hours), memory (GB-hours), storage (GB-hours), "
                "bandwidth (GB).",
            },
            "quantity": {
                "description": "In the metric's unit, 0 to "
                f"{MAX_QUANTITY:,}; kept to 6 decimal places, rounded half-up.",
                "oneOf": [
                    {
                        "type": "string",
                        "pattern": r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?$",
                        "examples": ["12.5"],
                    },
                    {"type": "number", "minimum": 0, "maximum": int(MAX_QUANTITY)},
                ],
            },
            "start": _timestamp(
                "ISO 8601 with a time zone; at most 5 minutes ahead and at most "
                f"{accept_days} days ago (USAGE_ACCEPT_DAYS). The record counts on the UTC "
                "day it starts on."
            ),
            "end": _timestamp("ISO 8601 with a time zone; not before start, at most a day after."),
            "resource": {
                "type": ["string", "null"],
                "maxLength": LENGTHS["resource"],
                "description": "Optional: a VM, a bucket.",
            },
        },
        "examples": [EXAMPLE],
    }
    problems = {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["index", "field", "error"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "field": {
                            "type": ["string", "null"],
                            "description": "The record's field; null when the record is not "
                            "an object.",
                        },
                        "error": {"type": "string"},
                    },
                },
            }
        },
    }
    refusal = {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Billing Portal usage ingest",
            "version": "1",
            "description": "The cloud's collectors send usage records in batches. Each sender "
            "has a token of its own (`manage.py create_ingest_token`), optionally limited to "
            "some customers. A batch is stored whole or not at all.",
        },
        "paths": {
            "/api/v1/usage/": {
                "post": {
                    "operationId": "ingestUsage",
                    "summary": "Send a batch of usage records",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "description": f"At most {MAX_RECORDS:,} records and "
                        f"{MAX_BODY_BYTES:,} bytes.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Batch"},
                                "example": {"records": [EXAMPLE]},
                            }
                        },
                    },
                    "responses": {
                        "200": _json("Stored", "The batch is stored."),
                        "400": {
                            "description": "A record is invalid (every problem listed), or the "
                            "body is not a JSON object with a list records; nothing stored.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "oneOf": [
                                            {"$ref": "#/components/schemas/Problems"},
                                            {"$ref": "#/components/schemas/Refusal"},
                                        ]
                                    }
                                }
                            },
                        },
                        "401": {
                            **_json("Refusal", "No live bearer token."),
                            "headers": {
                                "WWW-Authenticate": {
                                    "schema": {"type": "string", "const": 'Bearer realm="usage"'}
                                }
                            },
                        },
                        "403": _json(
                            "Problems",
                            "A record is for a customer the token may not send for; nothing "
                            "stored.",
                        ),
                        "405": _json("Refusal", "Only POST."),
                        "409": _json(
                            "Problems",
                            "A record's id was received before with other content; nothing stored.",
                        ),
                        "413": _json("Refusal", f"More than {MAX_RECORDS:,} records or bytes."),
                        "415": _json("Refusal", "The body is not application/json."),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This description",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Batch": {
                    "type": "object",
                    "required": ["records"],
                    "properties": {
                        "records": {
                            "type": "array",
                            "maxItems": MAX_RECORDS,
                            "items": {"$ref": "#/components/schemas/Record"},
                        }
                    },
                },
                "Record": record,
                "Stored": {
                    "type": "object",
                    "required": ["accepted", "duplicates"],
                    "additionalProperties": False,
                    "properties": {
                        "accepted": {"type": "integer", "minimum": 0},
                        "duplicates": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "Records whose id the customer sent before, or "
                            "earlier in the batch: counted once.",
                        },
                    },
                },
                "Problems": problems,
                "Refusal": refusal,
            },
        },
    }


def as_text() -> str:
    """The description as the endpoint sends it and docs/openapi.json keeps it."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


@csrf_exempt  # read-only and public: any other method is answered 405, not a CSRF failure
@require_GET
def openapi_description(request):
    return HttpResponse(as_text(), content_type="application/json")
