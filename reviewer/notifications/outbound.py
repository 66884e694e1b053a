"""POSTing to a URL a user typed, without letting it reach the server's own network.

The host is resolved once, every address it resolves to is checked (reviewer.netcheck),
and the connection goes to the checked address itself (the URL's host travels in the Host
header and, for TLS, as the SNI name the certificate is verified against): a DNS answer
that changes between the check and the connection (DNS rebinding) cannot redirect it. Redirects are
never followed. Plain Python with httpx, no Django.
"""

import socket

import httpx

from reviewer import netcheck
from reviewer.netcheck import forbidden_address  # noqa: F401 - the forms import it from here


class Refused(Exception):
    """The URL may not be called; the message is one sentence for the delivery log."""


def check_url(url, allow_private=False):
    """The parsed URL, or Refused for a scheme or form we do not call."""
    try:
        parsed = httpx.URL(url)
    except Exception:
        raise Refused("The webhook URL is not a valid URL.")
    schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in schemes:
        raise Refused("The webhook URL must start with https://.")
    if not parsed.host:
        raise Refused("The webhook URL has no host.")
    if parsed.userinfo:
        raise Refused("The webhook URL may not carry a user name or password.")
    return parsed


def resolve(host, port, allow_private=False, getaddrinfo=socket.getaddrinfo):
    """The checked address to connect to (see reviewer.netcheck.resolve)."""
    try:
        return netcheck.resolve(host, port, allow_private, getaddrinfo)
    except netcheck.Unresolvable:
        raise Refused(f"The webhook host {host} could not be resolved.")
    except netcheck.PrivateAddress:
        raise Refused(f"The webhook host {host} resolves to a private or reserved address.")


def post(url, body, headers, *, timeout=10.0, allow_private=False, transport=None):
    """POSTs `body` to `url` at a checked address; returns the httpx.Response.

    Raises Refused for a URL that may not be called, httpx.HTTPError on network errors."""
    parsed = check_url(url, allow_private)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    address = resolve(parsed.host, port, allow_private)
    pinned = parsed.copy_with(host=address)
    host_header = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    if parsed.port is not None:
        host_header += f":{parsed.port}"
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    # No proxies from the environment: a proxy would connect to a name of its choosing.
    with httpx.Client(
        timeout=timeout, follow_redirects=False, trust_env=False, transport=transport
    ) as client:
        request = client.build_request(
            "POST",
            pinned,
            content=body,
            headers={**headers, "Host": host_header},
            extensions=extensions,
        )
        return client.send(request)
