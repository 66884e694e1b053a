from django import template

from reviewer.packing.coverage import group_by_folder

register = template.Library()


@register.filter
def by_folder(dropped):
    """The dropped files of a pack summary, grouped by folder, most important first."""
    return group_by_folder(dropped or [])
