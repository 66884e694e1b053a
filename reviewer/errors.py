"""Error pages that say in one sentence what happened and what to do next.

A page someone may not see answers 404 like a page that does not exist (so other teams'
objects are not disclosed); the sentence is therefore the same for both."""

from django.shortcuts import render

DENIED_OR_MISSING = (
    "This page does not exist, or your role in its team does not let you open it. "
    "If you think you should see it, ask an admin of the team."
)

# Sentences the views raise Http404 with that are written for people, by path prefix.
BY_PATH = [
    (
        "/s/",
        "This link does not work",
        "This share link has expired, was turned off or never existed. "
        "Ask whoever sent it for a new link.",
    ),
    (
        "/invites/",
        "This invitation does not work",
        "This invitation has expired, was revoked or has been used already. "
        "Ask an admin of the team for a new one.",
    ),
    (
        "/accounts/signup/",
        "Sign-up is closed",
        "Sign-up is closed on this server. Ask an administrator for an account.",
    ),
]

# Citations link to files of the archive: say which kind of miss it was.
SOURCE_SENTENCES = {
    "That file was not part of this review.": (
        "That file was not part of this review: only the files the model was sent can be "
        "opened from a citation."
    ),
    "That file can no longer be read.": (
        "That file can no longer be read: the review's uploads were deleted or damaged."
    ),
}


def _explain(request, exception):
    """(heading, sentence) for a 404."""
    message = exception.args[0] if exception and exception.args else ""
    if isinstance(message, str) and message in SOURCE_SENTENCES:
        return "File not available", SOURCE_SENTENCES[message]
    for prefix, heading, sentence in BY_PATH:
        if request.path.startswith(prefix):
            return heading, sentence
    return "Page not found", DENIED_OR_MISSING


def page_not_found(request, exception=None):
    heading, sentence = _explain(request, exception)
    context = {"heading": heading, "sentence": sentence}
    return render(request, "404.html", context, status=404)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)
