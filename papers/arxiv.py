"""The one definition of an arXiv identifier as this site stores it.

Editors paste ids in every form arXiv shows them: abstract or PDF URLs, with or
without a version, with an ``arXiv:`` prefix. The site stores the bare id
(``2406.15877``, or ``cs/0112017`` for the pre-2007 scheme) so that one paper is
one id, whichever issue covered it and however it was pasted.
"""

import re

from django.core.exceptions import ValidationError

# New scheme (April 2007 on): YYMM.NNNN, five digits from 2015 on.
NEW_STYLE = r"\d{4}\.\d{4,5}"
# Old scheme: archive(.SUBJECT-CLASS)/YYMMNNN, e.g. cs/0112017, math.GT/0309136.
OLD_STYLE = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7}"
# What a stored id looks like; also used by the URL converter for /papers/<id>/.
ARXIV_ID_PATTERN = rf"(?:{NEW_STYLE}|{OLD_STYLE})"

_INPUT = re.compile(
    r"""^\s*
    (?:
        (?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/  # a URL
      | arxiv:                                                          # a prefix
    )?
    (?P<id>"""
    + ARXIV_ID_PATTERN
    + r""")
    (?:v\d+)?            # a version: dropped
    (?:\.pdf)?           # a PDF URL's suffix
    /?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_STORED = re.compile(rf"^{ARXIV_ID_PATTERN}$")


def normalize_arxiv_id(value):
    """Return the bare arXiv id in ``value``, or raise ``ValidationError``.

    ``"https://arxiv.org/abs/2406.15877v2"``, ``"arXiv:2406.15877"`` and
    ``"2406.15877v1"`` all give ``"2406.15877"``. An empty value stays empty.
    """
    if value is None:
        return ""
    value = str(value).strip()
    if not value:
        return ""
    match = _INPUT.match(value)
    if match is None:
        raise ValidationError(
            "“%(value)s”不是 arXiv 编号。可用的写法如 2406.15877、arXiv:2406.15877v2、"
            "https://arxiv.org/abs/2406.15877 或 cs/0112017。",
            code="invalid_arxiv_id",
            params={"value": value[:100]},
        )
    arxiv_id = match.group("id")
    # The archive part of old-style ids is lower case, the subject class upper
    # case; a case-insensitive match may have seen either, so restore both.
    if "/" in arxiv_id:
        archive, number = arxiv_id.split("/")
        name, dot, subject = archive.partition(".")
        arxiv_id = f"{name.lower()}{dot}{subject.upper()}/{number}"
    return arxiv_id


def is_arxiv_id(value):
    """True when ``value`` is already a stored-form id (no URL, no version)."""
    return bool(_STORED.match(value or ""))


def abstract_url(arxiv_id):
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id):
    return f"https://arxiv.org/pdf/{arxiv_id}"


def html_url(arxiv_id):
    """The paper's HTML rendering, or "" when arXiv has none to link to.

    arXiv renders HTML from the LaTeX source only for papers submitted from
    December 2023 on (new-style ids from 2312); older papers' HTML links 404.
    """
    if "/" in arxiv_id or arxiv_id[:4] < "2312":
        return ""
    return f"https://arxiv.org/html/{arxiv_id}"
