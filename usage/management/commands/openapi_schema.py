"""`manage.py openapi_schema > docs/openapi.json`: the ingest API's OpenAPI 3.1 description, as
GET /api/v1/openapi.json serves it (a test checks the file in the repository matches)."""

from django.core.management.base import BaseCommand

from usage.openapi import as_text


class Command(BaseCommand):
    help = "Print the ingest API's OpenAPI 3.1 description (docs/openapi.json)."

    def handle(self, *args, **options):
        self.stdout.write(as_text(), ending="")
