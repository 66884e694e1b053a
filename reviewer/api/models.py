from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    PREFIX = "rvw_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="Where the token is used, e.g. “CI”.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, so that a person can tell tokens apart; not enough to use one.
    hint = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…) of {self.user}"

    @property
    def is_active(self):
        return self.revoked_at is None
