"""The report as a Markdown download and as one self-contained HTML file."""

from django.conf import settings
from django.template.loader import render_to_string

from reviewer.reports.rendering import render_report

# The self-contained file carries its CSS inline and loads nothing: this policy applies
# when the browser shows it straight from the app, and forbids every script.
EXPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def export_filename(review, extension):
    # Built from our own ids only: user-supplied names never reach a header.
    return f"review-{review.pk}.{extension}"


def _usage_line(review):
    if review.prompt_tokens is None:
        return None
    cached = review.cached_prompt_tokens
    prompt = f"{review.prompt_tokens} prompt" + (f" (of which {cached} cached)" if cached else "")
    return f"{prompt} + {review.completion_tokens} completion tokens" + (
        f", ${review.cost_usd:.4f}" if review.cost_usd is not None else ""
    )


def _md_text(value):
    """A value on one Markdown metadata line: no newlines, Markdown punctuation escaped."""
    text = " ".join(str(value).split())
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


def _source_lines(review):
    if not review.repo_url:
        return [f"- Archive: {_md_text(review.archive_name)} (sha256 `{review.archive_sha256}`)"]
    ref = _md_text(review.repo_ref) if review.repo_ref else "the default branch"
    commit = f"`{review.commit_sha}`" if review.commit_sha else "not fetched"
    return [f"- Repository: {_md_text(review.repo_url)} ({ref}, commit {commit})"]


def report_markdown(review):
    lines = [
        f"# Review {review.pk} of {_md_text(review.project.name)}",
        "",
        *_source_lines(review),
        f"- Specification: {_md_text(review.spec_name)}"
        + (f" ({review.spec_pages} pages)" if review.spec_pages else ""),
        f"- Model: {_md_text(review.model)}",
        f"- Status: {review.status}",
        f"- Date: {review.created_at:%Y-%m-%d %H:%M} UTC",
    ]
    usage = _usage_line(review)
    if usage:
        lines.append(f"- Usage: {usage}")
    if review.error:
        lines.append(f"- Error: {_md_text(review.error)}")
    lines += ["", "---", "", review.report or "_No report text._", ""]
    return "\n".join(lines) + _findings_markdown(review)


def _findings_markdown(review):
    from reviewer.findings.exports import findings_markdown

    table = findings_markdown(review)
    return f"\n---\n\n{table}" if table else ""


def _inline_css():
    return (settings.BASE_DIR / "static" / "css" / "export.css").read_text()


def report_html(review):
    return render_to_string(
        "sharing/export.html",
        {
            "review": review,
            "project": review.project,
            "report_html": render_report(review.report),
            "findings_html": render_report(_findings_markdown(review)),
            "usage": _usage_line(review),
            "inline_css": _inline_css(),
        },
    )
