"""Hostile content in a real browser: no vector runs, on any page that shows it.

tests/security/test_hostile_content.py parses every surface with Python's HTML
tokenizer; a browser's parser is the one that matters, and it differs in the
corners mutation XSS lives in. So here Chromium loads the public pages, the
staff preview, the live Markdown preview and the admin pages holding the whole
corpus, and the test fails if any script runs:

- a sentinel is installed before any page script (``add_init_script``, in
  every frame): ``window.__xss`` records a hit, and ``alert``, ``confirm``,
  ``prompt`` and ``print`` call it; each vector calls one of them;
- any dialog that still opens is recorded;
- console messages carrying the sentinel's mark are recorded (frames of
  another origin report that way);
- after each load, a DOM audit in the page itself lists what could still run
  on a click or a hover (event-handler attributes, javascript:/data: URLs,
  frames, objects, foreign scripts), as the browser parsed it.

The site sends a Content-Security-Policy that would block most inline script
anyway. That is a second line; this test proves the first (escaping and
sanitising), so the walk strips the header from every response. A self-check
injects vectors unescaped into a real page, through the same route and with
the header stripped the same way, and shows the detector sees them run.
"""

import datetime
from unittest import mock

import pytest
import reversion
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from papers import search
from papers.models import Entry, Issue, Section, Tag
from reading import pages
from tests.security.xss_vectors import PAPER_IDS, VECTORS, joined, pack

pytestmark = pytest.mark.django_db(transaction=True)

MARK = "XSS-SENTINEL"
SENTINEL = f"""
(() => {{
  const hits = [];
  Object.defineProperty(window, "__xssHits", {{value: hits}});
  const hit = (how) => (...args) => {{
    hits.push(how + "(" + args.map(String).join(",") + ")");
    console.error("{MARK} " + how + " " + args.map(String).join(","));
  }};
  window.__xss = hit("__xss");
  for (const name of ["alert", "confirm", "prompt", "print"]) {{
    window[name] = hit(name);
  }}
}})();
"""

# What could still run after the page has loaded, as the browser parsed it.
DOM_AUDIT = r"""
(staticPrefix) => {
  const found = [];
  const scriptUrl = (value) => {
    const url = String(value).replace(/[\u0000-\u0020\u007f]+/g, "").toLowerCase();
    return /^(javascript|vbscript|livescript):/.test(url) ||
      (url.startsWith("data:") && !/^data:image\/(png|gif|jpe?g|webp)[;,]/.test(url));
  };
  const urlAttributes = ["href", "src", "action", "formaction", "xlink:href", "data",
                         "poster", "background", "dynsrc", "lowsrc", "code", "codebase"];
  for (const element of document.querySelectorAll("*")) {
    const name = element.localName;
    const where = element.outerHTML.slice(0, 120);
    if (["iframe", "frame", "frameset", "object", "embed", "applet", "base",
         "portal"].includes(name)) {
      found.push(name + ": " + where);
    }
    if (name === "meta" && element.hasAttribute("http-equiv")) {
      found.push("meta http-equiv: " + where);
    }
    if (name === "script") {
      const src = element.getAttribute("src");
      const type = (element.getAttribute("type") || "").toLowerCase();
      const own = src !== null
        ? (new URL(element.src).origin === location.origin &&
           (new URL(element.src).pathname.startsWith(staticPrefix) ||
            new URL(element.src).pathname === "/admin/jsi18n/"))
        : ["application/ld+json", "application/json"].includes(type);
      if (!own) found.push("script: " + where);
    }
    for (const attribute of element.attributes) {
      const attr = attribute.name.toLowerCase();
      if (attr.startsWith("on")) found.push("handler " + attr + ": " + where);
      if (attr === "srcdoc") found.push("srcdoc: " + where);
      if (urlAttributes.includes(attr) && scriptUrl(attribute.value)) {
        found.push("url in " + attr + ": " + where);
      }
      if (attr === "style" && /expression\(|javascript:|behavior:|-moz-binding/i.test(
          attribute.value.replace(/\/\*.*?\*\/|\s/g, ""))) {
        found.push("style: " + where);
      }
    }
  }
  return found;
}
"""


def build_browser_archive(now):
    """The corpus in one published issue (every entry on one page), sections
    and tags packed as in the server-side test, a harmless first revision for
    the compare view, and a draft whose introduction holds every vector."""
    touched = set()
    with mock.patch.object(search, "index_entries", touched.update):
        count = len(VECTORS)
        section_of, tag_of = {}, {}
        for k, group in enumerate(pack(range(count), 100)):
            section = Section.objects.create(
                name=joined(group), slug=f"hostile-{k}", description=joined(group), position=100 + k
            )
            section_of |= dict.fromkeys(group, section)
        for k, group in enumerate(pack(reversed(range(count)), 100)):
            tag = Tag.objects.create(name=joined(group), slug=f"hostile-tag-{k}")
            tag_of |= dict.fromkeys(group, tag)
        title = joined(pack(range(count), 200)[0])
        with reversion.create_revision():
            issue = Issue.objects.create(
                title="第一版",
                slug="hostile",
                period_start=datetime.date(2024, 7, 1),
                period_end=datetime.date(2024, 7, 14),
                intro="导言。",
                status=Issue.Status.PUBLISHED,
                published_at=now - datetime.timedelta(hours=1),
                source_url="https://example.com/",
            )
        with reversion.create_revision():
            issue.title, issue.intro = title, "\n\n".join(VECTORS)
            issue.source_url = "javascript:alert('source') " + joined(range(5))
            issue.save()
            for i, vector in enumerate(VECTORS):
                # Every fifth paper by arXiv id (paper pages), the rest by their URL.
                arxiv_id = PAPER_IDS[i % len(PAPER_IDS)] if i % 5 == 0 else ""
                entry = Entry.objects.create(
                    issue=issue,
                    section=section_of[i],
                    position=i + 1,
                    title=vector,
                    authors=vector,
                    url=vector,
                    arxiv_id=arxiv_id,
                    summary=vector,
                )
                entry.tags.add(tag_of[i], tag_of[(i + 7) % count])
        draft = Issue.objects.create(
            title=title,
            slug="hostile-draft",
            period_start=datetime.date(2030, 1, 1),
            period_end=datetime.date(2030, 1, 14),
            intro="\n\n".join(VECTORS),
            source_url=VECTORS[0],
        )
        for i in (0, 43, 66):
            Entry.objects.create(
                issue=draft,
                section=section_of[i],
                position=i + 1,
                title=VECTORS[i],
                authors=VECTORS[i],
                url=VECTORS[i],
                summary=VECTORS[i],
            )
    search.index_entries(touched)
    return issue, draft


class Detector:
    """Everything a page did that a vector would do, gathered per page."""

    def __init__(self, page, base):
        self.page, self.base = page, base
        self.problems, self.dialogs, self.console = [], [], []
        page.on("dialog", self.on_dialog)
        page.on("console", self.on_console)
        page.add_init_script(SENTINEL)

    def on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}({dialog.message})")
        dialog.dismiss()

    def on_console(self, message):
        if MARK in message.text:
            self.console.append(message.text)

    def hits(self):
        """Sentinel calls in every frame of the page (those of another origin
        are only heard through the console)."""
        found = []
        for frame in self.page.frames:
            try:
                found += frame.evaluate("() => window.__xssHits ? [...window.__xssHits] : []")
            except Exception:
                continue
        return found

    def visit(self, url, settle_ms=400, audit=True):
        """Load ``url``, let timers and animations run, and record anything
        that ran or could run."""
        before = len(self.dialogs), len(self.console)
        response = self.page.goto(self.base + url, wait_until="load")
        if response is None or response.status != 200:
            self.problems.append(f"{url}: status {response and response.status}")
        self.page.wait_for_timeout(settle_ms)
        self.record(url, before, audit)

    def record(self, url, before, audit=True):
        ran = self.hits()
        ran += self.dialogs[before[0] :] + self.console[before[1] :]
        self.problems += [f"{url}: script ran: {hit}" for hit in dict.fromkeys(ran)]
        if audit:
            prefix = "/" + settings.STATIC_URL.lstrip("/")
            self.problems += [f"{url}: {h}" for h in self.page.evaluate(DOM_AUDIT, prefix)]


def strip_csp(route):
    """The response as the server sent it, without its Content-Security-Policy."""
    response = route.fetch()
    headers = {
        name: value
        for name, value in response.headers.items()
        if not name.lower().startswith("content-security-policy")
    }
    route.fulfill(response=response, headers=headers)


@pytest.fixture
def hostile_browser(live_server, browser):
    """A browser context signed in as staff (a session made by the test
    client, so django-axes is not involved), with the CSP header stripped."""
    issue, draft = build_browser_archive(timezone.now())
    user = User.objects.create_superuser("hostile-admin", "admin@example.com", "x")
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.route("**/*", strip_csp)
    yield page, Detector(page, live_server.url), issue, draft
    context.close()


def injecting(snippet):
    """A route handler that serves a real page with ``snippet`` printed
    unescaped into it, its headers (CSP too) stripped as in the walk."""

    def handle(route):
        response = route.fetch()
        body = response.text().replace("</main>", f"{snippet}</main>", 1)
        headers = {
            name: value
            for name, value in response.headers.items()
            if not name.lower().startswith("content-security-policy")
            and name.lower() != "content-length"
        }
        route.fulfill(response=response, body=body, headers=headers)

    return handle


SELF_CHECK = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(67)>",
    "<svg onload=alert(84)>",
    "<details open ontoggle=alert(98)>",
    "<svg><style><img src=x onerror=alert(110)></style></svg>",
    '<noscript><p title="</noscript><img src=x onerror=alert(114)>">',
]


def test_the_detector_sees_vectors_run_when_they_are_not_escaped(hostile_browser, live_server):
    """The test can fail: the same vectors printed raw into a real page run,
    and the detector reports them. With the CSP kept, the inline script does
    not run: the header is real, and stripping it is what lets the walk test
    the escaping rather than the policy."""
    page, detector, _, _ = hostile_browser
    for n, snippet in enumerate(SELF_CHECK):
        path = f"/sections/?self-check={n}"
        page.route(f"**{path}", injecting(snippet))
        detector.visit(path)
        ran = [p for p in detector.problems if p.startswith(path) and "script ran" in p]
        assert ran, f"the detector missed {snippet!r} running"
        page.unroute(f"**{path}")
    assert all(snippet in VECTORS for snippet in SELF_CHECK)

    response = page.request.get(live_server.url + "/sections/")
    if response.headers.get("content-security-policy"):
        with_policy = page.context.new_page()  # no route: the header stays
        with_policy.add_init_script(SENTINEL)

        def inject(route):
            body = route.fetch().text().replace("</main>", "<script>alert(2)</script></main>")
            route.fulfill(response=route.fetch(), body=body)

        with_policy.route("**/sections/?with-csp", inject)
        with_policy.goto(live_server.url + "/sections/?with-csp")
        assert with_policy.locator("main script").count() == 1  # it is there...
        assert with_policy.evaluate("() => [...window.__xssHits]") == []  # ...and blocked
        with_policy.close()


def test_no_vector_runs_on_any_page_that_shows_the_corpus(hostile_browser):
    page, detector, issue, draft = hostile_browser
    tag, section = Tag.objects.order_by("pk")[0], Section.objects.order_by("pk")[0]
    # Every public page in each language (reading/pages.py), then the
    # entries page by page, searched and filtered, and a second paper.
    urls = [url for language in pages.LANGUAGES for url in pages.example_urls(language).values()]
    urls += [
        "/en/entries/?page=2",
        "/entries/?q=alert",
        "/en/entries/?q=script",
        f"/entries/?tag={tag.slug}&section={section.slug}&issue={issue.slug}",
        f"/en/papers/{PAPER_IDS[1]}/",
    ]
    for url in urls:
        detector.visit(url)
        if url == f"/issues/{issue.slug}/":
            # The whole corpus is on this page, as text.
            titles = page.locator("article.entry .entry-title").all_inner_texts()
            assert len(titles) == len(VECTORS)
            assert {" ".join(t.split()) for t in titles} == {" ".join(v.split()) for v in VECTORS}
    # Feeds, the API and the sitemap as a browser shows them (XML and JSON
    # viewers): nothing may run; the DOM audit is for HTML pages.
    for url in [
        "/feeds/issues.atom",
        "/entries/feed.rss",
        "/api/entries?page_size=100",
        "/sitemap.xml",
    ]:
        detector.visit(url, settle_ms=100, audit=False)

    admin_pages = [
        reverse("admin:papers_issue_preview", args=[issue.pk]),
        reverse("admin:papers_issue_preview", args=[draft.pk]),
        reverse("admin:papers_issue_wechat", args=[draft.pk]),
        # The change form renders the live Markdown preview of the draft's
        # introduction (every vector) with innerHTML, from the server's HTML.
        reverse("admin:papers_issue_change", args=[draft.pk]),
        reverse("admin:papers_issue_changelist"),
        reverse("admin:papers_entry_changelist"),
        reverse("admin:papers_section_changelist"),
        reverse("admin:papers_tag_changelist"),
        reverse("admin:papers_entry_change", args=[draft.entries.first().pk]),
        reverse("admin:papers_issue_history", args=[issue.pk]),
    ]
    for url in admin_pages:
        detector.visit(url, settle_ms=800)
    change = reverse("admin:papers_issue_change", args=[draft.pk])

    # An editor types more into a summary: the preview follows, still inert.
    detector.visit(change, settle_ms=0)
    before = len(detector.dialogs), len(detector.console)
    page.locator("textarea[name$='summary']").first.fill("\n\n".join(reversed(VECTORS)))
    page.wait_for_timeout(1500)
    detector.record(f"{change} (typed)", before)
    previews = page.locator(".markdown-preview").all_inner_texts()
    assert len(previews) >= 2 and all(text.strip() for text in previews[:2]), "no live preview"

    newer, older = Version.objects.get_for_object(issue)[:2]
    detector.visit(
        reverse("admin:papers_issue_compare", args=[issue.pk])
        + f"?version_id1={older.pk}&version_id2={newer.pk}"
    )

    assert not detector.problems, "\n".join(detector.problems[:40])
