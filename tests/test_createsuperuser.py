import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_createsuperuser_noinput_takes_its_details_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.com")
    call_command("createsuperuser", "--noinput", verbosity=0)
    user = authenticate(username="admin", password="a-long-admin-password")
    assert user is not None and user.is_superuser and user.email == "admin@example.com"
