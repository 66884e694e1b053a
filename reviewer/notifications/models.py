"""Who hears about a finished review: team members who opted in to its mail, and a
project's webhook with its delivery log."""

import secrets

from django.conf import settings
from django.db import models

from reviewer.reviews.models import Project, Review
from reviewer.teams.models import Membership


class TeamReviewMail(models.Model):
    """A member who asked for mail about every review of the team, not only their own."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="review_mail"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"review mail for {self.membership}"


class Webhook(models.Model):
    """A URL told about each finished review of one project, signed with a secret.

    The secret is stored encrypted (the signature needs it in clear, so no hash) and shown
    once when it is made."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(max_length=500)
    encrypted_secret = models.TextField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"webhook of {self.project}"

    def new_secret(self):
        from reviewer.reviews.secrets_box import encrypt

        secret = "whsec_" + secrets.token_urlsafe(32)
        self.encrypted_secret = encrypt(secret)
        return secret

    def get_secret(self):
        from reviewer.reviews.secrets_box import decrypt

        return decrypt(self.encrypted_secret)


class WebhookDelivery(models.Model):
    """One attempt to deliver one event; the attempts of one event share `delivery_id`."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event = models.CharField(max_length=40)
    delivery_id = models.CharField(max_length=36)
    attempt = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.event} #{self.attempt} to {self.webhook}"
