from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.core.signals import request_finished, request_started

        # Register the tasks in every process, not only in workers: core/jobs.py finds them
        # by name in the Celery app when a transaction commits; and hold the jobs a request
        # asks to run after its response until it has gone out.
        from accounts import tasks  # noqa: F401
        from core import jobs

        request_started.connect(jobs.hold_jobs_for_response)
        request_finished.connect(jobs.send_held_jobs)
