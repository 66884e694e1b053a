from django import template

from .format import EMPTY, count

register = template.Library()


@register.filter
def tokens(value):
    """12345 -> "12,345"; None -> "—" (the same as `fmt`)."""
    if value is None:
        return EMPTY
    return count(value)
