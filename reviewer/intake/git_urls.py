"""The URL, ref and token a user gives for a repository, checked before git runs.

Only https (and http when private addresses are allowed) with a host name or address and a
path; no user name or password, no query. The host must resolve to public addresses only
(reviewer.netcheck), and fetch pins git to the address checked here. Plain Python.
"""

import re
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

from reviewer import netcheck

# Looked up at each call, so that tests can answer for names of their own.
getaddrinfo = socket.getaddrinfo

HOST_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
MAX_URL = 2000
DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_REF = 255


class FetchError(Exception):
    """The repository could not be fetched; `message` is one plain sentence for the user,
    without secrets."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def display_url(url: str) -> str:
    """The URL with any user name, password, query and fragment removed, for history and
    logs."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "(an invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_url(url: str, allow_private: bool) -> str:
    """The normalised URL (lower-case scheme and host, no fragment); FetchError for any
    other transport or form and for a host that resolves to a private address."""
    scheme, host, port, path = parse(url, allow_private)
    checked_address(host, port, allow_private)
    return join(scheme, host, port, path)


def parse(url, allow_private):
    if not isinstance(url, str) or not url.strip():
        raise FetchError("Give the repository's https:// URL.")
    url = url.strip()
    if len(url) > MAX_URL or any(ord(c) < 33 or ord(c) == 127 or c == "\\" for c in url):
        raise FetchError("The repository URL contains characters that are not allowed.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError("The repository URL is not a valid URL.")
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes or not url.lower().startswith(
        parts.scheme.lower() + "://"
    ):
        raise FetchError("The repository URL must start with https://.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise FetchError(
            "The repository URL may not carry a user name or password; give the token separately."
        )
    if parts.query:
        raise FetchError("The repository URL may not have a query (the part after '?').")
    host = _check_host(parts.hostname or "")
    path = parts.path
    if path.strip("/") == "":
        raise FetchError("The repository URL has no repository path.")
    scheme = parts.scheme.lower()
    return scheme, host, port or DEFAULT_PORTS[scheme], path


def _check_host(host):
    if not host:
        raise FetchError("The repository URL has no host.")
    if netcheck.ip_literal(host):
        return netcheck.ip_literal(host)
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FetchError("The repository URL's host is not a valid name.")
    labels = host.rstrip(".").split(".")
    if not all(HOST_LABEL.fullmatch(label) for label in labels):
        raise FetchError("The repository URL's host is not a valid name.")
    return host.rstrip(".")


def join(scheme, host, port, path):
    netloc = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, path, "", ""))


def checked_address(host, port, allow_private, timeout=None):
    """The address git is pinned to; a lookup that outlasts `timeout` counts as failed."""
    lookup = getaddrinfo if timeout is None else _bounded(getaddrinfo, timeout)
    try:
        return netcheck.resolve(host, port, allow_private, lookup)
    except netcheck.Unresolvable:
        raise FetchError(f"The repository host {host} could not be found.")
    except netcheck.PrivateAddress:
        raise FetchError(f"The repository host {host} is a private or reserved address.")


def _bounded(lookup, timeout):
    def bounded(*args, **kwargs):
        # The resolver cannot be interrupted: it finishes in a daemon thread, unwaited for.
        result = {}

        def run():
            try:
                result["value"] = lookup(*args, **kwargs)
            except Exception as exc:  # handed to the caller below
                result["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError("the lookup took too long")
        if "error" in result:
            raise result["error"]
        return result["value"]

    return bounded


def pin(host, port, address):
    # curl's resolve list: the name git is told, and the address that was checked.
    shown = f"[{address}]" if ":" in address else address
    return f"{host}:{port}:{shown}"


def check_ref(ref):
    if ref is None or not ref.strip():
        return None
    ref = ref.strip()
    if (
        len(ref) > MAX_REF
        or ref.startswith(("-", "/", "."))
        or ref.endswith(("/", ".", ".lock"))
        or ".." in ref
        or "@{" in ref
        or "//" in ref
        or any(ord(c) < 33 or ord(c) == 127 or c in "~^:?*[\\" for c in ref)
    ):
        raise FetchError("The branch, tag or commit is not a valid Git ref name.")
    return ref


def check_token(token):
    if token and any(ord(c) < 32 or ord(c) == 127 for c in token):
        raise FetchError("The access token contains characters that cannot be sent.")
