"""Whether an address a user gave us may be connected to: shared by webhooks and by
fetching repositories by URL.

A host is resolved once and every address it resolves to is checked; the caller then
connects to the checked address itself, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot send it elsewhere. Plain Python, no Django.
"""

import ipaddress
import socket


class Unresolvable(Exception):
    """The host did not resolve to any address."""


class PrivateAddress(Exception):
    """The host resolves to (or is) an address that is not plainly on the public internet."""


def forbidden_address(address):
    """True for every address that is not plainly on the public internet, including
    IPv4 addresses written as IPv4-mapped IPv6 (::ffff:127.0.0.1)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def ip_literal(host):
    """The address when `host` is written as one (brackets allowed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def resolve(host, port, allow_private=False, getaddrinfo=socket.getaddrinfo):
    """The address to connect to: the first one the host resolves to, once all of them
    passed the check (a name with one private address among public ones is refused).

    Raises Unresolvable or PrivateAddress."""
    try:
        infos = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(host) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise Unresolvable(host)
    if not allow_private:
        for address in addresses:
            if forbidden_address(address):
                raise PrivateAddress(host)
    return addresses[0]
