from django.apps import AppConfig


class CountsConfig(AppConfig):
    name = "reviewer.counts"
    label = "counts"
    verbose_name = "token counts"
    default_auto_field = "django.db.models.BigAutoField"
