"""The issue as a mail: rendered once per (language, entries it holds), then
filled in per subscriber.

A mailing to 100,000 subscribers has a handful of distinct selections; the
templates and the CSS inliner run once for each, and each subscriber's
message only swaps the placeholders for its own signed links
(docs/newsletter.md).
"""

import html
import re
from email.utils import make_msgid

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import tokens

# Stand-ins for a subscriber's own links while a selection is rendered once;
# only URL-safe characters, so that escaping and inlining leave them intact.
MANAGE_PLACEHOLDER = "NEWSLETTER-MANAGE-LINK-0c6f"
UNSUBSCRIBE_PLACEHOLDER = "NEWSLETTER-UNSUBSCRIBE-LINK-0c6f"

_inliner = css_inline.CSSInliner(
    keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False
)


def absolute(path):
    return settings.SITE_URL + path


# A link to a page of the site, as Markdown and our templates write it ("/tags/rag/").
_SITE_RELATIVE_LINK = re.compile(r'(href|src)="/(?!/)')


def absolute_links(document):
    """Site-relative links made absolute: a mail has no page to be relative to.
    Our templates and the Markdown sanitiser always quote attributes with "."""
    return _SITE_RELATIVE_LINK.sub(lambda match: f'{match[1]}="{settings.SITE_URL}/', document)


def inline_css(document):
    """Styles from the template's <style> blocks into ``style=`` attributes
    (mail clients drop <style> or parts of it). A block marked
    ``data-css-inline="keep"`` (the dark-mode media query) stays as it is."""
    return _inliner.inline(document)


def manage_url(subscriber, language=None):
    with translation.override(language or subscriber.language):
        return absolute(reverse("newsletter:manage", args=[tokens.manage_token(subscriber)]))


def unsubscribe_url(subscriber):
    """The one-click address (RFC 8058): a POST there unsubscribes at once."""
    return absolute(reverse("newsletter:unsubscribe", args=[tokens.manage_token(subscriber)]))


class RenderedSelection:
    """Subject, HTML and text of one selection of an issue in one language,
    with placeholders for the subscriber's links."""

    def __init__(self, subject, html_body, text_body):
        self.subject, self.html_body, self.text_body = subject, html_body, text_body


class MailRenderer:
    """Builds each subscriber's message for one issue, rendering each distinct
    (language, entries) selection once."""

    def __init__(self, issue):
        self.issue = issue
        self.entries = list(issue.entries.for_listing().in_issue_order())
        self._rendered = {}

    def entries_for(self, subscriber):
        """The entries of this issue the subscriber receives: all of them, or
        those in a followed section or carrying a followed tag."""
        if subscriber.every_issue:
            return self.entries
        sections = {section.pk for section in subscriber.sections.all()}
        tags = {tag.pk for tag in subscriber.tags.all()}
        return [
            entry
            for entry in self.entries
            if entry.section_id in sections or any(tag.pk in tags for tag in entry.tags.all())
        ]

    def rendered(self, language, entries):
        key = (language, tuple(entry.pk for entry in entries))
        if key not in self._rendered:
            self._rendered[key] = self._render(language, entries)
        return self._rendered[key]

    def _render(self, language, entries):
        with translation.override(language):
            groups = []
            for entry in entries:
                if groups and groups[-1][0] == entry.section:
                    groups[-1][1].append(entry)
                else:
                    groups.append((entry.section, [entry]))
            context = {
                "issue": self.issue,
                "issue_url": absolute(self.issue.get_absolute_url()),
                "sections": groups,
                "whole_issue": len(entries) == len(self.entries),
                "site_name": _(settings.SITE_NAME),
                "site_url": absolute(reverse("reading:home")),
                "manage_url": MANAGE_PLACEHOLDER,
                "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
                "language": language,
            }
            subject = f"{_(settings.SITE_NAME)} · {self.issue.title}"
            html_body = inline_css(
                absolute_links(render_to_string("newsletter/mail/issue.html", context))
            )
            text_body = render_to_string("newsletter/mail/issue.txt", context)
        return RenderedSelection(subject, html_body, text_body)

    def message_for(self, subscriber, connection=None):
        """The subscriber's message, with its own links and headers."""
        entries = self.entries_for(subscriber)
        rendered = self.rendered(subscriber.language, entries)
        manage = manage_url(subscriber)
        unsubscribe = unsubscribe_url(subscriber)

        def personal(body, escape):
            fill = html.escape if escape else str
            return body.replace(MANAGE_PLACEHOLDER, fill(manage)).replace(
                UNSUBSCRIBE_PLACEHOLDER, fill(unsubscribe)
            )

        message = EmailMultiAlternatives(
            subject=rendered.subject,
            body=personal(rendered.text_body, escape=False),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[subscriber.email],
            reply_to=[settings.NEWSLETTER_REPLY_TO] if settings.NEWSLETTER_REPLY_TO else None,
            headers=list_headers(unsubscribe),
            connection=connection,
        )
        message.attach_alternative(personal(rendered.html_body, escape=True), "text/html")
        return message


def list_headers(unsubscribe):
    """Message-ID, List-Id and the unsubscribe headers of RFC 2369 and RFC 8058."""
    targets = [f"<{unsubscribe}>"]
    if settings.NEWSLETTER_UNSUBSCRIBE_MAILTO:
        targets.append(f"<mailto:{settings.NEWSLETTER_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>")
    return {
        "Message-ID": make_msgid(domain=settings.NEWSLETTER_LIST_ID),
        "List-Id": f"<{settings.NEWSLETTER_LIST_ID}>",
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
