"""Model output is untrusted: Markdown is rendered with raw HTML disabled, then the
result is sanitized again with an allow-list, so neither layer alone has to be right."""

import nh3
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


def report_context(user, review):
    """Template context for `reviews/_report.html`."""
    from reviewer.teams.access import membership_for
    from reviewer.teams.models import Role

    membership = membership_for(user, review.project.team) if user else None
    return {
        "review": review,
        "report_html": mark_safe(render_report(review.report)),  # noqa: S308 - sanitized above
        "can_run": bool(membership and membership.allows(Role.MEMBER)),
        "can_manage": bool(membership and membership.allows(Role.ADMIN)),
    }
