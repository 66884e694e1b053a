"""The review's SSE stream. Async, so an open stream holds no thread."""

import html

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from ..access import aget_review_for_user
from ..hub import get_hub
from ..models import Review
from ..relay import DELTA, DONE, NOTE, STATUS, get_relay
from ..rendering import report_context


def _sse(event_id, kind, data):
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"id: {event_id}\nevent: {kind}\n{lines}\n"


async def _final_report_html(request, review_id):
    review = await Review.objects.select_related("project__team").aget(pk=review_id)

    def render():
        context = report_context(request.user, review)
        return render_to_string("reviews/_report.html", context, request=request)

    return await sync_to_async(render)()


async def _events(request, review_id, after):
    # Tells EventSource to reconnect quickly after a dropped connection.
    yield "retry: 1000\n\n"
    async for events in get_hub().subscribe(review_id, after):
        if not events:
            yield ": heartbeat\n\n"
            continue
        chunks = []
        for event in events:
            if event.kind == DELTA:
                chunks.append(_sse(event.id, DELTA, html.escape(event.data)))
            elif event.kind in (STATUS, NOTE):
                chunks.append(_sse(event.id, event.kind, html.escape(event.data)))
            elif event.kind == DONE:
                chunks.append(_sse(event.id, DONE, await _final_report_html(request, review_id)))
        yield "".join(chunks)


async def _only_done(request, review):
    yield _sse(review.report_event_id + 1, DONE, await _final_report_html(request, review.pk))


def _last_event_id(request):
    raw = request.headers.get("Last-Event-ID") or request.GET.get("lastEventId") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


@require_GET
async def review_events(request, pk):
    user = await request.auser()
    if not user.is_authenticated:
        from django.http import HttpResponse

        return HttpResponse("Log in to follow this review.", status=401)
    review = await aget_review_for_user(user, pk)
    after = _last_event_id(request)
    if review.is_final and not await get_relay().aread(review.pk, 0):
        # The relay's copy has expired; the stored report is the whole story.
        stream = _only_done(request, review)
    else:
        stream = _events(request, review.pk, after)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"
    return response
