"""Checking the specification PDF and estimating what it costs in tokens.

Token estimate: max(text tokens, 1,500 x pages). Providers that take PDFs
(Anthropic, Gemini, OpenAI) bill each page as extracted text plus, for most, a
rendered page image; Anthropic documents 1,500-3,000 tokens per page. A PDF of
scanned pages has almost no text yet still costs the images, and a dense text
PDF costs at least its text, hence the larger of the two. Budgets carry a 10%
margin on top of this.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import BinaryIO

from .archive import human
from .errors import PackingError
from .models import SpecDocument
from .tokens import count_tokens

TOKENS_PER_PAGE = 1500
# The header may sit after a little junk (the PDF spec allows 1 KB of it).
HEAD_BYTES = 1024


def estimate_pdf_tokens(page_count: int, text: str) -> int:
    return max(page_count * TOKENS_PER_PAGE, count_tokens(text))


def check_pdf(
    path_or_bytes: str | os.PathLike | bytes,
    max_pages: int | None = None,
    max_bytes: int | None = None,
    filename: str | None = None,
) -> SpecDocument:
    """Validate the spec PDF and extract its text; raises PackingError with a plain sentence.

    A path is never read whole: the header comes from the first KB, the size from the
    file system, and pypdf seeks to the parts it needs. SpecDocument.read_bytes() reads
    the file when a request is built."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data = bytes(path_or_bytes)
        _check_head(data[:HEAD_BYTES], len(data), max_bytes)
        doc = _parse(io.BytesIO(data), max_pages)
        return _document(filename or "specification.pdf", doc, len(data), data=data)
    path = os.path.abspath(os.fspath(path_or_bytes))  # the cwd may change before sending
    try:
        fh = open(path, "rb")
    except OSError:
        raise PackingError("The specification could not be read.")
    with fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(HEAD_BYTES)
            fh.seek(0)
        except OSError:
            raise PackingError("The specification could not be read.")
        _check_head(head, size, max_bytes)
        doc = _parse(fh, max_pages)
    return _document(filename or Path(path).name, doc, size, path=path)


def _check_head(head: bytes, size: int, max_bytes: int | None) -> None:
    if b"%PDF-" not in head:
        raise PackingError("The specification is not a PDF.")
    if max_bytes is not None and size > max_bytes:
        raise PackingError(
            f"The PDF is {human(size)}; this model accepts at most {human(max_bytes)}."
        )


def _parse(stream: BinaryIO, max_pages: int | None) -> tuple[int, str]:
    """Page count and text of the PDF in ``stream`` (which must stay open meanwhile)."""
    from pypdf import PdfReader  # only when there is a spec: keeps archive-only packs lean

    # pypdf logs warnings for every sloppy PDF; they are not the user's problem.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            # Even PDFs that open with an empty password are refused by providers.
            raise PackingError("The PDF is password-protected.")
        pages = len(reader.pages)
    except PackingError:
        raise
    except Exception:  # noqa: BLE001 - pypdf raises many types on broken files
        raise PackingError("The PDF could not be opened: it is damaged or truncated.")
    if pages == 0:
        raise PackingError("The PDF could not be opened: it is damaged or truncated.")
    if max_pages is not None and pages > max_pages:
        raise PackingError(f"The PDF has {pages} pages; this model accepts at most {max_pages}.")
    texts = []
    for page in reader.pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception:  # noqa: BLE001 - one unreadable page should not sink the spec
            texts.append("")
    return pages, "\n\n".join(t.strip() for t in texts)


def _document(
    name: str, doc: tuple[int, str], size: int, path: str | None = None, data: bytes | None = None
) -> SpecDocument:
    pages, text = doc
    return SpecDocument(
        filename=name,
        page_count=pages,
        text=text,
        estimated_tokens=estimate_pdf_tokens(pages, text),
        size_bytes=size,
        path=path,
        _data=data,
    )
