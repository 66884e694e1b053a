"""Mail and webhooks when a review ends, in process: Django's locmem mail backend and a
real HTTP receiver on 127.0.0.1."""

import hashlib
import hmac
import json
import socket
import time

import pytest
from django.core import mail

from reviewer.notifications import outbound, tasks
from reviewer.notifications.models import TeamReviewMail, Webhook, WebhookDelivery
from reviewer.notifications.outbound import Refused
from reviewer.runs.lifecycle import announce_final
from reviewer.teams.models import Membership
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://reviewer.example.com"
    return settings


@pytest.fixture
def eager_deliveries(settings, monkeypatch):
    settings.WEBHOOK_RETRY_SECONDS = 0
    # Each delivery runs at once, retries included, as a worker would run them in turn.
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda *a: tasks.deliver_webhook.apply(a))


@pytest.fixture
def receiver(settings, eager_deliveries):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with WebhookReceiver() as r:
        yield r


def add_webhook(project, url):
    webhook = Webhook(project=project, url=url)
    secret = webhook.new_secret()
    webhook.save()
    return webhook, secret


def test_the_author_and_members_who_opted_in_get_mail_with_a_link(
    make_review, bob, victor, mail_settings
):
    TeamReviewMail.objects.create(membership=Membership.objects.get(user=bob))
    review = make_review(status="done")
    tasks.notify_review_final(review.pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    message = mail.outbox[0]
    assert message.subject == f"✓ Review {review.pk} of Shop is done"
    assert f"https://reviewer.example.com/reviews/{review.pk}/" in message.body
    assert all(len(m.to) == 1 for m in mail.outbox)


def test_a_failed_review_mail_says_so_with_the_reason(make_review, mail_settings):
    review = make_review(status="failed", error="The model refused the key.", cost_usd=None)
    tasks.notify_review_final(review.pk)
    [message] = mail.outbox
    assert message.subject == f"✗ Review {review.pk} of Shop failed"
    assert "The model refused the key." in message.body


def test_a_project_name_cannot_add_mail_headers(make_review, project, mail_settings):
    project.name = "Shop\r\nBcc: eve@example.com"
    project.save()
    tasks.notify_review_final(make_review(status="done").pk)
    [message] = mail.outbox
    assert "\n" not in message.subject and message.bcc == []


def test_members_who_did_not_opt_in_get_no_mail(make_review, bob, mail_settings):
    tasks.notify_review_final(make_review(status="done").pk)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_settings_page_turns_team_mail_on_and_off(client, bob, team):
    client.force_login(bob)
    response = client.post("/account/notifications", {f"team-{team.pk}": "on"})
    assert response.status_code == 302
    assert TeamReviewMail.objects.filter(membership__user=bob).count() == 1
    assert "checked" in client.get("/account/notifications").content.decode()
    client.post("/account/notifications", {})
    assert not TeamReviewMail.objects.filter(membership__user=bob).exists()


def test_done_and_failed_reviews_queue_notifications_cancelled_ones_do_not(
    make_review, notifications_queued
):
    done, failed, cancelled = (make_review(status=s) for s in ("done", "failed", "cancelled"))
    announce_final(done.pk, "done", "")
    announce_final(failed.pk, "failed", "broken")
    announce_final(cancelled.pk, "cancelled", "cancelled")
    assert notifications_queued == [done.pk, failed.pk]


def test_a_broker_that_is_down_does_not_fail_the_review(make_review, monkeypatch):
    def down(review_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr("reviewer.notifications.hooks.queue", down)
    review = make_review(status="done")
    announce_final(review.pk, "done", "")  # does not raise


def verify(secret, request):
    headers = {k.lower(): v for k, v in request["headers"].items()}
    signed = headers["x-reviewer-timestamp"].encode() + b"." + request["body"]
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-reviewer-signature"], expected)
    assert abs(int(headers["x-reviewer-timestamp"]) - time.time()) < 60
    return headers, json.loads(request["body"])


def test_a_finished_review_is_posted_signed_to_the_webhook(make_review, project, receiver):
    webhook, secret = add_webhook(project, receiver.url)
    review = make_review(status="done")
    tasks.notify_review_final(review.pk)
    [request] = receiver.received
    headers, body = verify(secret, request)
    assert headers["x-reviewer-event"] == "review.done"
    assert body["review"]["id"] == review.pk and body["review"]["status"] == "done"
    [row] = WebhookDelivery.objects.all()
    assert (row.ok, row.status_code, row.attempt) == (True, 200, 1)


def test_a_failing_receiver_is_tried_again_and_every_attempt_is_logged(
    make_review, project, receiver
):
    add_webhook(project, receiver.url)
    receiver.script(500, 500)
    tasks.notify_review_final(make_review(status="failed").pk)
    assert len(receiver.received) == 3
    rows = list(WebhookDelivery.objects.order_by("attempt"))
    assert [(r.attempt, r.status_code, r.ok) for r in rows] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert len({r.delivery_id for r in rows}) == 1
    assert rows[0].error == "The receiver answered 500."


def test_a_receiver_that_never_succeeds_gets_five_attempts(make_review, project, receiver):
    add_webhook(project, receiver.url)
    receiver.script(*[503] * 10)
    tasks.notify_review_final(make_review(status="done").pk)
    assert len(receiver.received) == 5
    assert WebhookDelivery.objects.filter(ok=False).count() == 5


def test_backoff_doubles_between_attempts(settings):
    settings.WEBHOOK_RETRY_SECONDS = 10
    assert [tasks.backoff_seconds(a) for a in (1, 2, 3, 4)] == [10, 20, 40, 80]


def test_a_redirect_is_not_followed(make_review, project, receiver):
    with WebhookReceiver() as elsewhere:
        receiver.redirect_to = elsewhere.url
        add_webhook(project, receiver.url)
        receiver.script(*[302] * 10)
        tasks.notify_review_final(make_review(status="done").pk)
        assert elsewhere.received == []
    row = WebhookDelivery.objects.first()
    assert row.status_code == 302 and not row.ok
    assert "redirect" in row.error


def test_private_addresses_are_refused_without_the_setting(
    make_review, project, settings, eager_deliveries
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with WebhookReceiver() as local:
        https_local = local.url.replace("http://", "https://")
        add_webhook(project, https_local)
        tasks.notify_review_final(make_review(status="done").pk)
        assert local.received == []
    [row] = WebhookDelivery.objects.all()  # refused, so not tried again
    assert not row.ok and "private or reserved" in row.error


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "100.64.0.1",
        "224.0.0.1",
        "fe80::1",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_forbidden(address):
    assert outbound.forbidden_address(address)


def test_public_addresses_are_allowed():
    assert not outbound.forbidden_address("93.184.216.34")
    assert not outbound.forbidden_address("2606:2800:220:1:248:1893:25c8:1946")


def test_a_name_with_any_private_address_is_refused():
    def getaddrinfo(host, port, type):
        return [
            (socket.AF_INET, type, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, type, 6, "", ("10.0.0.5", port)),
        ]

    with pytest.raises(Refused):
        outbound.resolve("rebind.example", 443, getaddrinfo=getaddrinfo)


def test_the_connection_goes_to_the_checked_address_with_the_name_for_tls(monkeypatch):
    import httpx

    seen = []
    monkeypatch.setattr(outbound, "resolve", lambda host, port, allow: "93.184.216.34")

    def handler(request):
        seen.append(request)
        return httpx.Response(204)

    outbound.post("https://hooks.example.com/x", b"{}", {}, transport=httpx.MockTransport(handler))
    [request] = seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/x", "ftp://hooks.example.com/x", "https://u:p@h.example/"]
)
def test_only_plain_https_urls_are_called(url):
    with pytest.raises(Refused):
        outbound.check_url(url)


def test_http_is_allowed_with_the_setting():
    assert outbound.check_url("http://127.0.0.1:9/x", allow_private=True).scheme == "http"


def test_admins_add_a_webhook_and_see_the_secret_once(client, alice, project, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(alice)
    url = f"/projects/{project.pk}/webhook"
    page = client.post(url, {"action": "save", "url": "https://hooks.example.com/r"})
    assert page.status_code == 200
    webhook = Webhook.objects.get(project=project)
    assert webhook.get_secret() in page.content.decode()
    assert webhook.get_secret() not in client.get(url).content.decode()
    assert webhook.encrypted_secret != webhook.get_secret()
    old = webhook.get_secret()
    page = client.post(url, {"action": "regenerate"})
    webhook.refresh_from_db()
    assert webhook.get_secret() != old and webhook.get_secret() in page.content.decode()


@pytest.mark.parametrize("bad", ["http://hooks.example.com/r", "https://127.0.0.1/r"])
def test_the_form_refuses_plain_http_and_private_addresses(client, alice, project, settings, bad):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(alice)
    page = client.post(f"/projects/{project.pk}/webhook", {"action": "save", "url": bad})
    assert page.status_code == 400
    assert not Webhook.objects.exists()


def test_the_delivery_log_lists_attempts(client, alice, make_review, project, receiver):
    add_webhook(project, receiver.url)
    receiver.script(500)
    review = make_review(status="done")
    tasks.notify_review_final(review.pk)
    client.force_login(alice)
    page = client.get(f"/projects/{project.pk}/webhook/deliveries").content.decode()
    assert "The receiver answered 500." in page and "delivered" in page


def test_an_ipv6_receiver_gets_a_bracketed_host_header(monkeypatch):
    import httpx

    seen = []
    monkeypatch.setattr(outbound, "resolve", lambda host, port, allow: "2001:db8::5")
    outbound.post(
        "https://[2001:db8::5]:8443/x",
        b"{}",
        {},
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204)),
    )
    assert seen[0].headers["host"] == "[2001:db8::5]:8443"
