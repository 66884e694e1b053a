"""Counters in the shared cache for sign-in throttling and the API's rate limit.

Every counter is a fixed window: one cache key per subject and window, created with
`cache.add` and bumped with `cache.incr`, both atomic in LocMem and Redis, so requests
served at once by several threads or processes are each counted. A key outlives its
window a little, so `incr` never races its expiry; a new window is a new key.

Subjects (usernames, addresses, emails, tokens) appear in keys only as an HMAC, so
keys have a fixed shape whatever a client sends and the cache holds no plain emails.
"""

import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

# Keys live this much longer than their window (clock skew between processes).
_SLACK_SECONDS = 5


def now():
    return time.time()


def client_address(request):
    """The client's address as the trusted proxies report it.

    With TRUSTED_PROXY_COUNT = N, each of the N proxies appended the address it received
    the request from to X-Forwarded-For, so the Nth entry from the right is the client
    as seen by the outermost trusted proxy. Entries further left came from the client and
    are ignored, so prepending fake addresses changes nothing. With 0 the header is
    ignored and the connection's own address is used."""
    remote = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0 or request is None:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if not hops:
        return remote
    # Fewer entries than proxies: the request passed fewer proxies than configured; the
    # left-most entry is then the farthest address any proxy reported.
    return hops[-count] if len(hops) >= count else hops[0]


def address_subject(address):
    """What a per-address limit counts: the address, or its /64 for IPv6, since one
    host usually holds a whole /64 and could otherwise rotate through it."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def _digest(parts):
    return salted_hmac("reviewer.throttle", "\0".join(parts)).hexdigest()


def count(scope, parts, window):
    """Counts one event for `parts` in the current window of `window` seconds.

    Returns (events so far in this window, seconds until the window ends)."""
    moment = now()
    index = int(moment // window)
    key = f"throttle:{scope}:{index}:{_digest(parts)}"
    left = (index + 1) * window - moment
    for _ in range(3):
        cache.add(key, 0, timeout=window + _SLACK_SECONDS)
        try:
            return cache.incr(key), left
        except ValueError:  # expired between add and incr: add it again
            continue
    return 1, left


def forget(scope, parts, window):
    """Drops the current window's count (a successful login)."""
    index = int(now() // window)
    cache.delete(f"throttle:{scope}:{index}:{_digest(parts)}")


def over_limit(scope, parts, limit, window):
    """Counts one request; the seconds to wait when it is over `limit`, else 0.

    A limit of 0 or less is no limit."""
    if limit <= 0:
        return 0
    events, left = count(scope, parts, window)
    return wait_seconds(left) if events > limit else 0


def lock(scope, parts, seconds):
    cache.set(f"lock:{scope}:{_digest(parts)}", now() + seconds, timeout=seconds)


def locked_for(scope, parts):
    """Seconds until a lock set by `lock` ends (0: not locked)."""
    unlock_at = cache.get(f"lock:{scope}:{_digest(parts)}")
    return wait_seconds(unlock_at - now()) if unlock_at else 0


def wait_seconds(seconds):
    return max(0, math.ceil(seconds))


def in_minutes(seconds):
    """'1 minute', '15 minutes': a wait for a sentence shown to people."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
