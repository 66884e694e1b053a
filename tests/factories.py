"""Inputs the tests build themselves: small repositories as archives, and real PDFs."""

import io
import tarfile
import zipfile

SAMPLE_REPO = {
    "shop/README.md": "# Shop\n\nA tiny shop service.\n",
    "shop/app/api.py": (
        "def list_orders(user):\n"
        '    """GET /orders"""\n'
        "    return [o for o in ORDERS if o.owner == user]\n"
    ),
    "shop/app/models.py": "ORDERS = []\n\n\nclass Order:\n    owner = None\n",
    "shop/.gitignore": "*.log\n",
    "shop/debug.log": "noise\n",
}


def make_zip(files=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (files or SAMPLE_REPO).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def make_tar_gz(files=None):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in (files or SAMPLE_REPO).items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _escape_pdf_text(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages=("The service SHALL expose GET /orders and POST /orders.",)):
    """A small but valid PDF with one text line per page (Helvetica, no embedded font)."""
    objects = []
    page_ids = []
    font_id = 3
    next_id = 4
    for text in pages:
        content = f"BT /F1 12 Tf 72 720 Td ({_escape_pdf_text(text)}) Tj ET".encode()
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        page_ids.append(page_id)
        objects.append(
            (
                page_id,
                (
                    f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>"
                ).encode(),
            )
        )
        objects.append(
            (content_id, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        )
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects = [
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()),
        (3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
        *objects,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for obj_id, body in sorted(objects):
        offsets[obj_id] = out.tell()
        out.write(b"%d 0 obj\n" % obj_id + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for obj_id in range(1, len(objects) + 1):
        out.write(b"%010d 00000 n \n" % offsets[obj_id])
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()
