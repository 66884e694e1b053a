"""One file of a review's archive, with line numbers, for checking the report's citations."""

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from reviewer.packing import PackingError, read_sent_file, read_source
from reviewer.reviews.access import aget_review_for_user
from reviewer.reviews.storage_files import local_copy
from reviewer.runs import library_settings


@login_required
async def review_source(request, pk, path):
    review = await aget_review_for_user(await request.auser(), pk)
    if path not in review.pack_summary.get("included_paths", []):
        # Only what the model was sent: nothing excluded, ignored or outside the archive.
        raise Http404("That file was not part of this review.")
    try:
        if review.sent_files:
            # The redacted copy the worker stored: one member, read through the zip's index.
            text = await asyncio.to_thread(_read_stored, review.sent_files, read_sent_file, path)
        else:
            # Reviews from before that copy: read the archive, off the shared sync thread.
            options = await sync_to_async(library_settings.pack_options_for_review)(review)
            text = await asyncio.to_thread(_read_stored, review.archive, read_source, path, options)
    except (PackingError, OSError):
        text = None
    if text is None:
        raise Http404("That file can no longer be read.")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    context = {"review": review, "project": review.project, "path": path, "lines": lines}
    context.update(cited_range(request.GET, len(lines), review))
    return await sync_to_async(render)(request, "reviews/source.html", context)


def _read_stored(fieldfile, read, *args):
    # From the storage, wherever it is: a bucket's copy is streamed to a temporary file
    # for this click and removed after it (the sent copy is small: the model's context).
    with local_copy(fieldfile) as local:
        return read(local, *args)


def cited_range(query, line_count, review):
    """`?lines=40-58&finding=7`: the range a finding cites, highlighted, and the way back."""
    start = end = None
    first, _, last = query.get("lines", "").partition("-")
    if first.isdigit():
        start = int(first)
        end = int(last) if last.isdigit() else start
        start, end = max(1, min(start, end)), min(line_count, max(start, end))
    finding = query.get("finding", "")
    back = review.get_absolute_url() + (f"#finding-{finding}" if finding.isdigit() else "")
    return {"cited_start": start, "cited_end": end, "finding_url": back if finding else ""}
