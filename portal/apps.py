from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from portal.middleware import SessionIdleMiddleware

        user_logged_in.connect(
            SessionIdleMiddleware.touch_on_login, dispatch_uid="portal.session_touch"
        )
