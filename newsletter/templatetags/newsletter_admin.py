"""The mailing panel on an issue's admin page, drawn by newsletter.

The editors' desk and the newsletter never import each other: the issue's
change form only loads these tags. ``newsletter_panel`` sits inside the
issue's form; its buttons name forms that ``newsletter_forms`` draws after
it (forms cannot nest), as the page's own publish buttons do.
"""

from django import template

from newsletter import admin_views, delivery
from newsletter.models import Subscriber

register = template.Library()


@register.inclusion_tag("admin/newsletter/panel.html", takes_context=True)
def newsletter_panel(context, issue):
    user = context["request"].user
    if not admin_views.can_see_mailings(user):
        return {"shown": False}
    return {
        "shown": True,
        "issue": issue,
        "state": admin_views.mailing_state(issue),
        "can_send": delivery.can_send(user),
        "user_email": user.email,
        "languages": Subscriber.Language.choices,
        "poll_seconds": admin_views.POLL_SECONDS,
    }


@register.inclusion_tag("admin/newsletter/panel_forms.html", takes_context=True)
def newsletter_forms(context, issue):
    request = context["request"]
    return {
        "shown": delivery.can_send(request.user),
        "issue": issue,
        # The inclusion tag's own context has no token: hand it on.
        "csrf_token": context.get("csrf_token"),
    }
