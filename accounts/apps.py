from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Register the tasks in every process, not only in workers: accounts/jobs.py finds
        # them by name in the Celery app when a transaction commits.
        from accounts import tasks  # noqa: F401
