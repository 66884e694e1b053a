"""One file of a review's archive, with line numbers, for checking the report's citations."""

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from reviewer.packing import PackingError, read_sent_file, read_source
from reviewer.reviews.access import aget_review_for_user
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
            text = await asyncio.to_thread(read_sent_file, review.sent_files.path, path)
        else:
            # Reviews from before that copy: read the archive, off the shared sync thread.
            options = await sync_to_async(library_settings.pack_options_for_review)(review)
            text = await asyncio.to_thread(read_source, review.archive.path, path, options)
    except (PackingError, OSError):
        text = None
    if text is None:
        raise Http404("That file can no longer be read.")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    context = {"review": review, "project": review.project, "path": path, "lines": lines}
    return await sync_to_async(render)(request, "reviews/source.html", context)
