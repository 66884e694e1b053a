"""Start-up warnings about settings that work on one machine but not in a deployment."""

from django.conf import settings
from django.core.checks import Warning

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"


def mail_server_configured(app_configs, **kwargs):
    # The console backend suits `make run`; in the services profile nobody reads that log
    # for invites and password resets.
    if settings.SERVICES_PROFILE and settings.EMAIL_BACKEND == CONSOLE_EMAIL:
        return [
            Warning(
                "No mail server configured: invitation and password-reset emails are only"
                " printed to the log. Set EMAIL_URL.",
                id="reviewer.W001",
            )
        ]
    return []
