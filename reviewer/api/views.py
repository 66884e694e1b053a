"""The JSON API for CI, and the page where people manage their API tokens."""

import functools

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from reviewer.reviews.access import aget_review_for_user, get_review_for_user
from reviewer.reviews.models import Project
from reviewer.runs import library_settings
from reviewer.teams.access import teams_for
from reviewer.teams.tokens import hash_token, new_token
from reviewer.throttle import over_limit

from .auth import (
    UNAUTHORIZED,
    aauthenticate_api_request,
    authenticate_api_request,
    bearer_token,
)
from .forms import ApiTokenForm
from .models import ApiToken


def error(message, status):
    return JsonResponse({"error": message}, status=status)


def _unauthorized():
    response = error(UNAUTHORIZED, 401)
    response["WWW-Authenticate"] = 'Bearer realm="reviewer"'
    return response


def _rate_limited(request):
    """Counts this call against its token's limit; a 429 once the limit is spent."""
    seconds = over_limit(
        "api",
        (hash_token(bearer_token(request)),),
        settings.API_RATE_LIMIT_PER_MINUTE,
        settings.API_RATE_WINDOW_SECONDS,
    )
    if not seconds:
        return None
    unit = "second" if seconds == 1 else "seconds"
    response = error(f"Too many requests with this token; try again in {seconds} {unit}.", 429)
    response["Retry-After"] = str(seconds)
    return response


def api_view(*methods):
    """Token authentication, allowed methods, the token's rate limit and JSON errors for
    one API view, sync or async."""

    def decorate(view):
        if iscoroutinefunction(view):

            @csrf_exempt  # as below
            @functools.wraps(view)
            async def async_wrapper(request, *args, **kwargs):
                user = await aauthenticate_api_request(request)
                refused = await sync_to_async(_refusal)(request, methods, user)
                if refused:
                    return refused
                request.user = user
                try:
                    return await view(request, *args, **kwargs)
                except (Http404, RequestDataTooBig) as exc:
                    return _json_error(exc)

            return async_wrapper

        @csrf_exempt  # token-authenticated only: a browser's cookies never authenticate here
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            user = authenticate_api_request(request)
            refused = _refusal(request, methods, user)
            if refused:
                return refused
            request.user = user
            try:
                return view(request, *args, **kwargs)
            except (Http404, RequestDataTooBig) as exc:
                return _json_error(exc)

        return wrapper

    return decorate


def _refusal(request, methods, user):
    """The answer for a call that may not go on (wrong method, no valid token, over the
    token's limit), or None."""
    return _wrong_method(request, methods) or (
        _unauthorized() if user is None else _rate_limited(request)
    )


def _wrong_method(request, methods):
    if request.method in methods:
        return None
    response = error(f"Use {' or '.join(methods)} here.", 405)
    response["Allow"] = ", ".join(methods)
    return response


def _json_error(exc):
    if isinstance(exc, Http404):
        return error("No such object, or you have no access to it.", 404)
    return error("The request is too large.", 413)


def _absolute(path):
    return settings.SITE_URL.rstrip("/") + path


def _number(value):
    return float(value) if value is not None else None


def _time(value):
    return value.isoformat() if value else None


def _estimated_input(review):
    return ((review.pack_summary or {}).get("budget") or {}).get("total_input_tokens")


def _repository_json(review):
    """For a review by URL: the URL as shown (never with credentials), the branch, tag
    or commit asked for (null: the default branch) and the commit fetched (null until
    then)."""
    if not review.repo_url:
        return None
    return {
        "url": review.repo_url,
        "ref": review.repo_ref or None,
        "commit": review.commit_sha or None,
    }


def review_json(review):
    return {
        "id": review.pk,
        "project": review.project_id,
        "status": review.status,
        "status_note": review.status_note,
        "model": review.model,
        "archive": {
            "name": review.archive_name,
            "sha256": review.archive_sha256,
            "size": review.archive_size,
        },
        "spec": {"name": review.spec_name, "pages": review.spec_pages},
        "repository": _repository_json(review),
        "usage": {
            "prompt_tokens": review.prompt_tokens,
            "completion_tokens": review.completion_tokens,
            # Our own count of what was sent: a gateway may report its estimate instead.
            "estimated_prompt_tokens": _estimated_input(review),
            "cached_prompt_tokens": review.cached_prompt_tokens,
        },
        "cost_usd": _number(review.cost_usd),
        "estimated_cost_usd": _number(review.estimated_cost_usd),
        "finish_reason": review.finish_reason or None,
        "truncated": review.finish_reason == "length",
        "error": review.error or None,
        "report": review.report,
        "mode": library_settings.snapshot_of(review).get("mode", "single"),
        "parts": [
            {
                "number": p.number,
                "merge": p.is_synthesis,
                "status": p.status,
                "files": p.files,
                "usage": {
                    "prompt_tokens": p.prompt_tokens,
                    "completion_tokens": p.completion_tokens,
                },
                "cost_usd": _number(p.cost_usd),
                "error": p.error or None,
            }
            for p in review.parts.order_by("index")
        ],
        "created_at": _time(review.created_at),
        "started_at": _time(review.started_at),
        "finished_at": _time(review.finished_at),
        "url": _absolute(review.get_absolute_url()),
        "events_url": _absolute(reverse("api_review_events", args=[review.pk])),
        "api_url": _absolute(reverse("api_review", args=[review.pk])),
        "findings_url": _absolute(reverse("api_review_findings", args=[review.pk])),
    }


@api_view("GET")
def projects(request):
    rows = Project.objects.filter(team__in=teams_for(request.user)).select_related("team")
    return JsonResponse(
        {
            "projects": [
                {
                    "id": p.pk,
                    "name": p.name,
                    "team": p.team.name,
                    "model": p.model,
                    "url": _absolute(p.get_absolute_url()),
                    "reviews_url": _absolute(reverse("api_review_create", args=[p.pk])),
                }
                for p in rows
            ]
        }
    )


def _form_error(form):
    """The form's first problem as one plain sentence."""
    for name, errors in form.errors.as_data().items():
        for err in errors:
            if err.code == "required":
                return f"The {form.fields[name].label.lower()} is missing."
            if err.code == "invalid_choice":
                return f"Unknown model “{form.data.get(name)}”."
            return " ".join(err.messages)
    return "The upload is not valid."


def _form_problem(form):
    """The form's first problem as one plain sentence, and its status."""
    too_large = any(e.code == "too_large" for errs in form.errors.as_data().values() for e in errs)
    return _form_error(form), 413 if too_large else 400


@api_view("POST")
async def review_create(request, pk):
    from reviewer.intake.services import (
        UploadRejected,
        asubmit_review,
        asubmit_url_review,
        bound_upload_form,
    )

    user = request.user
    project, form = await sync_to_async(
        lambda: bound_upload_form(user, pk, request.POST, request.FILES)
    )()
    if not form.is_valid():
        return error(*_form_problem(form))
    data = form.cleaned_data
    model, mode = data.get("model"), data.get("mode")
    try:
        if form.by_url:
            review = await asubmit_url_review(
                project, user, data["repo_url"], data["ref"], data["spec"], model, mode=mode
            )
        else:
            review = await asubmit_review(
                project, user, data["archive"], data["spec"], model, mode=mode
            )
    except UploadRejected as exc:
        return error(exc.message, exc.status)
    return await sync_to_async(_created)(review)


def _created(review):
    body = review_json(review)
    keys = ("id", "status", "url", "events_url", "api_url")
    response = JsonResponse({key: body[key] for key in keys}, status=201)
    response["Location"] = body["api_url"]
    return response


@api_view("POST")
def review_refetch(request, pk):
    """A new review of a review by URL's repository at the latest commit of the same
    branch or tag, with the same specification, model and patterns (member or above)."""
    from reviewer.intake.services import UploadRejected, clone_review
    from reviewer.teams.models import Role

    review = get_review_for_user(request.user, pk, Role.MEMBER)
    if not review.repo_url:
        return error("This review is of an uploaded archive, not of a repository URL.", 400)
    try:
        clone = clone_review(review, request.user, refetch=True)
    except UploadRejected as exc:
        return error(exc.message, exc.status)
    return _created(clone)


@api_view("GET")
def review_detail(request, pk):
    return JsonResponse(review_json(get_review_for_user(request.user, pk)))


@api_view("GET")
async def review_events(request, pk):
    """The page's SSE stream, authenticated by the bearer token instead of the session;
    counted against the token's limit once, when it opens."""
    from reviewer.streams import views as stream

    user = request.user
    await aget_review_for_user(user, pk)

    async def auser():
        return user

    # The stream view reads the user from the request; here that is the token's user.
    request.auser = auser
    return await stream.review_events(request, pk, rendered=False)


# -- token management (session-authenticated pages) --------------------------------------
def get_token_for_user(user, pk):
    return get_object_or_404(ApiToken, pk=pk, user=user)


def _tokens_page(request, form, status=200, **extra):
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"tokens": tokens, "form": form, "site_url": settings.SITE_URL, **extra}
    return render(request, "api/tokens.html", context, status=status)


NEW_TOKEN_KEY = "new_api_token"  # noqa: S105 - a session key, not a secret


@login_required
@require_GET
def tokens(request):
    # A token just created is shown once, here, after the redirect: a reload neither shows
    # it again nor creates another.
    shown = request.session.pop(NEW_TOKEN_KEY, None)
    extra = {}
    if shown:
        row = ApiToken.objects.filter(pk=shown["id"], user=request.user).first()
        if row is not None:
            extra = {"new_token": shown["token"], "new_token_row": row}
    return _tokens_page(request, ApiTokenForm(), **extra)


@login_required
@require_POST
def token_create(request):
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=400)
    token, token_hash = new_token(ApiToken.PREFIX)
    api_token = ApiToken.objects.create(
        user=request.user,
        name=form.cleaned_data["name"],
        token_hash=token_hash,
        hint=token[: len(ApiToken.PREFIX) + 4],
    )
    # Shown on the next page only (the session keeps it until then); the database keeps
    # the hash.
    request.session[NEW_TOKEN_KEY] = {"id": api_token.pk, "token": token}
    messages.success(request, f"Token “{api_token.name}” created.")
    return redirect("api_tokens")


@login_required
@require_POST
def token_revoke(request, pk):
    api_token = get_token_for_user(request.user, pk)
    if api_token.revoked_at is None:
        api_token.revoked_at = timezone.now()
        api_token.save(update_fields=["revoked_at"])
    messages.success(request, f"Token “{api_token.name}” revoked.")
    return redirect("api_tokens")
