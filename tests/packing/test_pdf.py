"""The specification PDF is validated, measured and its text kept for text-only providers."""

from __future__ import annotations

import tracemalloc

import pytest

from reviewer.packing import PackingError, check_pdf, pack
from reviewer.packing.pdf import TOKENS_PER_PAGE

from .conftest import make_pdf, make_text_pdf, make_zip


def test_check_pdf_reads_pages_and_text(tmp_path):
    data = make_text_pdf(["1. The API SHALL expose GET /items.", "2. Items have a name."])
    path = tmp_path / "spec.pdf"
    path.write_bytes(data)
    spec = check_pdf(path)
    assert spec.filename == "spec.pdf"
    assert spec.page_count == 2
    assert spec.size_bytes == len(data)
    assert spec.read_bytes() == data
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


PADDED_BYTES = 30 * 1024 * 1024


@pytest.fixture
def large_pdf(tmp_path):
    """A valid two-page PDF of ~30 MB on disk (the test holds no copy of its bytes)."""
    path = tmp_path / "large.pdf"
    path.write_bytes(make_text_pdf(["1. GET /items", "2. POST /items"], padding=PADDED_BYTES))
    return path


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_check_pdf_validates_a_large_pdf_path_without_reading_it_whole(large_pdf):
    size = large_pdf.stat().st_size
    spec, peak = _peak_bytes(lambda: check_pdf(large_pdf, max_pages=10, max_bytes=size))
    assert spec.page_count == 2 and "POST /items" in spec.text
    assert spec.size_bytes == size
    assert peak < size / 10  # reading the file whole would peak at >= its size


def test_pack_with_a_large_spec_leaves_the_pdf_on_disk(tmp_path, large_pdf, big_budget):
    archive = make_zip(tmp_path / "a.zip", {"app.py": "print('hi')\n"})
    packed, peak = _peak_bytes(lambda: pack(archive, large_pdf, big_budget))
    assert packed.spec.page_count == 2
    assert peak < large_pdf.stat().st_size / 10
    assert packed.summary()["spec"]["bytes"] == large_pdf.stat().st_size
    assert packed.spec.read_bytes() == large_pdf.read_bytes()  # when the request is built


def test_check_pdf_refuses_an_oversized_pdf_path_from_its_size_alone(large_pdf):
    def check():
        with pytest.raises(
            PackingError, match=r"^The PDF is 30\.\d+ MB; this model accepts at most 1 MB\.$"
        ):
            check_pdf(large_pdf, max_bytes=1024 * 1024)

    _, peak = _peak_bytes(check)
    assert peak < 256 * 1024


def test_spec_read_bytes_refuses_a_file_changed_after_the_check(tmp_path):
    path = tmp_path / "spec.pdf"
    path.write_bytes(make_text_pdf(["one"]))
    spec = check_pdf(path)
    path.write_bytes(make_text_pdf(["one", "two"]))
    with pytest.raises(PackingError, match="^The specification changed after it was checked.$"):
        spec.read_bytes()
