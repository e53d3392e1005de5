"""The Usage page. Metering is not connected yet (no ingest API): the page says so plainly."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import customer_required


@require_GET
@customer_required
def usage_overview(request):
    return render(request, "usage/usage_overview.html")
