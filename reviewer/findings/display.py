"""What the review page, the exports and the API show of a review's findings."""

from __future__ import annotations

from django.urls import reverse

from .models import SEVERITY_RANK
from .services import annotate, info_for, open_findings, resolved_since_previous

VERDICT_ORDER = ("met", "partly met", "contradicted", "missing", "not reviewed")


def source_url(review_id, loc, finding_id=None):
    """The source viewer at a cited range, or "" when the file was not sent."""
    if not loc.get("ok") and not loc.get("resolved"):
        return ""
    path = loc.get("resolved") or loc.get("path")
    url = reverse("review_source", args=[review_id, path])
    query = []
    if loc.get("start"):
        query.append(f"lines={loc['start']}-{loc.get('end') or loc['start']}")
    if finding_id:
        query.append(f"finding={finding_id}")
    anchor = f"#L{loc['start']}" if loc.get("start") else ""
    return url + ("?" + "&".join(query) if query else "") + anchor


def spec_url(review_id, page):
    return reverse("review_spec", args=[review_id]) + f"#page={int(page)}"


def label(loc):
    start, end = loc.get("start"), loc.get("end")
    if not start:
        return loc.get("path", "")
    return f"{loc['path']}:{start}" + (f"-{end}" if end and end != start else "")


def _with_links(review, finding):
    finding.links = [
        {**loc, "label": label(loc), "url": source_url(review.pk, loc, finding.pk)}
        for loc in finding.locations
    ]
    finding.spec_link = spec_url(review.pk, finding.spec_page) if finding.spec_ok else ""
    return finding


def requirement_share(rows):
    counts = {v: 0 for v in VERDICT_ORDER}
    for row in rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    total = sum(counts.values())
    return [
        {
            "verdict": v,
            "count": counts[v],
            "percent": round(100 * counts[v] / total) if total else 0,
        }
        for v in VERDICT_ORDER
        if counts[v]
    ]


def findings_context(review, user=None):
    info = info_for(review)
    if info is None:
        return {"findings_info": None}
    findings = [_with_links(review, f) for f in annotate(review.findings.all(), review)]
    requirements = [
        {
            **row,
            "links": [
                {**loc, "label": label(loc), "url": source_url(review.pk, loc)}
                for loc in row.get("locations", [])
            ],
            "spec_link": spec_url(review.pk, row["page"]) if row.get("page_ok") else "",
        }
        for row in info.requirements
    ]
    by_severity = {}
    for f in open_findings(findings):
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    return {
        "findings_info": info,
        "findings": sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.position)),
        "findings_resolved": resolved_since_previous(review),
        "findings_open_count": sum(f.is_open for f in findings),
        "findings_new_count": sum(f.change == "new" and f.is_open for f in findings),
        "findings_by_severity": by_severity,
        "requirements": requirements,
        "requirement_share": requirement_share(info.requirements),
    }
