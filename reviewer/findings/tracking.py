"""Findings across a project's reviews: the open ones of the latest review, the trend by
severity, citation accuracy per model, and what changed between two reviews."""

from __future__ import annotations

from django.db.models import Sum
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from reviewer.reviews.models import Review, Status

from .display import findings_context
from .models import SEVERITY_RANK, ReviewFindings
from .services import annotate, info_for

TREND_REVIEWS = 20
COLOURS = {"critical": "#7f1d1d", "high": "#b91c1c", "medium": "#d97706", "low": "#9ca3af"}
ORDER = ("low", "medium", "high", "critical")  # bottom of each bar first


def _done_with_findings(project):
    return Review.objects.filter(
        project=project, status=Status.DONE, findings_info__isnull=False
    ).order_by("-created_at", "-pk")


def project_findings_context(project, user=None):
    reviews = list(_done_with_findings(project)[:TREND_REVIEWS])
    if not reviews:
        return {"latest_findings": None}
    latest = reviews[0]
    context = findings_context(latest, user)
    open_findings = [f for f in context["findings"] if f.is_open]
    return {
        "latest_findings": latest,
        "latest_open": open_findings,
        "latest_by_severity": [
            (s, sum(f.severity == s for f in open_findings)) for s in reversed(ORDER)
        ],
        "trend_svg": trend_svg(list(reversed(reviews))),
        "accuracy_by_model": accuracy_by_model(project),
    }


def severity_counts(review):
    counts = dict.fromkeys(ORDER, 0)
    for f in annotate(review.findings.all(), review):
        if f.state != "dismissed":
            counts[f.severity] += 1
    return counts


def trend_svg(reviews):
    """Stacked bars of findings by severity, one per review, oldest on the left."""
    data = [(r.pk, severity_counts(r)) for r in reviews]
    top = max([sum(c.values()) for _, c in data] + [1])
    bar, gap, height, base = 22, 10, 120, 140
    width = len(data) * (bar + gap) + gap
    parts = []
    for i, (pk, counts) in enumerate(data):
        x = gap + i * (bar + gap)
        y = base
        for severity in ORDER:
            h = round(height * counts[severity] / top)
            if h:
                y -= h
                parts.append(
                    format_html(
                        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>review {}: {} {}</title></rect>",
                        x,
                        y,
                        bar,
                        h,
                        COLOURS[severity],
                        pk,
                        counts[severity],
                        severity,
                    )  # fmt: skip
                )
        total = sum(counts.values())
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>'
                '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#6b7280">#{}</text>',
                x + bar / 2,
                y - 3,
                total,
                x + bar / 2,
                base + 14,
                pk,
            )  # fmt: skip
        )
    label = f"Findings by severity over the last {len(data)} reviews"
    svg = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} 160" width="{}" height="160" '
        'role="img" aria-label="{}"><title>{}</title>{}</svg>',
        width, width, label, label, mark_safe("".join(parts)),  # noqa: S308 - built by format_html
    )  # fmt: skip
    return svg


def accuracy_by_model(project):
    rows = (
        ReviewFindings.objects.filter(review__project=project, review__status=Status.DONE)
        .values("review__model")
        .annotate(total=Sum("citations"), verified=Sum("citations_verified"))
        .order_by("review__model")
    )
    return [
        {
            "model": row["review__model"],
            "citations": row["total"] or 0,
            "verified": row["verified"] or 0,
            "percent": round(100 * (row["verified"] or 0) / row["total"]) if row["total"] else None,
        }
        for row in rows
    ]


def compare_findings_context(old, new):
    if info_for(old) is None or info_for(new) is None:
        return {"findings_compared": False}
    old_findings = {f.fingerprint: f for f in old.findings.all()}
    new_findings = {f.fingerprint: f for f in annotate(new.findings.all(), new)}

    def ordered(items):
        return sorted(items, key=lambda f: (-SEVERITY_RANK[f.severity], f.position))

    return {
        "findings_compared": True,
        "findings_new": ordered(f for fp, f in new_findings.items() if fp not in old_findings),
        "findings_resolved": ordered(f for fp, f in old_findings.items() if fp not in new_findings),
        "findings_unchanged": ordered(f for fp, f in new_findings.items() if fp in old_findings),
    }
