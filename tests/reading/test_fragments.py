"""Entries kept in memory once rendered (reading.fragments) never show stale.

Each test renders pages with the memory warm, changes something a page shows
in one of the ways an archive changes (a save, ``QuerySet.update()``, which
sends no signal, a tag added or renamed), and checks that the page shows the
change and is exactly the page rendered with the memory off.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from papers.models import Entry, Issue, Section, Tag
from reading import fragments, pages

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rendered_pages(settings):
    settings.PAGE_CACHE = False
    fragments.memory.clear()


@pytest.fixture
def entry(seed):
    return seed.entries.for_listing().in_issue_order().first()


def pages_of(entry):
    """The pages that print ``entry``, in both languages."""
    paths = [
        entry.issue.get_absolute_url(),
        "/",
        "/entries/",
        entry.section.get_absolute_url(),
        entry.get_paper_url(),
        *(tag.get_absolute_url() for tag in entry.tags.all()),
    ]
    urls = []
    for language in pages.LANGUAGES:
        with translation.override(language):
            urls += [path if language == "zh-hans" else f"/en{path}" for path in paths]
    return urls


def render(client, urls):
    responses = {url: client.get(url) for url in urls}
    assert all(response.status_code == 200 for response in responses.values()), responses
    return {url: response.content.decode() for url, response in responses.items()}


def assert_fresh(client, settings, urls, shown):
    """Pages from memory equal pages rendered afresh, and show ``shown``."""
    kept = render(client, urls)
    settings.ENTRY_FRAGMENTS_KEPT = 0
    fresh = render(client, urls)
    for url in urls:
        assert kept[url] == fresh[url], url
    assert all(shown in kept[url] for url in urls if not url.startswith("/en")), shown


def test_a_page_asked_again_prints_its_entries_from_memory(client, seed):
    url = seed.get_absolute_url()
    first = client.get(url).content
    hits = fragments.memory.hits
    assert client.get(url).content == first
    assert fragments.memory.hits > hits
    assert len(fragments.memory) >= 1


def test_memory_changes_no_query_count(client, seed, settings):
    """The same queries with the memory warm, cold and off."""
    urls = pages_of(seed.entries.for_listing().first())
    counts = []
    for kept in (settings.ENTRY_FRAGMENTS_KEPT, settings.ENTRY_FRAGMENTS_KEPT, 0):
        settings.ENTRY_FRAGMENTS_KEPT = kept
        with CaptureQueriesContext(connection) as queries:
            render(client, urls)
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2]


def test_an_entry_saved(client, settings, entry):
    urls = pages_of(entry)
    render(client, urls)
    entry.title = "A title saved just now"
    entry.summary = "刚刚保存的**摘要**。"
    entry.save()
    assert_fresh(client, settings, urls, "刚刚保存的<strong>摘要</strong>")


def test_an_entry_changed_without_a_signal(client, settings, entry):
    urls = pages_of(entry)
    render(client, urls)
    Entry.objects.filter(pk=entry.pk).update(
        title="Changed by update()", summary_html="<p>update() 写的摘要</p>"
    )
    assert_fresh(client, settings, urls, "update() 写的摘要")


def test_a_tag_added_removed_and_renamed(client, settings, entry):
    urls = pages_of(entry)
    render(client, urls)
    removed = entry.tags.all()[0]
    entry.tags.remove(removed)
    entry.tags.add("新加的标签")
    Tag.objects.filter(pk=entry.tags.get(name="新加的标签").pk).update(name="改名后的标签")
    urls = [url for url in urls if "/tags/" not in url]  # the removed tag's page may be gone
    assert_fresh(client, settings, urls, "改名后的标签")
    assert all(f">{removed.name}</a></li>" not in page for page in render(client, urls[:1]))


def test_a_section_renamed(client, settings, entry):
    urls = pages_of(entry)
    render(client, urls)
    Section.objects.filter(pk=entry.section_id).update(name="改名的栏目")
    assert_fresh(client, settings, urls, "改名的栏目")


def test_an_issue_retitled_and_its_dates_moved(client, settings, entry):
    urls = pages_of(entry)
    render(client, urls)
    issue = Issue.objects.get(pk=entry.issue_id)
    issue.title = "改过标题的一期"
    issue.period_start = issue.period_start.replace(day=1)
    issue.save()
    assert_fresh(client, settings, urls, "改过标题的一期")


def test_each_language_its_own_entries(client, settings, seed):
    """The Chinese page warms the memory; the English one must not reuse it."""
    path = seed.get_absolute_url()
    chinese = client.get(path).content.decode()
    english = client.get(f"/en{path}").content.decode()
    settings.ENTRY_FRAGMENTS_KEPT = 0
    assert client.get(f"/en{path}").content.decode() == english
    assert client.get(path).content.decode() == chinese
    assert english != chinese


def test_an_entry_loaded_without_its_tags_is_rendered_and_not_kept(client, seed):
    """Keying an entry whose tags were not prefetched would cost a query: such
    an entry is rendered as it is (its template asks for its tags) and kept nowhere."""
    entry = Entry.objects.select_related("issue", "section").get(pk=seed.entries.first().pk)
    assert fragments.entry_content(entry) is None
    with_tags = Entry.objects.for_listing().get(pk=entry.pk)
    assert fragments.entry_content(with_tags) is not None
    deferred = Entry.objects.for_listing().defer("authors").get(pk=entry.pk)
    assert fragments.entry_content(deferred) is None
