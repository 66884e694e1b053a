"""For CI: the SARIF file of a finished review, and whether its open findings fail the build."""

import json

from .models import SEVERITY_RANK
from .services import annotate, info_for

FAIL_EXIT = 3


def write_sarif(review, path):
    from .exports import sarif

    with open(path, "w", encoding="utf-8") as fh:
        json.dump(sarif(review), fh, indent=2)


def failing_findings(review, threshold):
    """Open findings at or above ``threshold`` (critical, high, medium or low)."""
    if info_for(review) is None:
        return []
    floor = SEVERITY_RANK[threshold]
    return [
        f
        for f in annotate(review.findings.all(), review)
        if f.is_open and SEVERITY_RANK[f.severity] >= floor
    ]


def summary(review):
    """The figures a CI log wants, or None when the review has no parsed findings."""
    info = info_for(review)
    if info is None:
        return None
    findings = annotate(review.findings.all(), review)
    return {
        "structured": info.structured,
        "unstructured": info.unstructured,
        "open": sum(f.is_open for f in findings),
        "citations": info.citations,
        "citations_verified": info.citations_verified,
    }
