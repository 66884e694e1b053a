"""Planted secrets are redacted (value gone, path:line:kind listed); placeholders are not."""

from __future__ import annotations

import json

import pytest

from reviewer.packing import Budget, pack
from reviewer.packing.secrets import redact, shannon_entropy

from .conftest import make_zip

BUDGET = Budget(context_tokens=1_000_000, max_output_tokens=10_000)

# Values assembled at run time so this file itself does not look like a leak.
AWS = "AKIA" + "Q7XR2MZP4KJ8WN3T"
GOOGLE = "AIza" + "SyD4f9K2mQ8xR7tZ1vB3nL6pW0eH5jC9uY2"
GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GH_PAT = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"
GLPAT = "glpat-" + "x9Yb7Zc5Wd3Ve1Uf2Tg4"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
NPM = "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f"
OPENAI_OLD = "sk-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh"
ANTHROPIC = "sk-ant-" + "api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f"
DB_PASS = "Tr0ub4dor&3xK9"
GENERIC = "q8Z#kL2v!Rt7mW4p"
KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7Vb3m9Rp2X8kL\n"
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    "line, kind, value",
    [
        (f'AWS_ACCESS_KEY_ID = "{AWS}"', "aws_access_key", AWS),
        (f"maps_key: {GOOGLE}", "google_api_key", GOOGLE),
        (f"token = '{GHP}'", "github_token", GHP),
        (f"GH={GH_PAT}", "github_token", GH_PAT),
        (f"gitlab {GLPAT}", "gitlab_token", GLPAT),
        (f"SLACK={SLACK}", "slack_token", SLACK),
        (f"//registry.npmjs.org/:_authToken={NPM}", "npm_token", NPM),
        (f'client = OpenAI(api_key="{OPENAI}")', "openai_key", OPENAI),
        (f"OPENAI={OPENAI_OLD}", "openai_key", OPENAI_OLD),
        (f'Anthropic(api_key="{ANTHROPIC}")', "anthropic_key", ANTHROPIC),
        (f"DATABASE_URL=postgres://app:{DB_PASS}@db.internal:5432/app", "url_password", DB_PASS),
        (f'redis = "redis://:{DB_PASS}@cache:6379/0"', "url_password", DB_PASS),
        (f'DB_PASSWORD = "{GENERIC}"', "generic_secret", GENERIC),
        (f"client_secret: {GENERIC}", "generic_secret", GENERIC),
        (f'{{"apiKey": "{GENERIC}"}}', "generic_secret", GENERIC),
    ],
)
def test_secret_kinds_are_redacted(line, kind, value):
    text = f"first line\n{line}\nlast line\n"
    out, found = redact(text)
    assert value not in out
    assert f"[REDACTED:{kind}]" in out
    assert found == [(2, kind)]
    assert out.count("\n") == text.count("\n")


def test_private_key_block_redacted_keeping_line_numbers():
    text = f"a = 1\n{PRIVATE_KEY}\nb = 2\n"
    out, found = redact(text)
    assert "MIIEvQ" not in out and "BEGIN RSA PRIVATE KEY" not in out
    assert found == [(2, "private_key")]
    assert out.split("\n").index("b = 2") == text.split("\n").index("b = 2")


@pytest.mark.parametrize(
    "line",
    [
        'password = "changeme"',
        'PASSWORD = "${DB_PASSWORD}"',
        "api_key: <your-api-key>",
        'SECRET_KEY = "xxxxxxxxxxxxxxxx"',
        "token = os.environ['GITHUB_TOKEN']",
        "password = settings.DATABASE_PASSWORD",
        'token = request.headers.get("Authorization")',
        'TOKEN_TYPE = "access_token"',
        'password_field = "confirm-password"',
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "postgres://user:${DB_PASS}@localhost/db",
        "postgres://user:password@localhost/db",
        "https://example.com/path?a=b",
        'help = "Enter your password to continue"',
        "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        'api_key = "{api_key}"',
        "sha = 'e3b0c44298fc1c149afbf4c8996fb924'",
    ],
)
def test_placeholders_and_references_are_not_redacted(line):
    out, found = redact(line + "\n")
    assert found == [] and out == line + "\n"


def test_entropy_threshold_separates_words_from_random_values():
    assert shannon_entropy("aaaaaaaa") == 0
    assert shannon_entropy("password") < 3.0
    assert shannon_entropy(GENERIC) > 3.5


def test_pack_reports_path_line_kind_and_never_the_value(tmp_path):
    files = {
        "p/settings.py": f"DEBUG = True\nSECRET_KEY = '{GENERIC}'\nAWS = '{AWS}'\n",
        "p/.env": f"DATABASE_URL=postgres://u:{DB_PASS}@h/db\n",
        "p/keys/id_rsa.txt": PRIVATE_KEY + "\n",
        "p/clean.py": "x = 1\n",
    }
    result = pack(make_zip(tmp_path / "a.zip", files), None, BUDGET)
    got = {(r.path, r.line, r.kind) for r in result.redactions}
    assert got == {
        ("settings.py", 2, "generic_secret"),
        ("settings.py", 3, "aws_access_key"),
        (".env", 1, "url_password"),
        ("keys/id_rsa.txt", 1, "private_key"),
    }
    blob = result.prompt + json.dumps(result.summary())
    for value in (GENERIC, AWS, DB_PASS, "MIIEvQ"):
        assert value not in blob
    assert "3| AWS = '[REDACTED:aws_access_key]'" in result.prompt
    counts = {f.path: f.redactions for f in result.included}
    assert counts["settings.py"] == 2 and counts["clean.py"] == 0
    assert "4 value(s) that looked like secrets" in result.prompt
