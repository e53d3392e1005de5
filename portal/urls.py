from django.contrib import admin
from django.urls import include, path

from billing.views import stripe_webhook
from portal import views
from usage.api import ingest_usage
from usage.openapi import openapi_description

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/", include("accounts.auth_urls")),
    path("account/", include("accounts.urls")),
    path("invoices/", include("billing.urls")),
    path("payments/", include("billing.payment_urls")),
    path("usage/", views.usage, name="usage"),
    path("usage/", include("usage.urls")),
    path("api/v1/usage/", ingest_usage, name="usage_ingest"),
    path("api/v1/openapi.json", openapi_description, name="usage_openapi"),
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Billing Portal administration"
admin.site.site_title = "Billing Portal admin"
admin.site.index_title = "Customers, invoices and payments"
