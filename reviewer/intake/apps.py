from django.apps import AppConfig


class IntakeConfig(AppConfig):
    # An app for its management commands (`pack`, `review`); the models live in reviews.
    name = "reviewer.intake"

    def ready(self):
        from .cli import refuse_abbreviations

        refuse_abbreviations()
