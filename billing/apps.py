from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        # Register the tasks in every process, not only in workers: billing/jobs.py finds them
        # by name in the Celery app when a transaction commits.
        from billing import tasks  # noqa: F401
