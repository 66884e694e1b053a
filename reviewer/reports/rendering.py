"""Model output is untrusted: Markdown is rendered with raw HTML disabled, then the
result is sanitized again with an allow-list, so neither layer alone has to be right."""

import html
import re

import nh3
from django.urls import reverse
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}, "ol": {"start"}}


def render_report(markdown_text):
    html = _markdown.render(markdown_text or "")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_TAG = re.compile(r"(<[^>]*>)")
_CITATION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.[\w]+):(\d{1,6})(?:[-–](\d{1,6}))?")


def linkify_citations(report_html, review_id, paths):
    """Turns `path:line` in sanitized report HTML into links to that line of the uploaded
    code, for paths the model was actually sent (with or without the archive's top folder).
    Only text between tags is touched, never attributes, and never inside a link."""
    known = set(paths)
    if not known:
        return report_html

    def resolve(path):
        if path in known:
            return path
        tail = path.partition("/")[2]
        return tail if tail in known else None

    def link(match):
        path = resolve(html.unescape(match.group(1)))
        if path is None:
            return match.group(0)
        url = reverse("review_source", args=[review_id, path]) + f"#L{match.group(2)}"
        return f'<a href="{html.escape(url)}" class="citation">{match.group(0)}</a>'

    out, inside_link = [], 0
    for piece in _TAG.split(report_html):
        if piece.startswith("<"):
            if re.match(r"<a[\s>]", piece):
                inside_link += 1
            elif piece.startswith("</a"):
                inside_link = max(0, inside_link - 1)
            out.append(piece)
        else:
            out.append(piece if inside_link else _CITATION.sub(link, piece))
    return "".join(out)


def report_context(user, review):
    """Template context for `reviews/_report.html`."""
    from reviewer.findings.display import findings_context
    from reviewer.teams.access import role_flags

    return {
        **findings_context(review, user),
        "review": review,
        # Sanitized by render_report; the citation links are built from escaped parts.
        "report_html": mark_safe(  # noqa: S308
            linkify_citations(
                render_report(review.report),
                review.pk,
                review.pack_summary.get("included_paths", []),
            )
        ),
        **role_flags(user, review.project.team),
    }
