"""Hostile text for every field an editor writes: a corpus of XSS vectors.

Written for this project from the classic families of filter evasion (the
OWASP XSS Filter Evasion Cheat Sheet, the HTML5 Security Cheatsheet, mutation
XSS against sanitisers, polyglots) and from what is particular to this site:
Markdown links and images (summaries and introductions are Markdown), the
``</script>`` that ends the JSON-LD block, the ``]]>`` and control characters
that break XML feeds, BibTeX field breakouts, attribute breakouts for the
``<meta>``/``title=""`` contexts, and CSS expressions.

Every vector, if a browser ran it, calls the sentinel: ``alert``, ``confirm``
or ``prompt`` (the browser test replaces all three, and listens for dialogs)
or ``__xss`` directly; a few reach it through an encoding (entities, base64,
``String.fromCharCode``). So an executed vector is seen, never guessed at.

Constraints the tests rely on (checked in test_hostile_content.py):
- at most 100 characters, so each fits whole in every field, tag and section
  names (``max_length=100``) included;
- distinct even ignoring case, since tag names are unique ignoring case;
- no NUL, which PostgreSQL text cannot hold.
"""

# Plain <script>, and the ways filters fail to spot it.
SCRIPT_TAGS = [
    "<script>alert(1)</script>",
    "<ScRiPt>alert(2)</sCrIpT>",
    "<script>alert(3)//",
    "<script/xss>alert(4)</script>",
    "<script\t>alert(5)</script\t>",
    "<<script>alert(6);//<</script>",
    "<script>alert(String.fromCharCode(88,83,83))</script>",
    "<script src=data:,alert(7)></script>",
    '<script src="data:text/javascript,alert(8)"></script>',
    "<scr<script>ipt>alert(9)</scr</script>ipt>",
    "<scr<!-- -->ipt>alert(10)</script>",
    "<script>window.__xss('direct')</script>",
    "<script>eval('al'+'ert(11)')</script>",
    "<script>setTimeout('alert(12)')</script>",
    "<script>[].constructor.constructor('alert(13)')()</script>",
    "<%<!--'%><script>alert(14);</script -->",
    "<? echo('<script>alert(15)</script>'); ?>",
    "<!--[if gte IE 4]><script>alert(16)</script><![endif]-->",
]

# Ending the element or attribute the text is printed in, then a script:
# <title>, <textarea> (admin forms), <style>, comments, the JSON-LD <script>,
# CDATA in XML feeds, quoted and unquoted attributes (<meta content="">,
# title="" on links, value="" in admin inputs).
BREAKOUTS = [
    "</script><script>alert(17)</script>",
    "</SCRIPT ><script>alert(18)</script>",
    "<!--<script>alert(19)</script>",
    "</title><script>alert(20)</script>",
    "</textarea><script>alert(21)</script>",
    "</style><script>alert(22)</script>",
    "</noscript><img src=x onerror=alert(23)>",
    "--><script>alert(24)</script>",
    "--!><script>alert(25)</script>",
    "]]><script>alert(26)</script>",
    "<![CDATA[<script>alert(27)</script>]]>",
    ']]><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(28)</x:script>',
    '"><script>alert(29)</script>',
    "'><script>alert(30)</script>",
    '" onmouseover="alert(31)',
    "' onfocus='alert(32)' autofocus='",
    '" autofocus onfocus="alert(33)" x="',
    "x onmouseover=alert(34) ",
    '"><svg onload=alert(35)>',
    "'\"--></style></script></title></textarea><svg/onload=alert(36)>",
    '\\"><img src=x onerror=alert(37)>',
    '";alert(38);//',
    "';alert(39);//",
    "\\u003cscript\\u003ealert(40)\\u003c/script\\u003e",
    "${alert(41)}",
    "{{constructor.constructor('alert(42)')()}}",
    "</script\u2028><script>alert(43)</script>",
]

# URLs: what a link, an image or a form would run. They matter most in the URL
# fields (Issue.source_url, Entry.url), which pages print into href="".
URLS = [
    "javascript:alert(44)",
    "JaVaScRiPt:alert(45)",
    " javascript:alert(46)",
    "java\tscript:alert(47)",
    "java\nscript:alert(48)",
    "\x0bjavascript:alert(49)",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(50)",
    "&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(51)",
    "&#0000106avascript:alert(52)",
    "javascript&colon;alert(53)",
    "jav&#x09;ascript:alert(54)",
    "jav&#x0A;ascript:alert(55)",
    "jav&#x0D;ascript:alert(56)",
    "&#14;javascript:alert(57)",
    "vbscript:alert(58)",
    "data:text/html,<script>alert(59)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCg2MCk8L3NjcmlwdD4=",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoNjEpPg==",
    "javascript://%0Aalert(62)",
    "javascript:/*https://arxiv.org/*/alert(63)",
    'https://arxiv.org/abs/2406.15877"onmouseover="alert(64)',
    "//arxiv.org/%0d%0a<script>alert(65)</script>",
    "%3Cscript%3Ealert(66)%3C/script%3E",
]

# Images, media and event handlers: run on load, with no click needed.
EVENT_HANDLERS = [
    "<img src=x onerror=alert(67)>",
    "<IMG SRC=x ONERROR=alert(68)>",
    '<img src="x" onerror="alert(69)">',
    "<img src=x onerror=alert`70`>",
    "<img src=x:alert(71) onerror=eval(src)>",
    '<img """><script>alert(72)</script>">',
    "<img src=javascript:alert(73)>",
    "<img src=&#106;avascript:alert(74)>",
    '<img dynsrc="javascript:alert(75)">',
    '<img lowsrc="javascript:alert(76)">',
    '<img src=x onerror="&#97;lert(77)">',
    "<img/src/onerror=alert(78)>",
    "<img src=x onerror=alert(79)//",
    "<<img src=x onerror=alert(80)//<",
    "<img src=`x`onerror=alert(81)>",
    "<img src=x onerror=confirm(82)>",
    "<img src=x onerror=prompt(83)>",
    "<svg onload=alert(84)>",
    "<svg/onload=alert(85)>",
    "<body onload=alert(86)>",
    "<body onpageshow=alert(87)>",
    "<frameset onload=alert(88)>",
    "<input onfocus=alert(89) autofocus>",
    "<input type=image src=x onerror=alert(90)>",
    "<select autofocus onfocus=alert(91)>",
    "<textarea autofocus onfocus=alert(92)>",
    "<keygen autofocus onfocus=alert(93)>",
    "<x contenteditable onfocus=alert(94) autofocus>",
    "<video><source onerror=alert(95)>",
    "<video src=x onerror=alert(96)>",
    "<audio src=x onerror=alert(97)>",
    "<details open ontoggle=alert(98)>",
    "<marquee onstart=alert(99)>x</marquee>",
    '<div onmouseover="alert(100)">hover me</div>',
    "<isindex type=image src=1 onerror=alert(101)>",
    "<a href=x onclick=alert(102)>x</a>",
    '<a href="https://arxiv.org/" title="x" onclick="alert(103)">x</a>',
    "<abbr title=x onmouseover=alert(104)>x</abbr>",
]

# SVG and MathML: other namespaces, where sanitisers and parsers disagree.
FOREIGN_CONTENT = [
    "<svg><script>alert(105)</script></svg>",
    "<svg><script href=data:,alert(106) />",
    '<svg><a xlink:href="javascript:alert(107)"><text y=20>x</text></a></svg>',
    "<svg><animate onbegin=alert(108) attributeName=x dur=1s>",
    "<svg><a><set attributeName=href to=javascript:alert(109) /><text y=9>x</text></a>",
    "<svg><style><img src=x onerror=alert(110)></style></svg>",
    '<svg><foreignObject><iframe srcdoc="<script>parent.alert(111)</script>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(112)>",
    '<math href="javascript:alert(113)">x</math>',
    '<noscript><p title="</noscript><img src=x onerror=alert(114)>">',
    "<template><img src=x onerror=alert(115)></template>",
]

# Elements that load or embed something else, or change how the page is read.
EMBEDS = [
    '<iframe src="javascript:alert(116)"></iframe>',
    '<iframe srcdoc="&lt;script&gt;parent.alert(117)&lt;/script&gt;">',
    "<iframe src=data:text/html,<script>alert(118)</script>>",
    '<object data="javascript:alert(119)">',
    '<object data="data:text/html,<script>alert(120)</script>">',
    "<object><param name=src value=javascript:alert(121)></object>",
    '<embed src="javascript:alert(122)">',
    '<embed src="data:image/svg+xml,<svg onload=alert(123)>">',
    '<applet code="javascript:alert(124)">',
    '<form action="javascript:alert(125)"><input type=submit></form>',
    "<form><button formaction=javascript:alert(126)>x</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(127)">',
    '<meta http-equiv="refresh" content="0;url=data:text/html,<script>alert(128)</script>">',
    '<base href="javascript:alert(129)//">',
    '<link rel=stylesheet href="javascript:alert(130)">',
    '<link rel=import href="data:text/html,<script>alert(131)</script>">',
    '<table background="javascript:alert(132)">',
    '<td background="javascript:alert(133)">',
    '<bgsound src="javascript:alert(134)">',
    '<layer src="javascript:alert(135)"></layer>',
    '<br size="&{alert(136)}">',
]

# CSS: IE's expression(), url(javascript:), imports.
CSS = [
    '<div style="width:expression(alert(137))">x</div>',
    '<div style="background:url(javascript:alert(138))">x</div>',
    '<p style="x:ex/**/pression(alert(139))">x</p>',
    "<style>@import 'javascript:alert(140)';</style>",
    "<style>*{x:expression(alert(141))}</style>",
    '<xss style="behavior:url(#x)" onclick=alert(142)>x</xss>',
]

# Encodings that come back as markup if some layer decodes once too often.
ENCODED = [
    "&lt;script&gt;alert(143)&lt;/script&gt;",
    "&amp;lt;script&amp;gt;alert(144)&amp;lt;/script&amp;gt;",
    "\uff1cscript\uff1ealert(145)\uff1c/script\uff1e",
    "%253Cscript%253Ealert(146)%253C%252Fscript%253E",
    "&#60;img src=x onerror=alert(147)&#62;",
    "\\x3cscript\\x3ealert(148)\\x3c/script\\x3e",
]

# Markdown: summaries and introductions are Markdown, rendered and sanitised
# once at save (papers.markdown). Links, images, autolinks, references, code.
MARKDOWN = [
    "[x](javascript:alert(149))",
    "[x](JaVaScRiPt:alert(150))",
    "[x](&#106;avascript:alert(151))",
    "[x](javascript:alert%28152%29)",
    "[x](<javascript:alert(153)>)",
    '![x](x" onerror="alert(154))',
    "![x](javascript:alert(155))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxNTYpPC9zY3JpcHQ+)",
    "<javascript:alert(157)>",
    "[x][r]\n\n[r]: javascript:alert(158)",
    '[x](#"onmouseover="alert(159))',
    '[x](https://arxiv.org/ "t\\" onmouseover=\\"alert(160)")',
    "`<script>alert(161)</script>`",
    "```\n</code></pre><script>alert(162)</script>\n```",
    "    <script>alert(163)</script>",
    "> <img src=x onerror=alert(164)>",
    "* [x](vbscript:alert(165))",
    "| a |\n|---|\n| <img src=x onerror=alert(166)> |",
    "**<img src=x onerror=alert(167)>**",
    "[<img src=x onerror=alert(168)>](https://arxiv.org/)",
]

# Text for the other formats the site writes: BibTeX and TeX, feeds' entities.
OTHER_FORMATS = [
    "}, note = {<script>alert(169)</script>",
    "\\immediate\\write18{alert(170)}",
    '<!DOCTYPE x [<!ENTITY e "<script>alert(171)</script>">]>&e;',
    '<?xml-stylesheet href="data:,alert(172)"?>',
]

VECTORS = [
    *SCRIPT_TAGS,
    *BREAKOUTS,
    *URLS,
    *EVENT_HANDLERS,
    *FOREIGN_CONTENT,
    *EMBEDS,
    *CSS,
    *ENCODED,
    *MARKDOWN,
    *OTHER_FORMATS,
]


# Placing the corpus: both hostile archives (the parsers' in
# tests/security/test_hostile_content.py, the browser's in
# tests/browser/test_hostile_content.py) fill their fields this way.

# The arXiv ids their entries cite, so that paper pages hold the corpus too.
PAPER_IDS = [f"2406.9{k:04d}" for k in range(6)]
# Between the vectors packed into one field.
SEPARATOR = " "


def pack(indexes, limit):
    """Vectors (by index) grouped greedily so that each group, joined, fits
    ``limit`` characters: many vectors per name, none of them cut."""
    groups, current = [], []
    for i in indexes:
        candidate = [*current, i]
        if current and len(SEPARATOR.join(VECTORS[j] for j in candidate)) > limit:
            groups.append(current)
            candidate = [i]
        current = candidate
    return [*groups, current] if current else groups


def joined(group):
    return SEPARATOR.join(VECTORS[i] for i in group)
