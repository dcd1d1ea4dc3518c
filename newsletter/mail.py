"""The issue as a mail: rendered once per (language, entries it holds), then
filled in per subscriber.

A mailing to 100,000 subscribers has a handful of distinct selections; the
templates and the CSS inliner run once for each, and each subscriber's
message only swaps the placeholders for its own signed links
(docs/newsletter.md).
"""

import html
import re
from email.utils import formatdate, make_msgid

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import tokens

# Stand-ins for a subscriber's own links while a selection is rendered once;
# only URL-safe characters, so that escaping and inlining leave them intact.
MANAGE_PLACEHOLDER = "NEWSLETTER-MANAGE-LINK-0c6f"
UNSUBSCRIBE_PLACEHOLDER = "NEWSLETTER-UNSUBSCRIBE-LINK-0c6f"
# ...and for the headers that differ per message, in the serialised message.
TO_PLACEHOLDER = "newsletter-to-0c6f@placeholder.invalid"
MESSAGE_ID_PLACEHOLDER = "<newsletter-message-id-0c6f@placeholder.invalid>"
DATE_PLACEHOLDER = "NEWSLETTER-DATE-0c6f"
# A line of the serialised message holding a placeholder stays far below
# SMTP's 998-byte limit once a link of a few hundred bytes replaces it.
_LONGEST_LINE_WITH_A_PLACEHOLDER = 400

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
    with placeholders for the subscriber's links; and, built once, the whole
    serialised message with placeholders for the per-message headers too."""

    def __init__(self, subject, html_body, text_body):
        self.subject, self.html_body, self.text_body = subject, html_body, text_body
        self._serialised = ...

    def serialised(self):
        """The message as bytes for SMTP, placeholders and all, or None when
        serialising changed a placeholder (a body with lines too long for
        8-bit transfer is quoted-printable, which may break one across lines):
        such a selection is built per message, the slow and sure way."""
        if self._serialised is ...:
            message = IssueMessage(
                self,
                to=TO_PLACEHOLDER,
                manage=MANAGE_PLACEHOLDER,
                unsubscribe=UNSUBSCRIBE_PLACEHOLDER,
            )
            message.extra_headers["Message-ID"] = MESSAGE_ID_PLACEHOLDER
            message.extra_headers["Date"] = DATE_PLACEHOLDER
            data = EmailMultiAlternatives.message(message).as_bytes(linesep="\r\n")
            self._serialised = data if self._keeps_placeholders(data) else None
        return self._serialised

    def _keeps_placeholders(self, data):
        bodies = self.text_body + self.html_body
        expected = {
            TO_PLACEHOLDER: 1,
            MESSAGE_ID_PLACEHOLDER: 1,
            DATE_PLACEHOLDER: 1,
            MANAGE_PLACEHOLDER: bodies.count(MANAGE_PLACEHOLDER),
            UNSUBSCRIBE_PLACEHOLDER: bodies.count(UNSUBSCRIBE_PLACEHOLDER) + 1,  # and the header
        }
        if any(data.count(p.encode()) != n for p, n in expected.items()):
            return False
        return all(
            len(line) <= _LONGEST_LINE_WITH_A_PLACEHOLDER
            for line in data.split(b"\r\n")
            if any(p.encode() in line for p in expected)
        )


class IssueMessage(EmailMultiAlternatives):
    """One subscriber's mail. Any mail backend can read its fields; for SMTP
    and the .eml folder, ``message()`` hands over the selection's serialised
    bytes with this message's values put in, instead of building the MIME
    tree again for each of 100,000 readers (docs/newsletter-benchmark.md)."""

    def __init__(self, rendered, *, to, manage, unsubscribe, connection=None):
        def personal(body):
            return body.replace(MANAGE_PLACEHOLDER, manage).replace(
                UNSUBSCRIBE_PLACEHOLDER, unsubscribe
            )

        super().__init__(
            subject=rendered.subject,
            body=personal(rendered.text_body),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            reply_to=[settings.NEWSLETTER_REPLY_TO] if settings.NEWSLETTER_REPLY_TO else None,
            headers=list_headers(unsubscribe),
            connection=connection,
        )
        self.attach_alternative(personal(rendered.html_body), "text/html")
        self.rendered, self.manage, self.unsubscribe = rendered, manage, unsubscribe

    def message(self):
        serialised = None
        # Placeholders are filled in verbatim: only for values that HTML
        # escaping and header encoding would leave as they are, and only
        # while the fields that were serialised are as they were (a test
        # mail changes the subject).
        unchanged = (self.subject, self.from_email) == (
            self.rendered.subject,
            settings.DEFAULT_FROM_EMAIL,
        )
        if unchanged and all(html.escape(link) == link for link in (self.manage, self.unsubscribe)):
            serialised = self.rendered.serialised()
        if serialised is None:
            return super().message()
        # The address last: a reader may type a placeholder into it, and a
        # value once put in must not be filled in again.
        values = {
            MESSAGE_ID_PLACEHOLDER: self.extra_headers["Message-ID"],
            DATE_PLACEHOLDER: formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
            MANAGE_PLACEHOLDER: self.manage,
            UNSUBSCRIBE_PLACEHOLDER: self.unsubscribe,
            TO_PLACEHOLDER: sanitize_address(self.to[0], self.encoding or settings.DEFAULT_CHARSET),
        }
        for placeholder, value in values.items():
            serialised = serialised.replace(placeholder.encode(), value.encode())
        return SerialisedMessage(serialised)


class SerialisedMessage:
    """What a mail backend asks of ``EmailMessage.message()``: its bytes."""

    def __init__(self, data):
        self.data = data

    def as_bytes(self, unixfrom=False, linesep="\n"):
        return self.data if linesep == "\r\n" else self.data.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom=False, linesep="\n"):
        return self.as_bytes(linesep=linesep).decode("utf-8", "surrogateescape")

    def get_charset(self):
        """None, so that Django's console backend reads the bytes as UTF-8, as they are."""
        return None


class MailRenderer:
    """Builds each subscriber's message for one issue, rendering each distinct
    (language, entries) selection once."""

    def __init__(self, issue):
        self.issue = issue
        self.entries = list(issue.entries.for_listing().in_issue_order())
        self._rendered = {}
        self._links = {}

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
            # On one line: a line break in a header is refused, which would
            # stop every message of the mailing.
            subject = f"{_(settings.SITE_NAME)} · {' '.join(self.issue.title.split())}"
            html_body = inline_css(
                absolute_links(render_to_string("newsletter/mail/issue.html", context))
            )
            text_body = render_to_string("newsletter/mail/issue.txt", context)
        return RenderedSelection(subject, html_body, text_body)

    def message_for(self, subscriber, connection=None):
        """The subscriber's message, with its own links and headers."""
        entries = self.entries_for(subscriber)
        token = tokens.manage_token(subscriber)
        return IssueMessage(
            self.rendered(subscriber.language, entries),
            to=subscriber.email,
            manage=self._link("newsletter:manage", subscriber.language, token),
            unsubscribe=self._link("newsletter:unsubscribe", settings.LANGUAGE_CODE, token),
            connection=connection,
        )

    def _link(self, name, language, token):
        """An absolute link with the subscriber's token, reversed once per
        (name, language) rather than once per subscriber."""
        key = (name, language)
        if key not in self._links:
            with translation.override(language):
                # Split the path only: the site's address may hold anything.
                self._links[key] = reverse(name, args=["TOKEN"]).split("TOKEN")
        before, after = self._links[key]
        return absolute(before + token + after)


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
