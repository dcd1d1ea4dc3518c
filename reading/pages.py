"""The public pages, listed once: the navigation, the sitemap and every test
or benchmark that walks "all the pages" read this registry.

Each page of reading/urls.py is one ``Page``, by URL name; so is the
newsletter's sign-up page (newsletter/urls.py), a public page like the others,
the same for every reader. A page knows how to find example arguments in
whatever database is there (the newest public issue, a tag in use...), so a
test can ask for the concrete addresses of every page (``example_urls``)
instead of writing its own list; a page added here is then read by all of
them, and tests/reading/test_pages.py fails when a route of these namespaces
is neither here nor in ``NOT_PAGES``, or a name here has no route.

The newsletter's other addresses (``NOT_PAGES``) belong to one reader each:
signed links out of a mail to confirm, manage or leave a subscription. They
are never cached and never in the navigation or the sitemap, and they have
nothing to show without a reader's link, so no walk of "all the pages" can
reach them; the newsletter's tests cover them.

The social cards (``issue_card``, ``paper_card``, reading.social_cards) are
in ``NOT_PAGES`` too: PNGs, not pages, whose address carries a hash of what
they show, so a page's arguments alone cannot name them; the issue and paper
pages link them in their head, and tests/reading/test_social_cards.py reads
them. They are not served through the page cache, which revalidates every
answer: a card's address never changes its content, so it is served for a
year, and its PNG is kept in the shared cache by that hash.

Feeds and BibTeX files are not pages of their own: they hang off the page
whose content they carry, and take its arguments.

The site-level routes (sitemap.xml, robots.txt, the JSON API and its schema,
/healthz, the language switch) are not here: they are served in one language,
are not HTML pages, never appear in the navigation or the sitemap, and each
has its own tests; the tests that read them too list them next to the
registry's pages.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from papers.models import Entry, Issue, Section, Tag

NAMESPACE = "reading"
NEWSLETTER = "newsletter"
# The URL namespaces whose every route is a page here or listed in NOT_PAGES.
NAMESPACES = (NAMESPACE, NEWSLETTER)
# Routes of those namespaces that are not pages (see the module docstring).
NOT_PAGES = frozenset(
    {
        f"{NEWSLETTER}:confirm",
        f"{NEWSLETTER}:manage",
        f"{NEWSLETTER}:unsubscribe",
        f"{NAMESPACE}:issue_card",
        f"{NAMESPACE}:paper_card",
    }
)
# reading/urls.py is mounted with i18n_patterns: every page is served in each.
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)


# Example arguments, from whatever data the database holds: each returns the
# URL's keyword arguments, or None when there is nothing public to show.


def newest_issue():
    """The newest public issue: the one any archive with an issue has, and the
    one readers land on from the home page."""
    issue = Issue.objects.published().newest_first().first()
    return issue and {"slug": issue.slug}


def first_tag():
    """The first public tag by name, as the tag index lists them."""
    tag = Tag.objects.published().order_by("name").first()
    return tag and {"slug": tag.slug}


def first_section():
    """The first public section, in the order issues print them."""
    section = Section.objects.published().in_issue_order().first()
    return section and {"slug": section.slug}


def newest_paper():
    """The first paper of the newest public issue that has an arXiv id."""
    entry = Entry.objects.published().exclude(arxiv_id="").newest_first().first()
    return entry and {"arxiv_id": entry.arxiv_id}


@dataclass(frozen=True)
class Page:
    """One public page: what the navigation, the sitemap and the tests need to know.

    ``arguments`` finds the URL's keyword arguments in the current database
    (None: the URL takes none). ``feeds`` and ``downloads`` are the URL names
    of the feeds and files that carry this page's content, with its
    arguments. ``nav_label`` puts the page in the main navigation under that
    label (Chinese, translated by gettext as the page is rendered);
    ``nav_parent`` names the navigation item marked as current on this page
    (an issue's page is under the archive). ``in_sitemap``: sitemap.xml lists
    the page (the pages with arguments once per public object, through their
    own sitemap in reading/sitemaps.py). ``namespace``: the URL namespace
    of the page and its feeds and files (the public site's, unless another
    app serves it).
    """

    name: str
    arguments: Callable[[], dict | None] | None = None
    feeds: tuple[str, ...] = ()
    downloads: tuple[str, ...] = ()
    nav_label: str | None = None
    nav_parent: str | None = None
    in_sitemap: bool = False
    languages: tuple[str, ...] = LANGUAGES
    namespace: str = NAMESPACE

    @property
    def view_name(self):
        return f"{self.namespace}:{self.name}"

    @property
    def url_names(self):
        """The page's own URL name, then its feeds' and files'."""
        return (self.name, *self.feeds, *self.downloads)

    @property
    def view_names(self):
        """``url_names`` with the namespace, as the resolver names them."""
        return tuple(f"{self.namespace}:{name}" for name in self.url_names)

    def example_arguments(self):
        """Keyword arguments that make this page answer 200 with the current data."""
        if self.arguments is None:
            return {}
        kwargs = self.arguments()
        if kwargs is None:
            raise LookupError(f"{self.view_name}: the database has nothing public to show on it")
        return kwargs

    def example_url(self, language=settings.LANGUAGE_CODE):
        """This page's address in ``language`` with its example arguments."""
        with translation.override(language):
            return reverse(self.view_name, kwargs=self.example_arguments())


# In the order of the navigation. The sitemap lists its pages in this order too.
PAGES = (
    Page("home", in_sitemap=True),
    Page(
        "issue_list",
        feeds=("issues_feed_atom", "issues_feed_rss"),
        nav_label=_("往期"),
        in_sitemap=True,
    ),
    Page(
        "issue_detail",
        newest_issue,
        downloads=("issue_bibtex",),
        nav_parent="issue_list",
        in_sitemap=True,
    ),
    Page(
        "entry_list",
        feeds=("entries_feed_atom", "entries_feed_rss"),
        nav_label=_("全部论文"),
        in_sitemap=True,
    ),
    Page(
        "paper_detail",
        newest_paper,
        downloads=("paper_bibtex",),
        nav_parent="entry_list",
        in_sitemap=True,
    ),
    Page("section_list", nav_label=_("栏目"), in_sitemap=True),
    Page(
        "section_detail",
        first_section,
        feeds=("section_feed_atom", "section_feed_rss"),
        nav_parent="section_list",
        in_sitemap=True,
    ),
    Page("tag_list", nav_label=_("标签"), in_sitemap=True),
    Page(
        "tag_detail",
        first_tag,
        feeds=("tag_feed_atom", "tag_feed_rss"),
        nav_parent="tag_list",
        in_sitemap=True,
    ),
    # Not in the sitemap so far: the sitemap has never listed it.
    Page("trends", nav_label=_("趋势")),
    # Linked from the footer of every page, the home page and each issue
    # rather than from the navigation, which leads through the archive.
    Page("subscribe", namespace=NEWSLETTER),
)
BY_NAME = {page.name: page for page in PAGES}


def url_names():
    """Every URL name the registry's pages and their feeds and files go by."""
    return {name for page in PAGES for name in page.url_names}


def view_names():
    """Every namespaced URL name the registry accounts for: its pages with
    their feeds and files, and ``NOT_PAGES``."""
    return {name for page in PAGES for name in page.view_names} | NOT_PAGES


def example_urls(language=settings.LANGUAGE_CODE, *, feeds=False, downloads=False):
    """{URL name: address} of every page served in ``language``, with its
    example arguments from the current database; with ``feeds`` and
    ``downloads``, its feeds and files too. Raises LookupError when the
    database has nothing public for a page that needs it."""
    urls = {}
    for page in PAGES:
        if language not in page.languages:
            continue
        kwargs = page.example_arguments()
        names = [page.name, *(page.feeds if feeds else ()), *(page.downloads if downloads else ())]
        with translation.override(language):
            urls.update(
                {name: reverse(f"{page.namespace}:{name}", kwargs=kwargs) for name in names}
            )
    return urls


@dataclass(frozen=True)
class NavigationLink:
    url: str
    label: str
    current: bool


def navigation(current_url_name):
    """The main navigation's links in the active language; ``current`` marks
    the link of the page shown (``current_url_name``) or of its ``nav_parent``."""
    current_page = BY_NAME.get(current_url_name)
    current = current_page and (current_page.nav_parent or current_page.name)
    return [
        NavigationLink(reverse(page.view_name), page.nav_label, page.name == current)
        for page in PAGES
        if page.nav_label
    ]
