"""The preview and the report say how much of the repository the model sees."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewer.packing import Budget, pack
from reviewer.reviews.models import Review
from tests.factories import make_pdf, make_zip

pytestmark = pytest.mark.django_db


def module(name, lines, imports=""):
    return imports + "".join(f"def {name}_{i}(x):\n    return x * {i}\n" for i in range(lines))


def big_repo(core_lines=200):
    """~200k tokens: vendored code and test data swamp the application's own code."""
    files = {
        "shop/README.md": "# Shop\n",
        "shop/app/core.py": module("core", core_lines),
        "shop/app/__init__.py": "",
    }
    for i in range(6):
        files[f"shop/app/view{i}.py"] = module(f"v{i}", 40, "from app.core import core_1\n")
    for i in range(40):
        files[f"shop/third_party/lib/mod{i:02d}.py"] = module(f"lib{i}", 450)
    for i in range(20):
        files[f"shop/tests/fixtures/case{i:02d}.json"] = '{"k": [' + ", 1" * 3000 + "]}\n"
    return files


@pytest.fixture
def draft(client, alice, project, media_root, settings):
    def make(files):
        client.force_login(alice)
        client.post(
            f"/projects/{project.pk}/reviews",
            {
                "archive": SimpleUploadedFile("shop.zip", make_zip(files)),
                "spec": SimpleUploadedFile("spec.pdf", make_pdf()),
                "model": "gpt-4.1",
                "preview": "1",
            },
        )
        return Review.objects.get()

    return make


def preview(client, review, model):
    return client.get(
        f"/reviews/{review.pk}/preview", {"model": model}, headers={"HX-Request": "true"}
    ).content.decode()


def test_a_small_model_shows_how_much_is_reviewed_and_what_is_left_out_by_folder(client, draft):
    review = draft(big_repo())
    page = preview(client, review, "deepseek-v3.2")
    headline = re.search(r"Reviewed: <strong>(\d+) of (\d+) files, (\d+)% of the repository", page)
    assert headline, page
    kept, total, share = map(int, headline.groups())
    assert total == 69 and 0 < kept < total and 0 < share < 100
    assert "does not fit" in page
    # The most important dropped files come first; all of them sit in closed folders.
    assert "<h3>Most important files left out</h3>" in page
    folders = re.findall(r'<details class="folder">\s*<summary><code>([^<]+)</code>', page)
    assert "third_party/lib/" in folders and "tests/fixtures/" in folders
    # Vendored code is the first to go, so it is listed last.
    assert folders.index("tests/fixtures/") < folders.index("third_party/lib/")
    not_seen = page.split('id="not-seen"')[1].split("</section>")[0]
    assert "<code>app/core.py</code>" not in not_seen  # the core module is kept
    assert "core source file" not in page


def test_picking_a_larger_model_on_the_preview_changes_the_fit(client, draft):
    review = draft(big_repo())
    assert "does not fit" in preview(client, review, "deepseek-v3.2")
    page = preview(client, review, "gpt-4.1")
    assert "Reviewed: <strong>69 of 69 files, 100% of the repository&#x27;s tokens</strong>" in page
    assert "does not fit" not in page and "What the model will not see" not in page


def test_dropping_a_core_module_is_warned_about(client, draft):
    review = draft(big_repo(core_lines=9000))  # larger than the whole budget
    page = preview(client, review, "deepseek-v3.2")
    assert re.search(r'class="warning" role="alert">1 core source file left out', page)
    assert "<code>app/core.py</code>" in page.split('id="not-seen"')[1].split("</section>")[0]


def test_the_report_says_how_much_was_reviewed_and_groups_what_was_not(
    client, alice, make_review, tmp_path
):
    archive = tmp_path / "shop.zip"
    archive.write_bytes(make_zip(big_repo()))
    summary = pack(archive, None, Budget(128_000, 8192)).summary()
    review = make_review(pack_summary=summary)
    client.force_login(alice)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert f"Reviewed: <strong>{summary['coverage']['headline']}".replace("'", "&#x27;") in page
    assert '<details class="folder">' in page
    dropped = [d["path"] for d in summary["coverage"]["dropped"]]
    assert any(p.startswith("third_party/") for p in dropped)
    for path in dropped:
        assert f"<code>{path}</code>" in page
