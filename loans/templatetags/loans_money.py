"""Template filters of the money pages."""

from django import template

register = template.Library()


@register.filter
def magnitude(value):
    """The amount without its sign: a balance paid in advance is shown as "7,00 € ahead"."""
    return abs(value) if value is not None else value
