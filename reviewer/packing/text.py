"""Binary detection and decoding of file bytes into text, judged by content."""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0/C1 control characters except those real text contains (tab, newlines, form feed, ESC).
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
SNIFF = 8192


def decode_text(data: bytes) -> str | None:
    """The file's text with newlines normalised to \\n, or None if it is binary."""
    if not data:
        return ""
    text = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            break
    if text is None:
        if b"\x00" in data[:SNIFF]:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _legacy(data)
            if text is None:
                return None
    if "\x00" in text or _too_many_controls(text):
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _legacy(data: bytes) -> str | None:
    # Latin-1, cp1252, Shift-JIS... charset-normalizer rejects byte soup that
    # decodes to nonsense, which is what makes this a binary test as well.
    # Imported here: most repositories are UTF-8 and never need it (~10 MB resident).
    from charset_normalizer import from_bytes

    results = from_bytes(data[: 256 * 1024])
    best = results.best()
    if best is None or best.encoding is None:
        return None
    encoding = best.encoding
    # Short Western texts score nearly the same in every single-byte Latin code
    # page; Windows-1252 is by far the most common for source files, so it wins
    # a near tie (cp1257 would turn "façade" into "faēade").
    for match in results:
        if match.encoding == "cp1252" and match.chaos <= best.chaos + 0.15:
            encoding = "cp1252"
            break
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _too_many_controls(text: str) -> bool:
    sample = text[:SNIFF]
    return len(_CONTROLS.findall(sample)) > max(2, len(sample) // 100)
