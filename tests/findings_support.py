"""Reviews with a stored copy of the files sent and a real spec PDF, for findings tests."""

import io
import zipfile

from django.core.files.base import ContentFile

from tests.factories import make_pdf

SENT = {
    "app/api.py": (
        "def list_orders(user):\n    '''GET /orders'''\n"
        "    return [o for o in ORDERS if o.owner == user]\n"
    ),
    "app/models.py": "ORDERS = []\n\n\nclass Order:\n    owner = None\n",
    "README.md": "# Shop\n",
}
SPEC_PAGES = (
    "1 Introduction. The shop keeps orders for its users.",
    "2 Orders. The service SHALL expose GET /orders and POST /orders.",
    "3 Refunds. Refunds are accepted within 30 days of purchase.",
)


def sent_zip(files=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (files or SENT).items():
            zf.writestr(name, text)
    return buffer.getvalue()


def make_sent_review(make_review, report="", files=None, pages=SPEC_PAGES, **fields):
    files = files or SENT
    review = make_review(
        report=report,
        spec=ContentFile(make_pdf(pages), name="spec.pdf"),
        spec_pages=len(pages),
        pack_summary={"included_paths": sorted(files)},
        **fields,
    )
    review.sent_files.save("sent", ContentFile(sent_zip(files)), save=True)
    return review


def finding(title, kind="risk", severity="high", locations="app/api.py:3", extra="", prose="Why."):
    return (
        f"### {title}\n```finding\nkind: {kind}\nseverity: {severity}\n"
        f"locations: {locations}\n{extra}```\n{prose}\n\nSuggested change: fix it.\n\n"
    )
