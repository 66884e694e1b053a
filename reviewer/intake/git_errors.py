"""git's complaints turned into one plain sentence for the user, without the token.

The common failures get sentences of their own; anything else shows git's first fatal
line, scrubbed of every form of the token and cut to one sentence.
"""

import re

from reviewer.intake.git_process import secrets_of

MAX_SHOWN = 200
KNOWN = [
    (re.compile(r"HTTP 30[1278]|error: 30[1278]|redirect", re.I), "redirect"),
    (
        re.compile(r"Authentication failed|could not read Username|(HTTP|error:) 40[13]\b", re.I),
        "auth",
    ),
    (
        re.compile(r"(HTTP|error:) 404\b|repository .*. not found|Repository not found", re.I),
        "missing",
    ),
    (re.compile(r"not our ref|want .* not valid|unadvertised object", re.I), "sha"),
    (
        re.compile(r"Could not resolve host|Failed to connect|Connection refused|timed out", re.I),
        "connect",
    ),
    (re.compile(r"SSL certificate|certificate verify|server certificate", re.I), "tls"),
    (re.compile(r"transport '.*' not allowed|Unsupported protocol", re.I), "transport"),
    (re.compile(r"shallow", re.I), "shallow"),
]


def sentence(stderr, token=None, sha=None):
    kind = next((kind for pattern, kind in KNOWN if pattern.search(stderr)), None)
    if kind == "redirect":
        return (
            "The repository server answered with a redirect, which is not followed; "
            "give the repository's final URL."
        )
    if kind == "auth":
        if token:
            return "The repository refused the access token."
        return "The repository needs an access token (or does not exist)."
    if kind == "missing":
        return "No repository was found at that URL (a private one needs an access token)."
    if kind == "sha" and sha:
        return (
            f"The commit {sha} could not be fetched: it does not exist, or the server does "
            "not allow fetching a commit by its sha; give a branch or tag instead."
        )
    if kind == "connect":
        return "The repository server could not be reached."
    if kind == "tls":
        return "The repository server's TLS certificate could not be verified."
    if kind == "transport":
        return "The repository URL must start with https://."
    if kind == "shallow":
        return (
            "The repository server does not support shallow fetches over the smart HTTP protocol."
        )
    return "Git could not fetch the repository: " + first_line(stderr, token)


def first_line(stderr, token=None):
    text = scrub(stderr, token)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    fatal = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
    line = (fatal or lines or ["no reason given."])[0]
    line = re.sub(r"^(fatal|error):\s*", "", line, flags=re.I)
    line = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    line = "".join(c for c in line if c.isprintable())[:MAX_SHOWN].rstrip(" .")
    return line + "."


def scrub(text, token=None):
    for secret in secrets_of(token):
        text = text.replace(secret, "[token]")
    return text
