from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.core.signals import request_finished, request_started

        # Register the tasks in every process, not only in workers: accounts/jobs.py finds
        # them by name in the Celery app when a transaction commits.
        from accounts import jobs, tasks  # noqa: F401

        request_started.connect(jobs.hold_jobs_for_response)
        request_finished.connect(jobs.send_held_jobs)
