from django import template

register = template.Library()


@register.simple_tag
def split_parts(review, relay_events=None):
    """The parts of a split review for its page ([] for a review in one request)."""
    if not review.pack_summary.get("split") and not review.parts.exists():
        return []
    from reviewer.splits.views import parts_for_page

    return parts_for_page(review, relay_events)
