"""One part of a split review: a request of its own with its status, text and usage. The
merge of the parts' reports is the last part (`is_synthesis`)."""

from django.db import models

from reviewer.reviews.models import Review


class PartStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    WAITING = "waiting", "waiting"
    STREAMING = "streaming", "streaming"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


PART_ACTIVE = (PartStatus.WAITING, PartStatus.STREAMING)
PART_FINAL = (PartStatus.DONE, PartStatus.FAILED, PartStatus.CANCELLED)


class ReviewPart(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveSmallIntegerField()  # 0-based; the merge comes after the parts
    is_synthesis = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=PartStatus.choices, default="queued")
    status_note = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=20, blank=True)
    # The repository paths this part's request holds (none for the merge).
    files = models.JSONField(default=list, blank=True)
    truncated = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    estimated_input_tokens = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # How many times this part was sent: a retry sends it again, nothing else does.
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["review", "index"]
        constraints = [
            models.UniqueConstraint(fields=["review", "index"], name="one_part_per_index")
        ]

    def __str__(self):
        return f"{self.label} of review {self.review_id}"

    @property
    def number(self):
        return self.index + 1

    @property
    def label(self):
        return "Merge of the parts" if self.is_synthesis else f"Part {self.number}"

    @property
    def is_final(self):
        return self.status in PART_FINAL
