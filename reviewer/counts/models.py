"""What providers reported for our prompts: one row per model, its recent samples."""

from django.db import models

KEEP_SAMPLES = 50  # the learned ratio looks at fewer; the rest is history for the admin


class ObservedRatio(models.Model):
    """The provider's reported prompt tokens against our o200k count, per model id.

    ``samples`` holds the most recent KEEP_SAMPLES as ``{"ours", "reported", "review", "at"}``,
    oldest first."""

    model_id = models.CharField(max_length=200, unique=True)
    provider = models.CharField(max_length=40, blank=True)
    samples = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_id"]
        verbose_name = "observed count ratio"

    def __str__(self):
        return self.model_id

    def ratios(self):
        return [
            s["reported"] / s["ours"]
            for s in self.samples
            if s.get("ours", 0) > 0 and s.get("reported", 0) > 0
        ]
