from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        # Register the tasks in every process, not only in workers: billing/jobs.py finds them
        # by name in the Celery app when a transaction commits. The Account pane is accounts';
        # billing renders its sections of it, names its settings' fields in its Activity, and
        # says in which language accounts writes to a customer: that of its invoices.
        from django.utils.translation import gettext_lazy

        from accounts import audit, emails, panes
        from billing import tasks  # noqa: F401
        from billing.account_views import (
            METHODS_TAB,
            payment_methods_section,
            settings_section,
            terms_section,
        )
        from billing.late_usage import late_usage_waiting
        from billing.models import BillingProfile
        from usage import archive, pricing

        panes.add_section("customer", terms_section)
        panes.add_section("settings", settings_section)
        panes.add_tab(METHODS_TAB, gettext_lazy("Payment methods"))
        panes.add_section(METHODS_TAB, payment_methods_section)
        audit.name_fields_of(BillingProfile)
        emails.write_to_customers_in(lambda customer: customer.billing_profile.invoice_language)
        # A customer without any price plan sees its (empty) estimates in its own currency.
        pricing.currency_without_plan(lambda customer: customer.billing_profile.currency)
        # A month's raw records stay in the database while late usage of it waits for an invoice.
        archive.keep_raw_records_while(late_usage_waiting)
