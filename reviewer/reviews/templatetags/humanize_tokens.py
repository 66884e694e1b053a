from django import template

register = template.Library()


@register.filter
def tokens(value):
    """12345 -> "12,345"; None -> "—"."""
    if value is None:
        return "—"
    return f"{int(value):,}"
