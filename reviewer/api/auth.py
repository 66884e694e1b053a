"""Bearer-token authentication for the JSON API.

Only `Authorization: Bearer <token>` authenticates an API call; session cookies do not,
which is why the API views may be CSRF-exempt."""

from datetime import timedelta

from asgiref.sync import sync_to_async
from django.utils import timezone

from reviewer.teams.tokens import hash_token

from .models import ApiToken

UNAUTHORIZED = "Send a valid API token as “Authorization: Bearer <token>”."

# last_used_at is written at most this often per token.
_TOUCH_EVERY = timedelta(minutes=1)


def bearer_token(request):
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_api_request(request):
    """The active user behind the request's bearer token, or None."""
    token = bearer_token(request)
    if not token:
        return None
    api_token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )
    if api_token is None or not api_token.user.is_active:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at > _TOUCH_EVERY:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.user


aauthenticate_api_request = sync_to_async(authenticate_api_request)
