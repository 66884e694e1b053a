"""`path:line` citations in a report link to the code the model was sent."""

import pytest
from django.core.files.base import ContentFile

from reviewer.reports.rendering import linkify_citations, render_report
from tests.factories import SAMPLE_REPO, make_zip

pytestmark = pytest.mark.django_db

PATHS = ["app/api.py", "app/models.py", "README.md"]

REPO = {
    **SAMPLE_REPO,
    "shop/app/views.py": (
        'TEMPLATE = "<script>alert(1)</script>"\nKEY = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"\n'
    ),
}


def test_known_paths_become_links_to_their_line():
    html = linkify_citations(render_report("See app/api.py:3 and `app/models.py:1-2`."), 7, PATHS)
    assert '<a href="/reviews/7/source/app/api.py#L3" class="citation">app/api.py:3</a>' in html
    assert '<code><a href="/reviews/7/source/app/models.py#L1" class="citation">' in html


def test_a_path_with_the_archives_top_folder_still_links():
    html = linkify_citations(render_report("In shop/app/api.py:2."), 7, PATHS)
    assert 'href="/reviews/7/source/app/api.py#L2"' in html


def test_unknown_paths_links_and_attributes_are_left_alone():
    report = "[docs](https://example.com/app/api.py:80) and other/file.py:3 and app/api.py"
    html = linkify_citations(render_report(report), 7, PATHS)
    assert html.count("<a ") == 1 and "citation" not in html


@pytest.fixture
def review(make_review):
    review = make_review(
        archive=ContentFile(make_zip(REPO), name="shop.zip"),
        pack_summary={"included_paths": ["app/api.py", "app/views.py"]},
    )
    return review


def test_viewer_shows_numbered_escaped_redacted_lines(client, alice, review):
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/source/app/views.py").content.decode()
    assert '<tr id="L1">' in page and '<tr id="L2">' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "[REDACTED:github_token]" in page and "ghp_abcdef" not in page


def test_viewer_serves_only_files_the_model_was_sent(client, alice, review):
    client.force_login(alice)
    assert client.get(f"/reviews/{review.pk}/source/debug.log").status_code == 404
    assert client.get(f"/reviews/{review.pk}/source/../../etc/passwd").status_code == 404


def test_outsider_cannot_read_the_code(client, charlie, review):
    client.force_login(charlie)
    assert client.get(f"/reviews/{review.pk}/source/app/api.py").status_code == 404


def test_review_page_links_citations(client, alice, review):
    review.report = "## Conformance\n\nHandled in app/api.py:1.\n"
    review.save()
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert f'href="/reviews/{review.pk}/source/app/api.py#L1"' in page


def test_viewer_reads_the_stored_copy_of_what_was_sent_not_the_archive(client, alice, review):
    import io

    from reviewer.packing import Budget, pack, write_sent_files

    packed = pack(
        review.archive.path, None, Budget(context_tokens=200_000, max_output_tokens=8_000)
    )
    sent = io.BytesIO()
    write_sent_files(packed, sent)
    review.sent_files.save("sent", ContentFile(sent.getvalue()), save=True)
    # The viewer must not need the archive any more: one member of the copy is enough.
    review.archive.storage.delete(review.archive.name)
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/source/app/views.py").content.decode()
    assert '<tr id="L2">' in page and "[REDACTED:github_token]" in page
    assert "ghp_abcdef" not in page
