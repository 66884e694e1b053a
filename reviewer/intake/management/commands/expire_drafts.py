"""`manage.py expire_drafts`: deletes drafts older than DRAFT_EXPIRY_DAYS and their uploads."""

from django.core.management.base import BaseCommand

from reviewer.reviews.retention import expire_drafts


class Command(BaseCommand):
    help = (
        "Deletes drafts (uploaded, never started) older than DRAFT_EXPIRY_DAYS together "
        "with the stored files no other review uses."
    )

    def handle(self, *args, **options):
        count = expire_drafts()
        self.stdout.write(f"Deleted {count} expired draft{'' if count == 1 else 's'}.")
