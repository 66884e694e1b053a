"""What the services profile demands at start: a shared SECRET_KEY, and a word when
mail would only reach the log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROFILE_VARS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "KEY_ENCRYPTION_SECRET")
MAIL_VARS = ("EMAIL_URL", "EMAIL_HOST", "EMAIL_BACKEND")
NO_MAIL = (
    "No mail server configured: invitation and password-reset emails are only printed to"
    " the log. Set EMAIL_URL."
)


def run(args, var_dir, **env):
    clean = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS + MAIL_VARS}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={
            **clean,
            "VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "reviewer.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(var_dir, **env):
    return run(
        ["-c", "from django.conf import settings; print(settings.SECRET_KEY)"], var_dir, **env
    )


@pytest.mark.parametrize(
    "service", [{"DATABASE_URL": "postgres://u@db/reviewer"}, {"REDIS_URL": "redis://cache/0"}]
)
def test_only_the_embedded_profile_may_generate_its_secret_key(service, tmp_path):
    refused = load_settings(tmp_path / "services", **service)
    assert refused.returncode != 0
    message = refused.stderr.strip().splitlines()[-1]
    assert message.startswith("django.core.exceptions.ImproperlyConfigured: Set SECRET_KEY")
    assert "provider keys" in message and "another" in message
    assert not (tmp_path / "services" / "secret_key").exists()

    assert load_settings(tmp_path / "keyed", SECRET_KEY="s" * 50, **service).stdout.strip() == (
        "s" * 50
    )
    embedded = [load_settings(tmp_path / "embedded").stdout.strip() for _ in range(2)]
    assert embedded[0] == embedded[1] == (tmp_path / "embedded" / "secret_key").read_text()
    assert len(embedded[0]) >= 50


def test_services_profile_without_a_mail_server_warns_at_start(tmp_path):
    services = {"DATABASE_URL": "postgres://u@db/reviewer", "SECRET_KEY": "k" * 50}
    check = ["manage.py", "check"]

    warned = run(check, tmp_path, **services)
    assert warned.returncode == 0, warned.stderr
    assert f"?: (reviewer.W001) {NO_MAIL}" in warned.stderr

    for configured in (
        {"EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587"},
        {"EMAIL_HOST": "smtp.example.com"},
        {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"},
    ):
        quiet = run(check, tmp_path, **services, **configured)
        assert quiet.returncode == 0 and "reviewer.W001" not in quiet.stderr, configured
    embedded = run(check, tmp_path)
    assert embedded.returncode == 0 and "reviewer.W001" not in embedded.stderr
