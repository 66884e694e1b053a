"""Share links (enable, expire, regenerate, revoke), the public page and the exports."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reviewer.reviews.models import ShareLink

pytestmark = pytest.mark.django_db


def _share(client, review, action="enable", days=""):
    return client.post(
        f"/reviews/{review.pk}/share", {"action": action, "expires_in_days": days}, follow=True
    )


def _shared_path(response):
    match = re.search(r'value="https?://[^"/]+(/s/[^"]+)"', response.content.decode())
    assert match, "the share page shows the active link"
    return match.group(1)


def test_owner_enables_a_share_link_that_works_without_login(client, alice, make_review):
    review = make_review(report="## Findings\n\nAll good.")
    client.force_login(alice)
    path = _shared_path(_share(client, review))
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43  # token_urlsafe(32): 256 bits
    client.logout()
    page = client.get(path)
    assert page.status_code == 200
    body = page.content.decode()
    assert "<h2>Findings</h2>" in body
    assert '<meta name="robots" content="noindex' in body
    assert page["X-Robots-Tag"].startswith("noindex")
    assert "gpt-4.1" in body and "1,000 prompt + 50 completion" in body and "$0.0024" in body


def test_shared_page_hides_archive_spec_team_and_people(client, alice, bob, make_review):
    review = make_review(archive_name="secret-repo.zip", spec_name="internal-spec.pdf")
    client.force_login(alice)
    path = _shared_path(_share(client, review))
    client.logout()
    body = client.get(path).content.decode()
    for hidden in ("secret-repo.zip", "internal-spec.pdf", "alice", "bob", "Shop", "team"):
        assert hidden not in body, hidden
    assert f"/reviews/{review.pk}/" not in body


def test_revoked_share_link_answers_404(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    path = _shared_path(_share(client, review))
    _share(client, review, "revoke")
    client.logout()
    assert client.get(path).status_code == 404


def test_expired_share_link_answers_404(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    path = _shared_path(_share(client, review, days="1"))
    link = ShareLink.objects.get()
    assert timedelta(hours=23) < link.expires_at - timezone.now() <= timedelta(days=1)
    ShareLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.logout()
    assert client.get(path).status_code == 404


def test_regenerating_replaces_the_old_link(client, alice, make_review):
    review = make_review()
    client.force_login(alice)
    old = _shared_path(_share(client, review))
    new = _shared_path(_share(client, review, "regenerate"))
    assert old != new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_unknown_share_token_answers_404(client):
    assert client.get("/s/not-a-real-token").status_code == 404


@pytest.mark.parametrize("who", ["bob", "victor", "charlie"])
def test_only_owners_and_admins_manage_share_links(client, who, request, make_review):
    review = make_review()
    client.force_login(request.getfixturevalue(who))
    assert client.post(f"/reviews/{review.pk}/share", {"action": "enable"}).status_code == 404
    assert not ShareLink.objects.exists()


def test_markdown_export_downloads_the_report_with_its_metadata(client, victor, make_review):
    review = make_review(report="## Missing APIs\n\n- POST /orders\n")
    client.force_login(victor)
    response = client.get(f"/reviews/{review.pk}/export.md")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert response["Content-Disposition"] == f'attachment; filename="review-{review.pk}.md"'
    text = response.content.decode()
    assert "## Missing APIs\n\n- POST /orders" in text
    assert "sha256 `" + "ab" * 32 + "`" in text and "gpt-4.1" in text


def test_html_export_is_self_contained(client, alice, make_review):
    review = make_review(report="## Title\n\n[docs](https://example.com/x)\n")
    client.force_login(alice)
    response = client.get(f"/reviews/{review.pk}/export.html")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="review-{review.pk}.html"'
    html = response.content.decode()
    assert "<style>" in html and "<h2>Title</h2>" in html
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"\bsrc=|@import|url\(", html)
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_outsider_cannot_export(client, charlie, make_review):
    review = make_review()
    client.force_login(charlie)
    assert client.get(f"/reviews/{review.pk}/export.md").status_code == 404
    assert client.get(f"/reviews/{review.pk}/export.html").status_code == 404
