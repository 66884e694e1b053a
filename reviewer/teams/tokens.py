"""Secret tokens (invites, API tokens): at least 256 random bits, only a hash stored.

The tokens are long random strings, so one round of SHA-256 is enough: there is nothing
to brute-force that a slow password hash would protect."""

import hashlib
import secrets


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix=""):
    """Returns (token, its hash). `secrets.token_urlsafe(32)` is 256 random bits."""
    token = prefix + secrets.token_urlsafe(32)
    return token, hash_token(token)
