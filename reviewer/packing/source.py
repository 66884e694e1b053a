"""One file of an uploaded archive, as the model saw it: decoded and with secrets
redacted, so that `path:line` citations in a report can be checked against the code."""

from .archive import KIND_FILE, read_archive
from .errors import PackingError
from .models import PackOptions
from .pipeline import strip_common_folder
from .secrets import redact
from .text import decode_text


def read_source(archive_path, path, options=None):
    """The text of `path` (relative to the repository root), or None when the archive has
    no such readable text file. Raises PackingError for an archive that cannot be read."""
    options = options or PackOptions()

    # Only the wanted file's bytes are kept; the top folder is not known until the end.
    def want(raw_path):
        return raw_path == path or raw_path.partition("/")[2] == path

    members = read_archive(archive_path, options, want)
    prefix = strip_common_folder([m.path for m in members])
    wanted = f"{prefix}/{path}" if prefix else path
    found = None
    for member in members:
        if member.path == wanted and member.kind == KIND_FILE:
            found = member  # a later duplicate wins, as in pack()
    if found is None or found.data is None or found.too_large:
        return None
    text = decode_text(found.data)
    if text is None:
        return None
    redacted, _ = redact(text)
    return redacted


__all__ = ["PackingError", "read_source"]
