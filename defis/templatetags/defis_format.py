from django import template

from defis.money import format_euros

register = template.Library()


@register.filter
def euros(value):
    return format_euros(value)
