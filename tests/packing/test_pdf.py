"""The specification PDF is validated, measured and its text kept for text-only providers."""

from __future__ import annotations

import pytest

from reviewer.packing import PackingError, check_pdf
from reviewer.packing.pdf import TOKENS_PER_PAGE

from .conftest import make_pdf, make_text_pdf


def test_check_pdf_reads_pages_and_text(tmp_path):
    data = make_text_pdf(["1. The API SHALL expose GET /items.", "2. Items have a name."])
    path = tmp_path / "spec.pdf"
    path.write_bytes(data)
    spec = check_pdf(path)
    assert spec.filename == "spec.pdf"
    assert spec.page_count == 2
    assert spec.data == data
    assert "GET /items" in spec.text and "Items have a name" in spec.text
    assert spec.estimated_tokens == 2 * TOKENS_PER_PAGE


def test_check_pdf_estimate_uses_text_tokens_when_larger():
    dense = "\n".join(f"Requirement {i}: the service validates field_{i}." for i in range(60))
    spec = check_pdf(make_text_pdf([dense]))
    from reviewer.packing import count_tokens

    assert count_tokens(spec.text) > TOKENS_PER_PAGE / 3
    assert spec.estimated_tokens == max(TOKENS_PER_PAGE, count_tokens(spec.text))


def test_check_pdf_rejects_non_pdf():
    with pytest.raises(PackingError) as exc:
        check_pdf(b"PK\x03\x04 a zip renamed to spec.pdf")
    assert str(exc.value) == "The specification is not a PDF."


def test_check_pdf_rejects_password_protected():
    with pytest.raises(PackingError) as exc:
        check_pdf(make_pdf(pages=1, password="s3cret"))
    assert str(exc.value) == "The PDF is password-protected."


def test_check_pdf_rejects_truncated_and_damaged():
    data = make_text_pdf(["hello"])
    for broken in (data[:40], b"%PDF-1.7\n" + b"\x00garbage" * 100):
        with pytest.raises(PackingError) as exc:
            check_pdf(broken)
        assert str(exc.value) == "The PDF could not be opened: it is damaged or truncated."


def test_check_pdf_enforces_page_limit_with_counts_in_sentence():
    with pytest.raises(PackingError) as exc:
        check_pdf(make_pdf(pages=5), max_pages=3)
    assert str(exc.value) == "The PDF has 5 pages; this model accepts at most 3."
    assert check_pdf(make_pdf(pages=3), max_pages=3).page_count == 3


def test_check_pdf_enforces_size_limit():
    data = make_pdf(pages=2)
    with pytest.raises(
        PackingError, match=r"^The PDF is .*; this model accepts at most 100 bytes\.$"
    ):
        check_pdf(data, max_bytes=100)
    assert check_pdf(data, max_bytes=len(data)).page_count == 2
