"""Builders for archives and PDFs made inside the tests (no fixture files on disk)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter

from reviewer.packing import Budget


def make_zip(path: Path, files: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return path


def make_tar(path: Path, files: dict[str, bytes | str], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(raw))
    return path


def make_pdf(pages: int = 1, password: str | None = None, text: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    if password is not None:
        writer.encrypt(user_password=password, owner_password=password)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.fixture
def big_budget() -> Budget:
    return Budget(context_tokens=1_000_000, max_output_tokens=32_000)
