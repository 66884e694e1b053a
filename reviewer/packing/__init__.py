"""Turn an uploaded repository archive and a spec PDF into one LLM request.

Plain Python, no Django: the web app previews with it and the Celery worker
sends what it returns.
"""

from .errors import PackingError
from .models import (
    Budget,
    ExcludedFile,
    IncludedFile,
    Pack,
    PackOptions,
    Redaction,
    SpecDocument,
)
from .pdf import check_pdf
from .pipeline import check_archive, pack
from .sent import read_sent_file, write_sent_files
from .source import read_source
from .tokens import count_tokens

__all__ = [
    "Budget",
    "ExcludedFile",
    "IncludedFile",
    "Pack",
    "PackOptions",
    "PackingError",
    "Redaction",
    "SpecDocument",
    "check_archive",
    "check_pdf",
    "count_tokens",
    "pack",
    "read_sent_file",
    "read_source",
    "write_sent_files",
]
