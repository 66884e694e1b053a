"""A split review's parts on its page: their sections (live and final), and retrying or
cancelling one part alone."""

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from reviewer.reports.rendering import render_report
from reviewer.reviews.access import get_review_for_user
from reviewer.splits import events as ev
from reviewer.splits.lifecycle import cancel_part, retry_part
from reviewer.splits.models import PART_ACTIVE, ReviewPart
from reviewer.teams.models import Role


def parts_for_page(review, relay_events=None):
    """The review's parts for its page. While it runs, each part's text is what the
    relay holds since the part's last reset (the page's stream resumes after those
    events); once it has ended, the rows hold the text."""
    parts = list(ReviewPart.objects.filter(review=review).order_by("index"))
    texts = {}
    if relay_events is not None:
        texts, _ = ev.texts_since_reset(relay_events)
    for part in parts:
        part.live_text = texts.get(part.index, part.text if relay_events is None else "")
        if review.is_final and part.status in PART_ACTIVE:
            # The review ended without this part finishing (its worker was lost).
            part.status, part.status_note = "failed", "stopped with the review"
        elif review.is_final and part.status == "queued":
            part.status_note = "not sent"
        part.retryable = review.is_final and (
            part.status in ("failed", "cancelled")
            or (part.status == "queued" and not part.is_synthesis)
        )
        # Sanitized by render_report, as the report is.
        part.html = mark_safe(render_report(part.text)) if review.is_final else ""  # noqa: S308
    return parts


def render_live_parts(review_id):
    """The sections the `parts` event draws: every part, from its row."""
    from reviewer.reviews.models import Review

    review = Review.objects.get(pk=review_id)
    context = {"review": review, "parts": parts_for_page(review), "live": True}
    return render_to_string("splits/_live_parts.html", context)


def reset_html(index):
    n = int(index) + 1
    return f'<pre class="stream part-stream" sse-swap="part{n}-delta" hx-swap="beforeend"></pre>'


async def frame(review_id, event, sse):
    """SSE text for one split event (see events.py); `sse` frames it."""
    if event.kind == ev.PARTS:
        return sse(event.id, "parts", await sync_to_async(render_live_parts)(review_id))
    import html

    index, payload = ev.parse(event.data)
    data = reset_html(index) if event.kind == ev.PART_RESET else html.escape(payload)
    return sse(event.id, ev.sse_name(event.kind, index), data)


def _part(request, pk, number):
    review = get_review_for_user(request.user, pk, Role.MEMBER)
    if number < 1 or not ReviewPart.objects.filter(review=review, index=number - 1).exists():
        raise Http404("No such part.")
    return review


@login_required
@require_POST
def part_retry(request, pk, number):
    review = _part(request, pk, number)
    retry_part(review, number - 1)
    return redirect(review)


@login_required
@require_POST
def part_cancel(request, pk, number):
    review = _part(request, pk, number)
    stopped = cancel_part(review, number - 1)
    if request.htmx:
        return HttpResponse("stopping…" if stopped else "already ended")
    return redirect(review)
