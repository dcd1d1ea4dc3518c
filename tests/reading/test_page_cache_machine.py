"""The page cache is never stale, whatever editors do in whatever order (hypothesis).

A state machine edits a small archive through the models, so every change
goes through the same signals as the admin's: summaries and titles (emoji and
odd Unicode included), tags added and removed (emoji tags too), tags and
sections renamed, entries moved, added and deleted, issues published,
unpublished and scheduled, and time passing. After each step every public page
of the archive is read through the cache and rendered afresh with the cache
off: the two must be byte for byte the same. EXAMPLES and STEPS are bounded
for CI; ``PAGE_CACHE_FUZZ_EXAMPLES=200 PAGE_CACHE_FUZZ_STEPS=30`` runs longer.
"""

import datetime
import itertools
import os
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from papers.models import Entry, Issue, Section, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("PAGE_CACHE_FUZZ_EXAMPLES", "6"))
STEPS = int(os.environ.get("PAGE_CACHE_FUZZ_STEPS", "8"))
REAL_NOW = timezone.now

TEXT = st.text(
    alphabet=st.sampled_from(list("检索增强生成推理对齐幻觉模型 abcRAG🔥🧠★Ａ，。、<>&\"'\n")),
    min_size=1,
    max_size=30,
).filter(str.strip)
TAG_NAMES = st.sampled_from(["RAG", "rag", "检索增强", "🔥", "幻觉", "推理", "Ａ Ｂ", "对齐"])


class EditorsAndReaders(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()  # each example rolled back at teardown
        self._atomic.__enter__()
        cache.clear()
        self.client = Client()
        self.numbers = itertools.count(1)
        self.offset = datetime.timedelta(0)
        timezone.now = lambda: REAL_NOW() + self.offset

    def teardown(self):
        timezone.now = REAL_NOW
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize()
    def two_issues_and_a_draft(self):
        self.sections = [SectionFactory(name="进展"), SectionFactory(name="检索增强")]
        for n, status in enumerate(
            [Issue.Status.PUBLISHED, Issue.Status.PUBLISHED, Issue.Status.DRAFT]
        ):
            issue = IssueFactory(status=status, title=f"第{n}期")
            for section in self.sections:
                EntryFactory(issue=issue, section=section, tags=["RAG", "🔥"][: n + 1])

    def entries(self):
        return list(Entry.objects.order_by("pk"))

    @rule(data=st.data(), summary=TEXT)
    def an_entry_rewritten(self, data, summary):
        entry = data.draw(st.sampled_from(self.entries()))
        entry.summary = summary
        entry.title = summary[:20]
        entry.save()

    @rule(data=st.data(), name=TAG_NAMES, add=st.booleans())
    def tags_changed(self, data, name, add):
        entry = data.draw(st.sampled_from(self.entries()))
        if add:
            entry.tags.add(name)
        else:
            entry.tags.remove(*entry.tags.filter(name=name))

    @rule(data=st.data(), name=TEXT)
    def a_tag_renamed(self, data, name):
        tags = list(Tag.objects.order_by("pk"))
        if tags and not Tag.objects.filter(name=name).exists():
            tag = data.draw(st.sampled_from(tags))
            tag.name = name
            tag.save()

    @rule(data=st.data(), name=TEXT)
    def a_section_renamed(self, data, name):
        section = data.draw(st.sampled_from(self.sections))
        if not Section.objects.filter(name=name).exists():
            section.name = name
            section.save()

    @rule(data=st.data())
    def an_entry_moved(self, data):
        entry = data.draw(st.sampled_from(self.entries()))
        entry.section = data.draw(st.sampled_from(self.sections))
        entry.position = 100 + next(self.numbers)
        entry.save()

    @rule(data=st.data())
    def an_entry_added(self, data):
        issue = data.draw(st.sampled_from(list(Issue.objects.order_by("pk"))))
        EntryFactory(issue=issue, section=data.draw(st.sampled_from(self.sections)), tags=["RAG"])

    @rule(data=st.data())
    def an_entry_deleted(self, data):
        entries = self.entries()
        if len(entries) > 1:
            data.draw(st.sampled_from(entries)).delete()

    @rule(data=st.data(), how=st.sampled_from(["publish", "unpublish", "schedule"]))
    def an_issue_published_or_not(self, data, how):
        issue = data.draw(st.sampled_from(list(Issue.objects.order_by("pk"))))
        if how == "publish":
            issue.publish()
        elif how == "unpublish":
            issue.unpublish()
        else:
            issue.publish(when=timezone.now() + datetime.timedelta(hours=1))

    @rule(hours=st.sampled_from([0.5, 2]))
    def time_passes(self, hours):
        self.offset += datetime.timedelta(hours=hours)

    def public_pages(self):
        paths = ["/", "/issues/", "/entries/", "/entries/?q=检索", "/tags/", "/sections/"]
        paths += ["/trends/", "/feeds/issues.atom", "/subscribe/", "/en/"]
        for issue in Issue.objects.all():
            paths += [f"/issues/{issue.slug}/", f"/en/issues/{issue.slug}/"]
        paths += [f"/tags/{quote(tag.slug)}/" for tag in Tag.objects.all()]
        paths += [f"/tags/{quote(tag.slug)}/feed.atom" for tag in Tag.objects.all()]
        paths += [f"/sections/{section.slug}/" for section in Section.objects.all()]
        paths += [
            f"/papers/{arxiv_id}/"
            for arxiv_id in Entry.objects.exclude(arxiv_id="").values_list("arxiv_id", flat=True)
        ]
        return paths

    @invariant()
    def every_page_is_the_page_made_now(self):
        paths = self.public_pages()
        served = {path: self.client.get(path) for path in paths}
        assert all(response.status_code < 500 for response in served.values())
        with override_settings(PAGE_CACHE=False):
            fresh = {path: self.client.get(path) for path in paths}
        stale = [
            path
            for path in paths
            if (served[path].status_code, served[path].content)
            != (fresh[path].status_code, fresh[path].content)
        ]
        assert stale == []


def test_the_page_cache_is_never_stale_whatever_editors_do(db):
    run_state_machine_as_test(
        EditorsAndReaders,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
