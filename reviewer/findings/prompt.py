"""The list of findings the team dismissed, appended at the very end of the next review's
prompt (after the repository), so that the long cached prefix stays the same."""

import dataclasses

from .models import Triage, TriageState

MAX_LISTED = 30  # a few thousand tokens at most: well within the packing margin


def dismissed_note(project):
    rows = Triage.objects.filter(project=project, state=TriageState.DISMISSED).order_by(
        "-updated_at"
    )[:MAX_LISTED]
    if not rows:
        return ""
    lines = [
        "\n## Findings the team has dismissed",
        "Do not report these again unless the code has changed so that they apply anew:",
    ]
    for t in rows:
        where = f" ({' '.join(t.path.split())[:200]})" if t.path else ""
        req = f" [{' '.join(t.requirement.split())[:100]}]" if t.requirement else ""
        reason = f" — dismissed: {' '.join(t.reason.split())[:200]}" if t.reason else ""
        lines.append(f"- {t.kind}{req}: {' '.join(t.title.split())[:200]}{where}{reason}")
    return "\n".join(lines) + "\n"


def with_dismissed(request, review):
    note = dismissed_note(review.project)
    if not note:
        return request
    # Per-review text goes in the request's notes, sent after the cached prefix.
    return dataclasses.replace(request, notes=request.notes + note)
