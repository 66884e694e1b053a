"""One filter for every number, date, token count and cost a page shows, so that they read
the same everywhere: `{{ value|fmt }}` (a count), `|fmt:"usd"`, `|fmt:"when"`, `|fmt:"date"`,
`|fmt:"seconds"`, and `{{ review|fmt:"tokens" }}` for "123,456 + 789"."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()

EMPTY = "—"


def count(value):
    """12345 -> "12,345"."""
    return f"{int(value):,}"


def usd(value):
    """Costs below a cent keep four decimals, larger ones two: "$0.0024", "$1.23"."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return EMPTY
    places = 4 if abs(amount) < 1 else 2
    return f"${amount:,.{places}f}"


def seconds(value):
    """95 -> "1 min 35 s"; a timedelta works too."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    total = round(float(value))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def tokens(review):
    """ "prompt + completion" of anything with those two attributes."""
    prompt = getattr(review, "prompt_tokens", None)
    completion = getattr(review, "completion_tokens", None)
    if prompt is None and completion is None:
        return EMPTY
    return f"{count(prompt or 0)} + {count(completion or 0)}"


def when(value):
    return date_format(timezone.localtime(value), "Y-m-d H:i")


def date(value):
    return date_format(timezone.localtime(value), "Y-m-d")


KINDS = {"usd": usd, "seconds": seconds, "tokens": tokens, "when": when, "date": date}


@register.filter
def fmt(value, kind="count"):
    if value is None or value == "":
        return EMPTY
    try:
        return KINDS.get(kind, count)(value)
    except (TypeError, ValueError):
        return str(value)
