"""Share links (owner/admin), the public shared page, and report exports."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from reviewer.reports.exports import EXPORT_CSP, export_filename, report_html, report_markdown
from reviewer.reports.rendering import render_report
from reviewer.reports.sharing import (
    active_link,
    enable_link,
    get_shared_review,
    regenerate_link,
    revoke_links,
)
from reviewer.reviews.access import get_review_for_user
from reviewer.teams.models import Role

EXPIRY_CHOICES = [
    ("1", "1 day"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("", "Never"),
]
# A link is a standing disclosure: it ends on its own unless someone chooses otherwise.
DEFAULT_EXPIRY = "30"


class ShareForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("enable", "regenerate", "revoke")])
    expires_in_days = forms.TypedChoiceField(
        label="Expires after",
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, data=None):
        if data is not None and "expires_in_days" not in data:
            # A request that does not choose gets the default, not "never".
            data = data.copy()
            data["expires_in_days"] = DEFAULT_EXPIRY
        super().__init__(data)


@login_required
def review_share(request, pk):
    review = get_review_for_user(request.user, pk, Role.ADMIN)
    if request.method == "POST":
        form = ShareForm(request.POST)
        if form.is_valid():
            action = form.cleaned_data["action"]
            days = form.cleaned_data["expires_in_days"]
            if action == "enable":
                enable_link(review, request.user, days)
                messages.success(request, "The share link is on.")
            elif action == "regenerate":
                regenerate_link(review, request.user, days)
                messages.success(request, "A new share link replaced the old one.")
            else:
                revoke_links(review)
                messages.success(request, "The share link is off.")
            return redirect("review_share", review.pk)
        status = 400
    else:
        form, status = ShareForm(), 200
    link = active_link(review)
    context = {
        "review": review,
        "project": review.project,
        "link": link,
        "share_url": settings.SITE_URL.rstrip("/") + link.get_absolute_url() if link else "",
        "expiry_choices": EXPIRY_CHOICES,
        "expiry_selected": DEFAULT_EXPIRY if link is None or link.expires_at else "",
        "form": form,
    }
    return render(request, "sharing/manage.html", context, status=status)


@require_GET
def shared_review(request, token):
    """The public page: the sanitized report and its metadata, nothing else."""
    review = get_shared_review(token)
    context = {"review": review, "report_html": render_report(review.report)}
    response = render(request, "sharing/shared.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _download(body, content_type, filename):
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def review_export_markdown(request, pk):
    review = get_review_for_user(request.user, pk)
    return _download(
        report_markdown(review), "text/markdown; charset=utf-8", export_filename(review, "md")
    )


@login_required
@require_GET
def review_export_html(request, pk):
    review = get_review_for_user(request.user, pk)
    response = _download(
        report_html(review), "text/html; charset=utf-8", export_filename(review, "html")
    )
    response["Content-Security-Policy"] = EXPORT_CSP
    return response
