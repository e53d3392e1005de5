from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage"

    def ready(self):
        # Register the tasks in every process, not only in workers, like billing and accounts.
        from usage import tasks  # noqa: F401
