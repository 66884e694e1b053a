"""Triage of findings by members: accept, dismiss with a reason, mark fixed, or reopen.
A decision belongs to the finding's fingerprint within the project, so it carries over
to the same finding in later reviews."""

from django.shortcuts import get_object_or_404

from reviewer.teams.access import require_role
from reviewer.teams.models import Role

from .models import Finding, Triage, TriageState

STATES = ("accepted", "dismissed", "fixed", "open")


class TriageRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def get_finding_for_user(user, pk, role=Role.VIEWER):
    finding = get_object_or_404(Finding.objects.select_related("review__project__team"), pk=pk)
    require_role(user, finding.review.project.team, role)
    return finding


def set_triage(finding, user, state, reason=""):
    """Records the decision; "open" removes it. Raises TriageRefused with one sentence."""
    reason = " ".join((reason or "").split())[:500]
    if state not in STATES:
        raise TriageRefused("Choose accept, dismiss, mark fixed or reopen.")
    project = finding.review.project
    if state == "open":
        Triage.objects.filter(project=project, fingerprint=finding.fingerprint).delete()
        return None
    if state == TriageState.DISMISSED and not reason:
        raise TriageRefused("Say why the finding is dismissed.")
    triage, _ = Triage.objects.update_or_create(
        project=project,
        fingerprint=finding.fingerprint,
        defaults={
            "state": state,
            "reason": reason,
            "kind": finding.kind,
            "title": finding.title,
            "requirement": finding.requirement,
            "path": finding.primary_path[:500],
            "review": finding.review,
            "updated_by": user,
        },
    )
    return triage
