from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviewer.reviews"
    default_auto_field = "django.db.models.BigAutoField"
