from django.apps import AppConfig
from django.core import checks


class TeamsConfig(AppConfig):
    name = "reviewer.teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .checks import mail_server_configured

        checks.register(mail_server_configured)
