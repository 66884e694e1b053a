"""Findings parsed from a review's report, the review's citation figures, and the team's
triage of findings, which belongs to the project so that it holds across reviews."""

from django.conf import settings
from django.db import models

from reviewer.reviews.models import Project, Review

SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}


class Kind(models.TextChoices):
    CONFORMANCE = "conformance", "conformance"
    MISSING = "missing", "missing"
    REFACTOR = "refactor", "refactor"
    RISK = "risk", "risk"


class Severity(models.TextChoices):
    CRITICAL = "critical", "critical"
    HIGH = "high", "high"
    MEDIUM = "medium", "medium"
    LOW = "low", "low"


class ReviewFindings(models.Model):
    """What the parser made of one review's final text."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="findings_info")
    structured = models.PositiveIntegerField(default=0)
    unstructured = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    citations = models.PositiveIntegerField(default=0)
    citations_verified = models.PositiveIntegerField(default=0)
    # [{requirement, verdict, page, evidence, locations: [checked location]}]
    requirements = models.JSONField(default=list, blank=True)
    # The latest earlier finished review of the project, which "new" and "resolved" are
    # measured against.
    previous = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parsed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "review findings"

    def __str__(self):
        return f"Findings of review {self.review_id}"


class Finding(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="findings")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    title = models.CharField(max_length=300)
    explanation = models.TextField(blank=True)
    suggestion = models.TextField(blank=True)
    verdict = models.CharField(max_length=16, blank=True)
    requirement = models.CharField(max_length=300, blank=True)
    spec_page = models.PositiveIntegerField(null=True, blank=True)
    quote = models.CharField(max_length=500, blank=True)
    # None: no page cited; True / False: the page (and quote) checked out or not.
    spec_ok = models.BooleanField(null=True)
    spec_note = models.CharField(max_length=200, blank=True)
    spec_excerpt = models.TextField(blank=True)
    # [{path, start, end, resolved, ok, note}]
    locations = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=32, db_index=True)
    # Whether an earlier finished review of the project raised it too.
    recurring = models.BooleanField(default=False)

    class Meta:
        ordering = ["review", "position"]
        constraints = [
            models.UniqueConstraint(fields=["review", "position"], name="one_finding_per_position")
        ]

    def __str__(self):
        return f"{self.severity} {self.kind}: {self.title}"

    @property
    def label(self):
        return f"F{self.position}"

    @property
    def severity_rank(self):
        return SEVERITY_RANK.get(self.severity, 0)

    @property
    def primary_path(self):
        for loc in self.locations:
            return loc.get("resolved") or loc.get("path", "")
        return ""

    @property
    def citations(self):
        return len(self.locations) + (self.spec_ok is not None)

    @property
    def citations_verified(self):
        return sum(1 for loc in self.locations if loc.get("ok")) + bool(self.spec_ok)


class TriageState(models.TextChoices):
    ACCEPTED = "accepted", "accepted"
    DISMISSED = "dismissed", "dismissed"
    FIXED = "fixed", "fixed"


class Triage(models.Model):
    """A member's decision on a finding, keyed by its fingerprint within the project, so
    that it applies to the same finding in every later review."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="triage")
    fingerprint = models.CharField(max_length=32)
    state = models.CharField(max_length=10, choices=TriageState.choices)
    reason = models.CharField(max_length=500, blank=True)
    # What it looked like when triaged, for the prompt's list of dismissed findings.
    kind = models.CharField(max_length=12, blank=True)
    title = models.CharField(max_length=300, blank=True)
    requirement = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=500, blank=True)
    # The review in which it was triaged: a finding marked fixed that a later review
    # raises again is open again.
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "fingerprint"], name="one_triage_per_finding"
            )
        ]

    def __str__(self):
        return f"{self.state}: {self.title}"
