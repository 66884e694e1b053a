"""Find credentials in file text and replace their values before anything is sent.

Each finding is replaced by ``[REDACTED:<kind>]`` and reported as path:line:kind;
the value itself is never kept. Multi-line values (private key blocks) are
replaced by the marker followed by as many newlines as they spanned, so the line
numbers the model cites still match the repository.

Placeholders ("changeme", "xxx", "${VAR}", "<your-key>", AWS's documented
EXAMPLE keys...) are left alone: flagging them would teach users to ignore the
list.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Shannon entropy, in bits per character, above which a value assigned to a
# password/secret/token-like name is treated as a real secret. Random base64/hex
# keys sit well above 3.5; English-ish words and identifiers mostly below 3.
ENTROPY_MIN = 3.0
GENERIC_MIN_LEN = 8


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    kind: str


_TOKEN_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "private_key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        ),
    ),
    ("aws_access_key", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("google_api_key", re.compile(r"(?<![\w-])AIza[0-9A-Za-z_\-]{35}(?![\w-])")),
    ("github_token", re.compile(r"(?<![\w])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}(?!\w)")),
    ("github_token", re.compile(r"(?<![\w])github_pat_[A-Za-z0-9_]{22,255}(?!\w)")),
    ("gitlab_token", re.compile(r"(?<![\w-])glpat-[A-Za-z0-9_\-]{20,}(?![\w-])")),
    ("slack_token", re.compile(r"(?<![\w-])xox[baprs]-[A-Za-z0-9-]{10,}(?![\w-])")),
    ("npm_token", re.compile(r"(?<![\w])npm_[A-Za-z0-9]{36}(?!\w)")),
    ("anthropic_key", re.compile(r"(?<![\w-])sk-ant-[A-Za-z0-9_\-]{20,}(?![\w-])")),
    (
        "openai_key",
        re.compile(r"(?<![\w-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}(?![\w-])"),
    ),
]

# scheme://user:PASSWORD@host - the password group alone is replaced.
_URL_PASSWORD = re.compile(
    r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:/@\"'<>()\[\]]{0,256}:(?P<v>[^\s@/\"'<>]{1,256})@[\w.\-\[]"
)

_KEY_WORDS = (
    r"passwd|password|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?"
)
# name = "value" / name: 'value' / "name": "value" (JSON) / name := "value"
_QUOTED_ASSIGN = re.compile(
    r"(?i)[\w.\-]*(?:" + _KEY_WORDS + r")[\w.\-]*[\"']?\s*(?::=|=>|==?|:)\s*"
    r"(?P<q>[\"'`])(?P<v>[^\"'`\n]{" + str(GENERIC_MIN_LEN) + r",512})(?P=q)"
)
# Whole-line unquoted assignments as in .env, ini, yaml, properties: NAME=value
_LINE_ASSIGN = re.compile(
    r"(?im)^[ \t]*(?:export[ \t]+)?[\w.\-]*(?:" + _KEY_WORDS + r")[\w.\-]*[ \t]*[=:][ \t]*"
    # A '#' starts a comment only at the start of a value (.env/yaml); inside, it is data.
    r"(?P<v>[^\s\"'`#;,][^\s\"'`;,]{" + str(GENERIC_MIN_LEN - 1) + r",511})[ \t]*$"
)
_KEYWORD_HINT = re.compile(r"(?i)pass|pwd|secret|token|key|credential")

_PLACEHOLDER_WORDS = (
    "changeme", "change_me", "change-me", "example", "placeholder", "dummy", "sample",
    "your", "redacted", "xxxx", "****", "....", "todo", "fixme", "fake", "secret_here",
    "insert", "replace",
)  # fmt: skip
_PLACEHOLDER_RE = re.compile(
    r"^(?:\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|<[^>]*>|\{\{[^}]*\}\}|%\([^)]*\)s|%s"
    r"|\{[A-Za-z_][A-Za-z0-9_]*\}|x+|X+|\*+|\.+|-+|0+|1234.*|test.*|password\d*|secret\d*)$"
)
# os.environ["X"], settings.FOO, env("X")... : references, not values.
_IDENTIFIER_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_placeholder(value: str) -> bool:
    low = value.lower()
    if _PLACEHOLDER_RE.match(value) or _PLACEHOLDER_RE.match(low):
        return True
    if any(w in low for w in _PLACEHOLDER_WORDS):
        return True
    # sk-xxxxxxxx..., AKIA0000000000000000: one repeated character after a prefix.
    tail = re.sub(r"^[A-Za-z]+[-_]", "", value)
    return len(set(tail)) <= 2


def _char_classes(value: str) -> int:
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() and c not in "_-." for c in value)
    )


def looks_secret(value: str) -> bool:
    """For generic assignments: long enough, random enough, not a placeholder."""
    if len(value) < GENERIC_MIN_LEN or is_placeholder(value) or _IDENTIFIER_PATH.match(value):
        return False
    if " " in value.strip():  # prose ("Enter your password"), not a credential
        return False
    if _char_classes(value) < 2:
        return False
    return shannon_entropy(value) >= ENTROPY_MIN


def find_secrets(text: str) -> list[Finding]:
    """Non-overlapping findings, in text order."""
    found: list[Finding] = []
    for kind, rx in _TOKEN_RULES:
        for m in rx.finditer(text):
            if kind == "private_key" or not is_placeholder(m.group(0)):
                found.append(Finding(m.start(), m.end(), kind))
    for m in _URL_PASSWORD.finditer(text):
        v = m.group("v")
        if not is_placeholder(v) and v.lower() not in ("pass", "pw", "user", "password"):
            found.append(Finding(m.start("v"), m.end("v"), "url_password"))
    if _KEYWORD_HINT.search(text):
        for rx in (_QUOTED_ASSIGN, _LINE_ASSIGN):
            for m in rx.finditer(text):
                if looks_secret(m.group("v")):
                    found.append(Finding(m.start("v"), m.end("v"), "generic_secret"))
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for f in found:
        if kept and f.start < kept[-1].end:
            continue  # inside a finding already kept (e.g. a key inside a URL)
        kept.append(f)
    return kept


def redact(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Text with every secret value replaced, and (line, kind) for each, 1-based lines."""
    findings = find_secrets(text)
    if not findings:
        return text, []
    out: list[str] = []
    where: list[tuple[int, str]] = []
    pos = 0
    line = 1
    for f in findings:
        line += text.count("\n", pos, f.start)
        out.append(text[pos : f.start])
        value = text[f.start : f.end]
        out.append(f"[REDACTED:{f.kind}]" + "\n" * value.count("\n"))
        where.append((line, f.kind))
        line += value.count("\n")
        pos = f.end
    out.append(text[pos:])
    return "".join(out), where
