from django.contrib import admin
from django.urls import include, path

from billing import account_views
from billing.views import stripe_webhook
from portal import views
from usage import urls as usage_urls
from usage.api import ingest_usage
from usage.openapi import openapi_description

# /usage/ mounted once: the Usage page, which the portal composes from usage's figures and
# billing's fragments, and usage's own pages beneath it.
usage_pages = [path("", views.usage, name="usage"), *usage_urls.urlpatterns]

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("accounts/", include("accounts.auth_urls")),
    # Billing's part of the Account pane, under the pane's own address.
    path("account/settings/", account_views.settings_edit, name="settings_edit"),
    path("account/payment-methods/", account_views.payment_methods, name="payment_methods"),
    path(
        "account/payment-methods/add/",
        account_views.payment_method_add,
        name="payment_method_add",
    ),
    path(
        "account/payment-methods/<int:pk>/default/",
        account_views.payment_method_default,
        name="payment_method_default",
    ),
    path(
        "account/payment-methods/<int:pk>/remove/",
        account_views.payment_method_remove,
        name="payment_method_remove",
    ),
    path("account/autopay/", account_views.autopay_edit, name="autopay_edit"),
    path("account/", include("accounts.urls")),
    path("invoices/", include("billing.urls")),
    path("payments/", include("billing.payment_urls")),
    path("usage/", include(usage_pages)),
    path("api/v1/usage/", ingest_usage, name="usage_ingest"),
    path("api/v1/openapi.json", openapi_description, name="usage_openapi"),
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Billing Portal administration"
admin.site.site_title = "Billing Portal admin"
admin.site.index_title = "Customers, invoices and payments"
