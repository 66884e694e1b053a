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

from .archive import human
from .errors import PackingError
from .models import SpecDocument
from .tokens import count_tokens

TOKENS_PER_PAGE = 1500


def estimate_pdf_tokens(page_count: int, text: str) -> int:
    return max(page_count * TOKENS_PER_PAGE, count_tokens(text))


def check_pdf(
    path_or_bytes: str | os.PathLike | bytes,
    max_pages: int | None = None,
    max_bytes: int | None = None,
    filename: str | None = None,
) -> SpecDocument:
    """Validate the spec PDF and extract its text; raises PackingError with a plain sentence."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data = bytes(path_or_bytes)
        name = filename or "specification.pdf"
    else:
        try:
            data = Path(path_or_bytes).read_bytes()
        except OSError:
            raise PackingError("The specification could not be read.")
        name = filename or Path(path_or_bytes).name
    # The header may sit after a little junk (the PDF spec allows 1 KB of it).
    if b"%PDF-" not in data[:1024]:
        raise PackingError("The specification is not a PDF.")
    if max_bytes is not None and len(data) > max_bytes:
        raise PackingError(
            f"The PDF is {human(len(data))}; this model accepts at most {human(max_bytes)}."
        )
    from pypdf import PdfReader  # only when there is a spec: keeps archive-only packs lean

    # pypdf logs warnings for every sloppy PDF; they are not the user's problem.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
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
    text = "\n\n".join(t.strip() for t in texts)
    return SpecDocument(
        filename=name,
        data=data,
        page_count=pages,
        text=text,
        estimated_tokens=estimate_pdf_tokens(pages, text),
    )
