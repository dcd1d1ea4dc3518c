"""The main navigation, drawn from the registry of public pages (reading.pages).

A page joins the navigation by having a ``nav_label`` there; the template only
says how a link looks.
"""

from django import template

from reading import fragments, pages

register = template.Library()


@register.simple_tag(takes_context=True)
def main_navigation(context):
    """The navigation's links (includes/main_navigation.html), the current
    page's (or its parent's) marked with aria-current. No request (an error
    page rendered without one): none is current. The same on every page of a
    kind, so rendered once per process for each (reading.fragments)."""
    match = getattr(context.get("request"), "resolver_match", None)
    current = match.url_name if match else None

    def render():
        template = context.template.engine.get_template("includes/main_navigation.html")
        return template.render(context.new({"links": pages.navigation(current)}))

    return fragments.remember(("main_navigation", current, *fragments.environment()), render)
