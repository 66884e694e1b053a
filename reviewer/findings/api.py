"""The findings of a review over the JSON API, and triage by API."""

import json

from django.http import JsonResponse

from reviewer.api.views import api_view, error
from reviewer.reviews.access import get_review_for_user
from reviewer.teams.models import Role

from .exports import finding_json, findings_json
from .services import annotate
from .triage import TriageRefused, get_finding_for_user, set_triage


@api_view("GET")
def review_findings(request, pk):
    return JsonResponse(findings_json(get_review_for_user(request.user, pk)))


def _body(request):
    """JSON or form fields."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    return request.POST


@api_view("POST")
def finding_triage(request, pk):
    finding = get_finding_for_user(request.user, pk, Role.MEMBER)
    data = _body(request)
    if data is None:
        return error("The body must be a JSON object.", 400)
    try:
        set_triage(finding, request.user, str(data.get("state", "")), str(data.get("reason") or ""))
    except TriageRefused as exc:
        return error(exc.message, 400)
    review = finding.review
    (annotated,) = annotate([finding], review)
    return JsonResponse(finding_json(review, annotated))
