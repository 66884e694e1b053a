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
