from django.apps import AppConfig


class SplitsConfig(AppConfig):
    # Split mode: a review of the whole repository in several requests (parts) and a merge.
    name = "reviewer.splits"
