import uuid

from django.conf import settings
from django.core.validators import RegexValidator
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
    # A draft whose repository the worker is fetching (by URL); then a draft, or failed.
    FETCHING = "fetching", "fetching"
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
    # Empty while the repository of a review by URL is still to be fetched.
    archive = models.FileField(upload_to=_upload_to, blank=True)
    archive_name = models.CharField(max_length=255)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_size = models.BigIntegerField(default=0)
    # A review of a repository by URL: the URL as shown (never with credentials), the
    # branch, tag or commit asked for (blank: the default branch) and the commit fetched.
    repo_url = models.CharField(max_length=500, blank=True)
    repo_ref = models.CharField(max_length=255, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    # What the fetch left out (submodules, LFS objects), in the fetch's words.
    repo_note = models.CharField(max_length=300, blank=True)
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
    # What the review packs with (model, ignore and force-include patterns), fixed when it
    # starts, so that the preview, the run and "Re-run as it was" all see the same inputs.
    pack_options = models.JSONField(default=dict, blank=True)
    # A zip of the redacted text of every file the model was sent, for the source viewer.
    sent_files = models.FileField(upload_to=_upload_to, blank=True)
    # The relay's id allocator in the database profile: the last event id handed out.
    event_seq = models.BigIntegerField(default=0)

    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    # The part of prompt_tokens the provider read from its prompt cache (None: not reported).
    cached_prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
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
    def is_repository(self):
        return bool(self.repo_url)

    @property
    def short_commit(self):
        return self.commit_sha[:12]

    @property
    def repo_name(self):
        """The repository's URL for a review by URL, else the archive's name."""
        return self.repo_url or self.archive_name

    @property
    def omitted_files(self):
        return [e for e in self.pack_summary.get("excluded", []) if e["reason"] == "over budget"]

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


class SharedValue(models.Model):
    """Rate-limit windows and breaker state shared by all workers (the embedded profile)."""

    key = models.CharField(max_length=200, unique=True)
    value = models.CharField(max_length=200, blank=True)
    # Unix time; a row at or past it counts as absent.
    expires_at = models.FloatField(default=0)

    def __str__(self):
        return self.key


class CatalogueEntry(models.Model):
    """A model added by an administrator, next to the shipped catalogue."""

    ADAPTERS = [
        ("openai_file", "OpenAI-compatible, PDF as a file part"),
        ("openai_image_url", "OpenAI-compatible, PDF as an image_url data URL"),
        ("openai_text", "OpenAI-compatible, text only (spec as extracted text)"),
        ("gemini", "Native Gemini"),
        ("anthropic", "Native Anthropic Messages API"),
    ]
    # Model ids hold dots and colons ("gpt-4.1", "llama3.1:8b"): any text without spaces.
    model_id = models.CharField(
        max_length=100,
        unique=True,
        help_text="Id shown in forms.",
        validators=[RegexValidator(r"^\S+$", "A model id has no spaces.")],
    )
    label = models.CharField(max_length=100)
    adapter = models.CharField(max_length=20, choices=ADAPTERS, default="openai_text")
    provider = models.SlugField(
        max_length=40, default="custom", help_text="Selects LLM_<PROVIDER>_* settings."
    )
    api_model = models.CharField(max_length=200, help_text="The provider's model name.")
    base_url = models.URLField(blank=True)
    context_tokens = models.PositiveIntegerField(default=128_000)
    max_output_tokens = models.PositiveIntegerField(default=8_192)
    input_price_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    output_price_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    cached_input_price_per_mtok = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Prompt tokens read from the provider's cache; empty: the input price.",
    )
    cache_write_price_per_mtok = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Prompt tokens written to the cache (Anthropic); empty: the input price.",
    )
    pdf = models.BooleanField(default=False, help_text="Takes PDFs directly.")
    pdf_max_pages = models.PositiveIntegerField(null=True, blank=True)
    pdf_max_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=300, blank=True, help_text="Where the figures come from.")

    class Meta:
        verbose_name_plural = "catalogue entries"
        ordering = ["model_id"]

    def __str__(self):
        return self.model_id

    def to_model_info(self):
        from reviewer.llm import ModelInfo

        return ModelInfo(
            id=self.model_id,
            label=self.label,
            adapter=self.adapter,
            provider=self.provider,
            api_model=self.api_model,
            context_tokens=self.context_tokens,
            max_output_tokens=self.max_output_tokens,
            input_price_per_mtok=self.input_price_per_mtok,
            output_price_per_mtok=self.output_price_per_mtok,
            cached_input_price_per_mtok=self.cached_input_price_per_mtok,
            cache_write_price_per_mtok=self.cache_write_price_per_mtok,
            pdf=self.pdf,
            pdf_max_pages=self.pdf_max_pages,
            pdf_max_bytes=self.pdf_max_bytes,
            source=self.source or "added in the admin",
            default_base_url=self.base_url or None,
        )


class ProviderKey(models.Model):
    """A team's own API key for one provider, stored encrypted; it overrides the server's."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="provider_keys")
    provider = models.SlugField(max_length=40)
    encrypted_key = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "provider"], name="one_key_per_provider")
        ]

    def __str__(self):
        return f"{self.provider} key of {self.team}"

    def set_key(self, plaintext):
        from .secrets_box import encrypt

        self.encrypted_key = encrypt(plaintext)

    def get_key(self):
        from .secrets_box import decrypt

        return decrypt(self.encrypted_key)


class GitToken(models.Model):
    """A team's token for fetching private repositories by URL, stored encrypted like the
    provider keys and never shown again once saved."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="git_token")
    encrypted_token = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Git token of {self.team}"

    def set_token(self, plaintext):
        from .secrets_box import encrypt

        self.encrypted_token = encrypt(plaintext)

    def get_token(self):
        from .secrets_box import decrypt

        return decrypt(self.encrypted_token)


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
