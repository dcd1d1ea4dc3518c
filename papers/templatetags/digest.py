"""Template helpers shared by the public pages."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def site_name():
    return settings.SITE_NAME


@register.filter
def period(issue):
    """An issue's period as readers read dates in Chinese: 2024年6月16日–30日."""
    start, end = issue.period_start, issue.period_end
    if start.year != end.year:
        return f"{start.year}年{start.month}月{start.day}日–{end.year}年{end.month}月{end.day}日"
    if start.month != end.month:
        return f"{start.year}年{start.month}月{start.day}日–{end.month}月{end.day}日"
    return f"{start.year}年{start.month}月{start.day}日–{end.day}日"
