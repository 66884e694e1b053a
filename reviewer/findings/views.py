"""Triage from the review page, and the specification PDF opened at a cited page."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from reviewer.reviews.access import get_review_for_user
from reviewer.teams.models import Role

from .exports import findings_json, sarif
from .triage import TriageRefused, get_finding_for_user, set_triage

# The PDF is shown by the browser's own viewer; nothing else may load or run with it.
PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'self'; base-uri 'none'"


@login_required
@require_POST
def finding_triage(request, pk):
    finding = get_finding_for_user(request.user, pk, Role.MEMBER)
    try:
        set_triage(finding, request.user, request.POST.get("state", ""), request.POST.get("reason"))
    except TriageRefused as exc:
        messages.error(request, exc.message)
    return redirect(finding.review.get_absolute_url() + f"#finding-{finding.pk}")


@login_required
@require_GET
def review_spec(request, pk):
    """The specification inline, so that `#page=N` opens it at a cited page."""
    review = get_review_for_user(request.user, pk)
    if not review.spec:
        raise Http404("This review has no specification.")
    try:
        handle = review.spec.open("rb")
    except OSError:
        raise Http404("The specification can no longer be read.")
    # Our own name in the header: the uploaded file name is never echoed into it.
    response = FileResponse(
        handle, content_type="application/pdf", as_attachment=False, filename=f"spec-{pk}.pdf"
    )
    response["Content-Security-Policy"] = PDF_CSP
    return response


def _download(body, content_type, filename):
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def review_export_sarif(request, pk):
    review = get_review_for_user(request.user, pk)
    body = json.dumps(sarif(review), indent=2)
    return _download(body, "application/sarif+json", f"review-{review.pk}.sarif")


@login_required
@require_GET
def review_export_findings(request, pk):
    review = get_review_for_user(request.user, pk)
    body = json.dumps(findings_json(review), indent=2)
    return _download(body, "application/json", f"review-{review.pk}-findings.json")
