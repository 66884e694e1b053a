import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from reviewer.teams.models import Team


def _upload_to(instance, filename):
    # Stored names are ours; the user's file name is kept only as text, never as a path.
    return f"uploads/{uuid.uuid4().hex}"


class Project(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=120)
    model = models.CharField(max_length=100, blank=True, help_text="Default model for reviews.")
    ignore_patterns = models.TextField(blank=True, help_text="gitignore-style, one per line.")
    include_patterns = models.TextField(
        blank=True, help_text="Force-include patterns, one per line."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("project", args=[self.pk])


class Status(models.TextChoices):
    DRAFT = "draft", "draft"  # uploaded and previewed, not started
    QUEUED = "queued", "queued"
    PACKING = "packing", "packing"
    WAITING = "waiting", "waiting"
    STREAMING = "streaming", "streaming"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


ACTIVE_STATUSES = (Status.QUEUED, Status.PACKING, Status.WAITING, Status.STREAMING)
FINAL_STATUSES = (Status.DONE, Status.FAILED, Status.CANCELLED)


class Review(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    archive = models.FileField(upload_to=_upload_to)
    archive_name = models.CharField(max_length=255)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_size = models.BigIntegerField(default=0)
    spec = models.FileField(upload_to=_upload_to)
    spec_name = models.CharField(max_length=255)
    spec_pages = models.PositiveIntegerField(null=True, blank=True)
    model = models.CharField(max_length=100)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    status_note = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=20, blank=True)

    report = models.TextField(blank=True)
    # The relay's event id up to which `report` holds the streamed text.
    report_event_id = models.BigIntegerField(default=0)
    pack_summary = models.JSONField(default=dict, blank=True)

    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    estimated_cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)

    cancel_requested = models.BooleanField(default=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self):
        return f"Review {self.pk} of {self.project}"

    def get_absolute_url(self):
        return reverse("review", args=[self.pk])

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def is_final(self):
        return self.status in FINAL_STATUSES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class StreamEvent(models.Model):
    """The database relay's log of one review's events (the embedded profile)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=16)
    data = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "seq"], name="one_event_per_seq")]
        ordering = ["seq"]

    def __str__(self):
        return f"{self.review_id}#{self.seq} {self.kind}"


# -- Sharing (issue 5) -------------------------------------------------------------------
class ShareLink(models.Model):
    """A public, read-only link to one review's report.

    The token itself is stored, not a hash: it grants read access only to the report and
    metadata held in this same database, so a reader of this table learns nothing it
    could not read directly, while owners and admins can copy an active link again at
    any time. Revoking, regenerating or expiry ends it for good.
    """

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Share link of review {self.review_id}"

    def get_absolute_url(self):
        return reverse("shared_review", args=[self.token])

    @property
    def is_active(self):
        from django.utils import timezone

        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )
