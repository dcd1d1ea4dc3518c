"""How the site cites a paper: BibTeX for readers, schema.org JSON-LD for machines.

Citation keys are ``arxiv`` + the arXiv id (``arxiv2406.15877``,
``arxivcs/0112017``) rather than Google Scholar's ``zhuo2024bigcodebench``:
they depend on nothing an editor may still fill in or correct (authors, title),
so a key a reader has put in a manuscript keeps working, and two papers never
share one. A paper without an arXiv id is keyed ``url`` + a short hash of its
URL, stable for the same reason.
"""

import hashlib
import html
import json
import re

from django.conf import settings
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language

from papers import arxiv
from reading import fragments

# BibTeX's own month macros: every style and biblatex understand them.
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

# BibTeX counts braces even after a backslash, so ``\{`` would unbalance the
# field: braces become text commands, like the other characters TeX reads as
# commands rather than text.
_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_TEX_SPECIAL = re.compile("|".join(map(re.escape, _TEX_ESCAPES)))

# A URL is printed verbatim (\url, biblatex), so it is not TeX-escaped; only the
# characters that would break the .bib file's braces are percent-encoded, which
# leaves the address the same.
_URL_BRACES = str.maketrans({"{": "%7B", "}": "%7D", "\\": "%5C"})

# What Django's json_script escapes: no text in the JSON can then end the
# <script> element or open a comment. (Replaced one by one: str.translate
# with a table is slow on the long non-ASCII text of an issue's JSON-LD, and
# no replacement brings back a character of the table.)
_SCRIPT_ESCAPES = {"<": "\\u003C", ">": "\\u003E", "&": "\\u0026"}


def submission_month(arxiv_id):
    """(year, month) of a paper's first version, read from its id, or None.

    New-style ids (``2406.15877``) start with YYMM; old-style ones
    (``cs/0112017``) carry YYMM after the archive, 91-99 being the 1990s.
    """
    yymm = arxiv_id.rpartition("/")[2][:4]
    year, month = int(yymm[:2]), int(yymm[2:])
    if not 1 <= month <= 12:
        return None
    century = 1900 if "/" in arxiv_id and year >= 91 else 2000
    return century + year, month


def paper_key(entry):
    """What makes two entries the same paper: the arXiv id, else the URL."""
    return entry.arxiv_id or entry.url


def unique_papers(entries):
    """The first entry of each paper, in the given order."""
    first = {}
    for entry in entries:
        first.setdefault(paper_key(entry), entry)
    return list(first.values())


def escape_tex(text):
    """``text`` as literal characters in a BibTeX field, on one line."""
    return _TEX_SPECIAL.sub(lambda match: _TEX_ESCAPES[match.group()], " ".join(text.split()))


def citation_key(entry):
    if entry.arxiv_id:
        return f"arxiv{entry.arxiv_id}"
    digest = hashlib.sha1(entry.url.encode(), usedforsecurity=False).hexdigest()
    return f"url{digest[:10]}"


def bibtex_entry(entry):
    """One paper as a BibTeX ``@misc`` record, the form arXiv's own export uses."""
    fields = [("title", _braced(escape_tex(entry.title)))]
    authors = entry.author_names
    if authors:
        fields.append(("author", _braced(" and ".join(map(escape_tex, authors)))))
    if entry.arxiv_id:
        when = submission_month(entry.arxiv_id)
        if when:
            fields += [("year", _braced(str(when[0]))), ("month", MONTHS[when[1] - 1])]
        fields += [
            ("eprint", _braced(entry.arxiv_id)),
            ("archivePrefix", "{arXiv}"),
            ("url", _braced(arxiv.abstract_url(entry.arxiv_id))),
        ]
    elif entry.link:
        # Only a web address (papers.models.web_link): a reference manager
        # turns these fields into links too.
        url = entry.link.translate(_URL_BRACES)
        fields += [("howpublished", _braced(rf"\url{{{url}}}")), ("url", _braced(url))]
    body = "".join(f"  {name} = {value},\n" for name, value in fields)
    return f"@misc{{{citation_key(entry)},\n{body}}}\n"


def bibtex_for_entries(entries):
    """A .bib file of the papers of ``entries``, each once, in order."""
    return "\n".join(bibtex_entry(entry) for entry in unique_papers(entries))


def _braced(value):
    return "{" + value + "}"


def plain_text(markup, limit=200):
    """Stored HTML as text for meta tags and JSON-LD, where tags and
    entities would show as such; cut to ``limit`` characters.

    Worked out once per process for the same HTML, limit and language (that
    of the truncation mark), as entries' HTML is (reading.fragments):
    stripping tags is slow, and a page asks again at every render.
    """

    def text():
        stripped = " ".join(html.unescape(strip_tags(markup)).split())
        return Truncator(stripped).chars(limit)

    return fragments.remember(("plain_text", markup, limit, get_language()), text)


def scholarly_article(entry, absolute_url, keywords):
    """One paper as a schema.org ScholarlyArticle.

    The paper is in English; its description is the editors' Chinese summary,
    so that value carries its own language. ``absolute_url`` turns a path into
    a full URL (``request.build_absolute_uri``).
    """
    article = {
        "@type": "ScholarlyArticle",
        "name": entry.title,
        "headline": entry.title,
        "inLanguage": "en",
        "description": {"@value": plain_text(entry.summary_html), "@language": "zh-Hans"},
    }
    authors = entry.author_names
    if authors:
        article["author"] = [{"@type": "Person", "name": name} for name in authors]
    if keywords:
        article["keywords"] = keywords
    if not entry.arxiv_id:
        if entry.link:
            article["url"] = entry.link
        return article
    article |= {
        "url": absolute_url(entry.get_paper_url()),
        "sameAs": arxiv.abstract_url(entry.arxiv_id),
        "identifier": {"@type": "PropertyValue", "propertyID": "arXiv", "value": entry.arxiv_id},
    }
    when = submission_month(entry.arxiv_id)
    if when:
        article["datePublished"] = f"{when[0]}-{when[1]:02d}"
    return article


def publication_issue(issue, absolute_url):
    return {
        "@type": "PublicationIssue",
        "name": issue.title,
        "url": absolute_url(issue.get_absolute_url()),
        "datePublished": timezone.localdate(issue.published_at).isoformat(),
        "isPartOf": {"@type": "Periodical", "name": settings.SITE_NAME},
    }


def paper_json_ld(entries, absolute_url):
    """The paper page's ScholarlyArticle, from its entries, newest first.

    The issues that covered the paper are ``subjectOf`` (works about it): the
    paper is not part of them.
    """
    keywords = list(dict.fromkeys(tag.name for entry in entries for tag in entry.tags.all()))
    article = scholarly_article(entries[0], absolute_url, keywords)
    issues = {entry.issue_id: entry.issue for entry in entries}.values()
    article["subjectOf"] = [publication_issue(issue, absolute_url) for issue in issues]
    return {"@context": "https://schema.org", **article}


def issue_json_ld(issue, entries, absolute_url):
    """The issue page's papers, in order, as an ItemList of ScholarlyArticles.

    Each paper's article is made once per process for the same entry, tags
    and site address, as its HTML is (reading.fragments): it was a fifth of
    the time of an issue page. The articles kept are shared, never
    changed.
    """
    site = (absolute_url("/"), *fragments.environment())

    def article(entry):
        keywords = [tag.name for tag in entry.tags.all()]
        content = fragments.row(entry)
        key = content and ("scholarly_article", site, tuple(keywords), content)
        return fragments.remember(key, lambda: scholarly_article(entry, absolute_url, keywords))

    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": issue.title,
        "url": absolute_url(issue.get_absolute_url()),
        "numberOfItems": len(entries),
        "itemListElement": [
            {"@type": "ListItem", "position": position, "item": article(entry)}
            for position, entry in enumerate(entries, 1)
        ],
    }


def json_ld(data):
    """``data`` as JSON to print inside ``<script type="application/ld+json">``.

    Django's ``json_script`` escapes the same way but writes
    ``type="application/json"``, which search engines do not read as JSON-LD;
    so the template writes the element and this the escaped JSON.
    """
    text = json.dumps(data, ensure_ascii=False)
    for character, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(character, escaped)
    return mark_safe(text)
