"""Sign-in, sign-up and password reset are throttled per client address as the trusted
proxies report it, and per username or target email."""

import sys
import threading

import pytest
from django.core import mail
from django.test import Client, RequestFactory

from reviewer import throttle
from reviewer.security import lockout_seconds, record_failure
from reviewer.throttle import client_address

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"
LOCKED = "Too many failed attempts; try again in 15 minutes."


def _login(username, password, **meta):
    return Client(**meta).post("/accounts/login/", {"username": username, "password": password})


def _via_proxy(forwarded_for):
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded_for}


def _request(**meta):
    return RequestFactory().get("/", **meta)


def test_client_address_takes_the_nth_forwarded_entry_from_the_right(settings):
    chain = "6.6.6.6, 203.0.113.5, 198.51.100.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request(**_via_proxy(chain))) == "198.51.100.2"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(_request(**_via_proxy(chain))) == "203.0.113.5"
    # A request that reached the app without the header keys on the connection.
    assert client_address(_request(REMOTE_ADDR=PROXY)) == PROXY


def test_login_throttle_keys_on_the_proxy_reported_address(client, alice, password, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_MAX_FAILURES = 3
    # Each try prepends another made-up address; the proxy's own entry stays the same.
    for fake in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        _login("alice", "wrong", **_via_proxy(f"{fake}, 203.0.113.5"))
    locked = _login("alice", password, **_via_proxy("4.4.4.4, 203.0.113.5"))
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    # Another client behind the same proxy is not locked out.
    assert _login("alice", password, **_via_proxy("203.0.113.9")).status_code == 302


def test_without_trusted_proxies_forwarded_for_is_ignored(alice, password, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.LOGIN_MAX_FAILURES = 2
    forged = _request(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_address(forged) == "198.51.100.7"
    for fake in ("1.1.1.1", "2.2.2.2"):
        _login("alice", "wrong", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=fake)
    claimed = _login("alice", password, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="9.9.9.9")
    assert claimed.status_code == 429
    assert _login("alice", password, REMOTE_ADDR="198.51.100.8").status_code == 302


def test_one_address_cannot_spray_guesses_over_many_usernames(alice, password, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    for name in ("bob", "carol", "dave", "erin"):
        assert _login(name, "wrong", REMOTE_ADDR="198.51.100.7").status_code == 200
    locked = _login("alice", password, REMOTE_ADDR="198.51.100.7")
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.LOGIN_LOCKOUT_MINUTES * 60
    assert _login("alice", password, REMOTE_ADDR="198.51.100.8").status_code == 302


def test_a_successful_login_keeps_the_address_count(alice, password, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    here = {"REMOTE_ADDR": "198.51.100.7"}
    _login("bob", "wrong", **here)
    _login("carol", "wrong", **here)
    assert _login("alice", password, **here).status_code == 302
    _login("dave", "wrong", **here)
    assert _login("alice", password, **here).status_code == 429


def test_admin_login_counts_against_the_same_limit(alice, password, settings):
    settings.LOGIN_MAX_FAILURES = 2
    admin = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(2):
        admin.post("/admin/login/", {"username": "alice", "password": "wrong"})
    again = admin.post("/admin/login/", {"username": "alice", "password": password})
    assert LOCKED in again.content.decode()
    assert _login("alice", password, REMOTE_ADDR="198.51.100.7").status_code == 429


def test_ipv6_clients_are_counted_per_64_network(alice, password, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    for host in ("1", "2", "3"):
        _login(f"user{host}", "wrong", REMOTE_ADDR=f"2001:db8:1:2::{host}")
    assert _login("alice", password, REMOTE_ADDR="2001:db8:1:2::99").status_code == 429
    assert _login("alice", password, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


@pytest.fixture
def busy_switching():
    # Threads switch after every few bytecodes, so a read-then-write would lose updates.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _at_once(threads, each, work):
    start = threading.Barrier(threads)

    def run(index):
        start.wait()
        for step in range(each):
            work(index, step)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_concurrent_failures_for_one_username_are_all_counted(
    alice, password, settings, busy_switching
):
    settings.LOGIN_MAX_FAILURES = 2000
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 0
    request = _request(REMOTE_ADDR="198.51.100.7")
    _at_once(8, 249, lambda i, step: record_failure(request, "alice"))
    # 1992 of 2000: not locked yet, and the 2000th locks.
    assert lockout_seconds(request, "alice") == 0
    _at_once(8, 1, lambda i, step: record_failure(request, "alice"))
    assert _login("alice", password, REMOTE_ADDR="198.51.100.7").status_code == 429


def test_concurrent_failures_from_one_address_are_all_counted(
    alice, password, settings, busy_switching
):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 2000
    request = _request(REMOTE_ADDR="198.51.100.7")
    _at_once(8, 249, lambda i, step: record_failure(request, f"user{i}-{step}"))
    assert lockout_seconds(request, "alice") == 0
    _at_once(8, 1, lambda i, step: record_failure(request, f"late{i}"))
    assert _login("alice", password, REMOTE_ADDR="198.51.100.8").status_code == 302
    assert _login("alice", password, REMOTE_ADDR="198.51.100.7").status_code == 429


def _signup(name, **meta):
    data = {
        "username": name,
        "email": f"{name}@example.com",
        "password1": "a-long-unusual-passphrase-42",
        "password2": "a-long-unusual-passphrase-42",
    }
    return Client(**meta).post("/accounts/signup/", data)


def test_signups_are_limited_per_address(django_user_model, alice, settings):
    settings.SIGNUPS_PER_ADDRESS_PER_HOUR = 2
    here = {"REMOTE_ADDR": "198.51.100.7"}
    assert _signup("dora", **here).status_code == 302
    assert _signup("alice", **here).status_code == 400  # a refused attempt counts too
    refused = _signup("alice", **here)
    page = refused.content.decode()
    assert refused.status_code == 429
    assert "Too many sign-ups from your network; try again in" in page
    assert 0 < int(refused["Retry-After"]) <= 3600
    # A refused attempt is not checked, so it does not tell which names exist.
    assert "already exists" not in page
    assert _signup("emil", **here).status_code == 429
    assert not django_user_model.objects.filter(username="emil").exists()
    assert _signup("emil", REMOTE_ADDR="198.51.100.8").status_code == 302


def _reset(email, address):
    return Client(REMOTE_ADDR=address).post("/accounts/password_reset/", {"email": email})


def test_password_resets_are_limited_per_address(alice, settings):
    settings.PASSWORD_RESETS_PER_ADDRESS_PER_HOUR = 2
    assert _reset("alice@example.com", "198.51.100.7").status_code == 302
    assert _reset("nobody@example.com", "198.51.100.7").status_code == 302
    refused = _reset("alice@example.com", "198.51.100.7")
    assert refused.status_code == 429
    assert "Too many password reset requests; try again in" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert len(mail.outbox) == 1
    assert _reset("alice@example.com", "198.51.100.8").status_code == 302
    assert len(mail.outbox) == 2


def test_password_resets_are_limited_per_email_alike_for_unknown_emails(alice, settings):
    settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR = 2
    answers = {}
    for email in ("alice@example.com", "nobody@example.com"):
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            response = _reset(email, address)
            answers.setdefault(email, []).append(response.status_code)
        answers[email].append(response.content.decode().count("Too many password reset"))
    assert answers["alice@example.com"] == answers["nobody@example.com"] == [302, 302, 429, 1]
    assert len(mail.outbox) == 2


def test_reset_limit_frees_once_its_window_has_passed(alice, settings, monkeypatch):
    settings.PASSWORD_RESETS_PER_EMAIL_PER_HOUR = 1
    clock = [7200.0]
    monkeypatch.setattr(throttle, "now", lambda: clock[0])
    assert _reset("alice@example.com", "198.51.100.1").status_code == 302
    refused = _reset("alice@example.com", "198.51.100.1")
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    clock[0] += 3600
    assert _reset("alice@example.com", "198.51.100.1").status_code == 302
