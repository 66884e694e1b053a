"""Notifications end to end: a real worker mails the author through a real SMTP server
and posts a signed webhook to a receiver on 127.0.0.1, retrying a failing one; in both
profiles."""

import hashlib
import hmac
import json
import re

import pytest

from tests.conftest import PROFILES
from tests.fakes.llm_server import answer
from tests.fakes.smtp_server import SMTPReceiver
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.stack import running_stack
from tests.test_e2e_review import create_project, review_id_of, upload, wait_until


@pytest.fixture(scope="module")
def smtp():
    with SMTPReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def hooks():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module", params=PROFILES)
def notify_stack(request, fake_llm, tmp_path_factory, smtp, hooks):
    with running_stack(
        request.param,
        tmp_path_factory.mktemp(f"notify-{request.param}"),
        fake_llm.url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        WEBHOOK_ALLOW_PRIVATE="1",
        WEBHOOK_RETRY_SECONDS="0.5",
        REDIS_DB="8",
    ) as stack:
        yield stack


def add_webhook(client, project_id, url):
    page = client.get(f"/projects/{project_id}/webhook")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    page = client.post(
        f"/projects/{project_id}/webhook",
        data={"csrfmiddlewaretoken": token, "action": "save", "url": url},
    )
    assert page.status_code == 200
    return re.search(r'value="(whsec_[^"]+)"', page.text).group(1)


def valid_signature(secret, request):
    headers = {k.lower(): v for k, v in request["headers"].items()}
    signed = headers["x-reviewer-timestamp"].encode() + b"." + request["body"]
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-reviewer-signature"], expected)


@pytest.mark.e2e
def test_a_finished_review_is_mailed_and_posted_signed_to_the_webhook(
    notify_stack, llm, smtp, hooks
):
    llm.script(answer("## Conformance\n\nFine.\n"))
    client = notify_stack.client("alice")
    project_id = create_project(client, "Mailed shop")
    path = f"/hook/{notify_stack.profile}/ok"
    secret = add_webhook(client, project_id, hooks.url.replace("/hook", path))
    review_id = review_id_of(upload(client, project_id))

    link = f"{notify_stack.url}/reviews/{review_id}/"
    mail = wait_until(lambda: [m for m in smtp.messages if link in m["message"].get_content()])
    assert mail[0]["to"] == ["alice@example.com"]
    assert mail[0]["message"]["Subject"] == f"✓ Review {review_id} of Mailed shop is done"

    received = wait_until(lambda: [r for r in hooks.received if r["path"] == path])
    assert valid_signature(secret, received[0])
    body = json.loads(received[0]["body"])
    assert body["event"] == "review.done" and body["review"]["id"] == review_id
    assert body["review"]["url"] == link


@pytest.mark.e2e
def test_a_failing_receiver_is_tried_again_and_the_attempts_are_logged(notify_stack, llm, hooks):
    llm.script(answer("## Conformance\n\nFine.\n"))
    client = notify_stack.client("alice")
    project_id = create_project(client, "Retried shop")
    path = f"/hook/{notify_stack.profile}/retry"
    secret = add_webhook(client, project_id, hooks.url.replace("/hook", path))
    hooks.script(500)
    review_id = review_id_of(upload(client, project_id))

    received = wait_until(lambda: len([r for r in hooks.received if r["path"] == path]) >= 2)
    attempts = [r for r in hooks.received if r["path"] == path]
    assert all(valid_signature(secret, r) for r in attempts)
    ids = {r["headers"]["X-Reviewer-Delivery"] for r in attempts}
    assert len(ids) == 1 and received

    def logged():
        page = client.get(f"/projects/{project_id}/webhook/deliveries").text
        return "delivered" in page and "The receiver answered 500." in page and page

    page = wait_until(logged)
    assert f"/reviews/{review_id}/" in page
