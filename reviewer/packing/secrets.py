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


# (kind, literal that every match contains, pattern). Patterns start with their
# literal so the regex engine can jump between occurrences; the "not preceded by a
# word character" check is done by hand because a leading lookbehind makes Python's
# re try every position (16 s instead of 0.2 s on a 20 MB repository).
_TOKEN_RULES: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "private_key",
        "PRIVATE KEY-----",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"[\s\S]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        ),
    ),
    ("aws_access_key", "AKIA", re.compile(r"AKIA[0-9A-Z]{16}(?![A-Z0-9])")),
    ("aws_access_key", "ASIA", re.compile(r"ASIA[0-9A-Z]{16}(?![A-Z0-9])")),
    ("google_api_key", "AIza", re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![\w-])")),
    ("github_token", "gh", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,255}(?!\w)")),
    ("github_token", "github_pat_", re.compile(r"github_pat_[A-Za-z0-9_]{22,255}(?!\w)")),
    ("gitlab_token", "glpat-", re.compile(r"glpat-[A-Za-z0-9_\-]{20,}(?![\w-])")),
    ("slack_token", "xox", re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}(?![\w-])")),
    ("npm_token", "npm_", re.compile(r"npm_[A-Za-z0-9]{36}(?!\w)")),
    ("anthropic_key", "sk-ant-", re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}(?![\w-])")),
    (
        "openai_key",
        "sk-",
        re.compile(r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}(?![\w-])"),
    ),
]

# scheme://user:PASSWORD@host - the password group alone is replaced.
# Starts at the literal "://" for speed; the scheme before it is checked by hand.
_URL_PASSWORD = re.compile(r"://[^\s:/@\"'<>()\[\]]{0,256}:(?P<v>[^\s@/\"'<>]{1,256})@[\w.\-\[]")
_SCHEME_CHAR = re.compile(r"[A-Za-z0-9+.\-]")

_KEY_WORDS = (
    r"passwd|password|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?"
)
# name = "value" / name: 'value' / "name": "value" (JSON) / name := "value".
# Starts at the keyword (not at the whole name) so a line is scanned in one pass.
_QUOTED_ASSIGN = re.compile(
    r"(?i)(?:" + _KEY_WORDS + r")[\w.\-]*[\"']?\s*(?::=|=>|==?|:)\s*"
    r"(?P<q>[\"'`])(?P<v>[^\"'`\n]{" + str(GENERIC_MIN_LEN) + r",512})(?P=q)"
)
# Whole-line unquoted assignments as in .env, ini, yaml, properties: NAME=value.
# Matched once at the start of a line, with the line's end as endpos.
_LINE_ASSIGN = re.compile(
    r"(?i)[ \t]*(?:export[ \t]+)?[\w.\-]*(?:" + _KEY_WORDS + r")[\w.\-]*[ \t]*[=:][ \t]*"
    # A '#' starts a comment only at the start of a value (.env/yaml); inside, it is data.
    r"(?P<v>[^\s\"'`#;,][^\s\"'`;,]{" + str(GENERIC_MIN_LEN - 1) + r",511})[ \t]*$"
)
# Lower-case literals, one of which every generic assignment contains: lines
# without any of them are never run through the assignment patterns.
_KEYWORD_LITERALS = ("pass", "pwd", "secret", "token", "key", "credential")

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


def _word_start(text: str, start: int) -> bool:
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_-")


def _keyword_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line that contains a password/secret/token-like word."""
    lower = text.lower()
    starts: set[int] = set()
    for kw in _KEYWORD_LITERALS:
        pos = lower.find(kw)
        while pos >= 0:
            line_start = lower.rfind("\n", 0, pos) + 1
            starts.add(line_start)
            line_end = lower.find("\n", pos)
            if line_end < 0:
                break
            pos = lower.find(kw, line_end)
    spans = []
    for st in sorted(starts):
        end = text.find("\n", st)
        spans.append((st, len(text) if end < 0 else end))
    return spans


def find_secrets(text: str) -> list[Finding]:
    """Non-overlapping findings, in text order."""
    found: list[Finding] = []
    for kind, literal, rx in _TOKEN_RULES:
        if literal not in text:
            continue
        for m in rx.finditer(text):
            if not _word_start(text, m.start()):
                continue
            if kind == "private_key" or not is_placeholder(m.group(0)):
                found.append(Finding(m.start(), m.end(), kind))
    if "://" in text:
        for m in _URL_PASSWORD.finditer(text):
            if m.start() == 0 or not _SCHEME_CHAR.match(text[m.start() - 1]):
                continue
            v = m.group("v")
            if not is_placeholder(v) and v.lower() not in ("pass", "pw", "user", "password"):
                found.append(Finding(m.start("v"), m.end("v"), "url_password"))
    for start, end in _keyword_lines(text):
        matches = list(_QUOTED_ASSIGN.finditer(text, start, end))
        line_match = _LINE_ASSIGN.match(text, start, end)
        if line_match:
            matches.append(line_match)
        for m in matches:
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
