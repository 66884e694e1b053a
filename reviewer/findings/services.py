"""Turning a finished review's text into findings rows, and reading them back with their
triage and their change since the previous review.

The worker calls ``prepare`` (parse and verify: reads files, writes nothing) before the
review's final write and ``store`` in the same transaction as that write, so that the
final view already has its findings and a run that lost the review stores none.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field

from django.db import transaction

from reviewer.packing import PackingError, read_sent_file
from reviewer.reviews.models import Review, Status
from reviewer.reviews.storage_files import local_copy

from .fingerprint import fingerprint
from .models import SEVERITY_RANK, Finding, ReviewFindings, Triage, TriageState
from .parse import ParsedFinding, parse_report
from .verify import CodeChecker, SpecChecker

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    review_id: int
    findings: list[Finding] = field(default_factory=list)
    info: ReviewFindings | None = None


def prepare(review_id: int, text: str) -> Prepared | None:
    """Parse and verify; None when anything goes wrong (the report is kept either way)."""
    try:
        return _prepare(Review.objects.get(pk=review_id), text)
    except Exception:
        log.exception("review %s: the findings could not be read", review_id)
        return None


def _prepare(review: Review, text: str) -> Prepared:
    # Stored files are copied to this host at most once, on first use, and removed after.
    with ExitStack() as copies:
        return _prepare_with(review, text, copies)


def _prepare_with(review: Review, text: str, copies: ExitStack) -> Prepared:
    parsed = parse_report(text)
    code = CodeChecker(review.pack_summary.get("included_paths", []), _sent_reader(review, copies))
    spec = SpecChecker(review.spec_pages, _page_reader(review, copies))
    prepared = Prepared(review.pk)
    total = verified = 0
    for position, item in enumerate(parsed.findings, start=1):
        finding = _finding(review, position, item, code, spec)
        prepared.findings.append(finding)
        total += finding.citations
        verified += finding.citations_verified
    requirements = []
    for row in parsed.requirements:
        checked = [code.check(loc) for loc in row.locations]
        page = spec.check(row.page, "")
        total += len(checked) + (page.ok is not None)
        verified += sum(c.ok for c in checked) + bool(page.ok)
        requirements.append(
            {
                "requirement": row.requirement,
                "verdict": row.verdict,
                "page": row.page,
                "page_ok": page.ok,
                "page_note": page.note,
                "evidence": row.evidence,
                "locations": [c.as_dict() for c in checked],
            }
        )
    prepared.info = ReviewFindings(
        review_id=review.pk,
        structured=len(parsed.findings),
        unstructured=parsed.unparsed,
        problems=parsed.problems[:50],
        citations=total,
        citations_verified=verified,
        requirements=requirements,
    )
    return prepared


def _finding(review, position, item: ParsedFinding, code, spec) -> Finding:
    checked = [code.check(loc) for loc in item.locations]
    page = spec.check(item.page, item.quote)
    primary = next((c.resolved or c.path for c in checked), "")
    return Finding(
        review_id=review.pk,
        position=position,
        kind=item.kind,
        severity=item.severity,
        title=item.title,
        explanation=item.explanation,
        suggestion=item.suggestion,
        verdict=item.verdict,
        requirement=item.requirement,
        spec_page=item.page,
        quote=item.quote,
        spec_ok=page.ok,
        spec_note=page.note[:200],
        spec_excerpt=page.excerpt,
        locations=[c.as_dict() for c in checked],
        fingerprint=fingerprint(item.kind, item.requirement, item.title, primary),
    )


def _sent_reader(review, copies):
    local = None

    def read(path):
        nonlocal local
        if not review.sent_files:
            return None
        try:
            if local is None:
                local = copies.enter_context(local_copy(review.sent_files))
            return read_sent_file(local, path)
        except (PackingError, OSError, ValueError):
            return None

    return read


def _page_reader(review, copies):
    reader = None

    def page_text(page):
        nonlocal reader
        if reader is None:
            from pypdf import PdfReader

            # pypdf warns about every sloppy PDF; packing already said what matters.
            logging.getLogger("pypdf").setLevel(logging.ERROR)
            reader = PdfReader(copies.enter_context(local_copy(review.spec)), strict=False)
        return reader.pages[page - 1].extract_text() or ""

    return page_text if review.spec else None


def store(prepared: Prepared | None) -> None:
    """Replace the review's findings with ``prepared`` (inside the caller's transaction).
    A failure here never fails the review: the report is kept and the page says so."""
    if prepared is None:
        return
    try:
        with transaction.atomic():
            _store(prepared)
    except Exception:
        log.exception("review %s: the findings could not be stored", prepared.review_id)


def _store(prepared: Prepared) -> None:
    review = Review.objects.get(pk=prepared.review_id)
    previous = previous_review(review)
    earlier = set()
    if previous is not None:
        earlier = set(previous.findings.values_list("fingerprint", flat=True))
    Finding.objects.filter(review=review).delete()
    ReviewFindings.objects.filter(review=review).delete()
    for finding in prepared.findings:
        finding.recurring = finding.fingerprint in earlier
    Finding.objects.bulk_create(prepared.findings)
    prepared.info.previous = previous
    prepared.info.save()


def record(review_id: int, text: str) -> None:
    """Parse, verify and store in one go (re-parsing a stored review, tests)."""
    prepared = prepare(review_id, text)
    with transaction.atomic():
        store(prepared)


def previous_review(review):
    """The latest finished review of the same project before this one that has findings."""
    return (
        Review.objects.filter(
            project_id=review.project_id,
            status=Status.DONE,
            findings_info__isnull=False,
            created_at__lte=review.created_at,
        )
        .exclude(pk=review.pk)
        .exclude(created_at=review.created_at, pk__gt=review.pk)
        .order_by("-created_at", "-pk")
        .first()
    )


# -- reading back --------------------------------------------------------------------
def triage_for(project, fingerprints):
    rows = Triage.objects.filter(project=project, fingerprint__in=set(fingerprints))
    return {t.fingerprint: t for t in rows}


def annotate(findings, review):
    """Sets ``triage``, ``state`` (open, accepted, dismissed, fixed) and ``change`` (new,
    still open, reopened) on each finding of ``review``."""
    findings = list(findings)
    triage = triage_for(review.project, [f.fingerprint for f in findings])
    for f in findings:
        t = triage.get(f.fingerprint)
        f.triage = t
        f.state = t.state if t else "open"
        reopened = (
            t is not None
            and t.state == TriageState.FIXED
            and t.review_id is not None
            and t.review_id != review.pk
            and t.updated_at < review.created_at
        )
        if reopened:
            f.state = "open"
        f.is_open = f.state in ("open", TriageState.ACCEPTED)
        f.change = "reopened" if reopened else ("still open" if f.recurring else "new")
    return findings


def open_findings(findings):
    return sorted(
        (f for f in findings if f.is_open),
        key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.position),
    )


def resolved_since_previous(review):
    """Findings of the previous review that this one no longer raises."""
    info = getattr(review, "findings_info", None) if _has_info(review) else None
    if info is None or info.previous_id is None:
        return []
    current = set(review.findings.values_list("fingerprint", flat=True))
    return [f for f in info.previous.findings.all() if f.fingerprint not in current]


def _has_info(review):
    try:
        review.findings_info  # noqa: B018 - the reverse one-to-one raises when absent
    except ReviewFindings.DoesNotExist:
        return False
    return True


def info_for(review):
    return review.findings_info if _has_info(review) else None
