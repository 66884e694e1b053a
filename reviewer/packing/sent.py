"""A redacted copy of what was sent, for the source viewer.

``write_sent_files`` stores, for every file included in a Pack, exactly the text the
model saw (decoded, secrets redacted, without line numbers) as a deflated zip member
named by its repository path. ``read_sent_file`` later reads one member back; zipfile
finds it through the central directory and decompresses only that member.

The texts are recovered from the prompt (see blocks.unnumbered), so a Pack holds no
second copy of the repository.
"""

from __future__ import annotations

import os
import zipfile
from typing import BinaryIO

from .archive import safe_member_path
from .blocks import unnumbered
from .errors import PackingError
from .models import IncludedFile, Pack


def sent_text(packed: Pack, included: IncludedFile) -> str:
    """The text of one included file exactly as the model saw it, line numbers removed."""
    if included.sent is None:
        raise ValueError(f"{included.path} was not laid out by pack()")
    start, end, final_newline = included.sent
    return unnumbered(packed.prompt[start:end], final_newline)


def write_sent_files(packed: Pack, fileobj: BinaryIO) -> None:
    """Write a zip of every included file's sent text (UTF-8) to ``fileobj``."""
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in packed.included:
            if not _is_member_name(f.path):
                # pack() never includes such a path (the archive is refused); a name
                # that could escape a folder is not written whatever built the Pack.
                continue
            # One file's text at a time: the zip never needs the whole repository.
            zf.writestr(f.path, sent_text(packed, f).encode("utf-8", "surrogatepass"))


def read_sent_file(fileobj_or_path: BinaryIO | str | os.PathLike, path: str) -> str | None:
    """The sent text of ``path``, or None when it was not sent."""
    if not _is_member_name(path):
        return None
    source = (
        os.fspath(fileobj_or_path)
        if isinstance(fileobj_or_path, str | os.PathLike)
        else fileobj_or_path
    )
    try:
        with zipfile.ZipFile(source) as zf:
            try:
                data = zf.read(path)
            except KeyError:
                return None
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackingError("The copy of the files sent for review could not be read.") from exc
    return data.decode("utf-8", "surrogatepass")


def _is_member_name(path: str) -> bool:
    try:
        return bool(path) and safe_member_path(path) == path
    except PackingError:
        return False
