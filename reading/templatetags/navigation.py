"""The main navigation, drawn from the registry of public pages (reading.pages).

A page joins the navigation by having a ``nav_label`` there; the template only
says how a link looks.
"""

from django import template

from reading import pages

register = template.Library()


@register.inclusion_tag("includes/main_navigation.html", takes_context=True)
def main_navigation(context):
    """The navigation's links, the current page's (or its parent's) marked
    with aria-current. No request (an error page rendered without one): none
    is current."""
    match = getattr(context.get("request"), "resolver_match", None)
    return {"links": pages.navigation(match.url_name if match else None)}
