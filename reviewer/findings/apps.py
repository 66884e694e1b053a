from django.apps import AppConfig


class FindingsConfig(AppConfig):
    name = "reviewer.findings"
    label = "findings"
    default_auto_field = "django.db.models.BigAutoField"
