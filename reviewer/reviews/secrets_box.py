"""Encryption at rest for provider API keys stored per team.

The Fernet key comes from `KEY_ENCRYPTION_SECRET` (or, failing that, `SECRET_KEY`) through
HKDF, so a database dump alone does not reveal the keys.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@cache
def _fernet(secret):
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"reviewer-provider-keys", info=b"fernet"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plaintext):
    return _fernet(settings.KEY_ENCRYPTION_SECRET).encrypt(plaintext.encode()).decode()


def decrypt(token):
    try:
        return _fernet(settings.KEY_ENCRYPTION_SECRET).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
