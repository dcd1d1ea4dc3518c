import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from papers.markdown import render_markdown
from papers.models import Entry, Issue, Section, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


def integrity_error(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_slugs_are_unique_in_the_database():
    issue = IssueFactory(slug="2024-07-h1")
    section = SectionFactory(slug="rag", name="RAG")
    integrity_error(lambda: IssueFactory(slug=issue.slug))
    integrity_error(lambda: SectionFactory(slug=section.slug))
    integrity_error(lambda: SectionFactory(name="RAG"))


def test_one_position_per_entry_within_an_issue_section():
    issue, section = IssueFactory(), SectionFactory()
    EntryFactory(issue=issue, section=section, position=1)
    integrity_error(lambda: EntryFactory(issue=issue, section=section, position=1))
    # The same position is fine in another section or another issue.
    EntryFactory(issue=issue, section=SectionFactory(), position=1)
    EntryFactory(issue=IssueFactory(), section=section, position=1)


def test_period_end_on_or_after_period_start():
    start = datetime.date(2024, 6, 16)
    IssueFactory(period_start=start, period_end=start)
    day_before = start - datetime.timedelta(days=1)
    integrity_error(lambda: IssueFactory(period_start=start, period_end=day_before))


def test_an_entry_needs_an_arxiv_id_or_a_url():
    issue, section = IssueFactory(), SectionFactory()
    integrity_error(lambda: EntryFactory(issue=issue, section=section, arxiv_id="", url=""))
    EntryFactory(
        issue=issue, section=section, arxiv_id="", url="https://openreview.net/forum?id=abc"
    )


def test_a_public_issue_needs_a_publication_time():
    integrity_error(
        lambda: Issue.objects.create(
            title="x",
            slug="x",
            period_start=datetime.date(2024, 1, 1),
            period_end=datetime.date(2024, 1, 14),
            status=Issue.Status.PUBLISHED,
        )
    )


def test_tag_names_are_unique_ignoring_case():
    Tag.objects.create(name="RAG", slug="rag")
    integrity_error(lambda: Tag.objects.create(name="rag", slug="rag-2"))


def test_arxiv_ids_are_normalised_on_save():
    entry = EntryFactory(
        issue=IssueFactory(),
        section=SectionFactory(),
        arxiv_id="https://arxiv.org/abs/2406.15877v2",
    )
    entry.refresh_from_db()
    assert entry.arxiv_id == "2406.15877"


def test_full_clean_reports_a_bad_arxiv_id_on_its_field():
    entry = Entry(
        issue=IssueFactory(),
        section=SectionFactory(),
        title="t",
        summary="s",
        arxiv_id="arxiv.org/nonsense",
    )
    with pytest.raises(ValidationError) as error:
        entry.full_clean()
    assert "arxiv_id" in error.value.message_dict


def test_published_is_the_only_public_definition():
    now, second = timezone.now(), datetime.timedelta(seconds=1)
    public = IssueFactory(status=Issue.Status.PUBLISHED, published_at=now - 60 * second)
    due = IssueFactory(status=Issue.Status.SCHEDULED, published_at=now - second)
    future = IssueFactory(status=Issue.Status.SCHEDULED, published_at=now + 3600 * second)
    draft = IssueFactory(status=Issue.Status.DRAFT)
    assert set(Issue.objects.published()) == {public, due}
    section = SectionFactory()
    entries = {
        issue: EntryFactory(issue=issue, section=section) for issue in (public, due, future, draft)
    }
    assert set(Entry.objects.published()) == {entries[public], entries[due]}


def test_publishing_without_a_time_takes_now():
    issue = IssueFactory(status=Issue.Status.DRAFT)
    issue.status = Issue.Status.PUBLISHED
    issue.full_clean()
    assert issue.published_at is not None and issue.published_at <= timezone.now()


def test_scheduling_requires_a_time():
    issue = IssueFactory(status=Issue.Status.DRAFT)
    issue.status = Issue.Status.SCHEDULED
    with pytest.raises(ValidationError) as error:
        issue.full_clean()
    assert "published_at" in error.value.message_dict


def test_markdown_is_rendered_and_sanitised_when_saved():
    issue = IssueFactory(intro="**导言** <script>alert(1)</script>")
    entry = EntryFactory(
        issue=issue, section=SectionFactory(), summary="*摘要* <img src=x onerror=alert(1)>"
    )
    assert issue.intro_html == render_markdown(issue.intro)
    assert "<strong>导言</strong>" in issue.intro_html and "<script" not in issue.intro_html
    assert "<em>摘要</em>" in entry.summary_html and "onerror" not in entry.summary_html
    entry.summary = "改写后的摘要"
    entry.save()
    entry.refresh_from_db()
    assert entry.summary_html == "<p>改写后的摘要</p>"


def test_derived_html_is_right_after_loaddata(tmp_path):
    section = SectionFactory(slug="s", name="S")
    issue = IssueFactory(slug="loaded", intro="**一**")
    EntryFactory(issue=issue, section=section, position=1, summary="*二*")
    path = tmp_path / "dump.json"
    call_command(
        "dumpdata",
        "papers.section",
        "papers.issue",
        "papers.entry",
        natural_foreign=True,
        natural_primary=True,
        output=str(path),
        verbosity=0,
    )
    # Corrupt the rendered copies, then load the source text back.
    Issue.objects.update(intro_html="stale")
    Entry.objects.update(summary_html="stale")
    call_command("loaddata", str(path), verbosity=0)
    assert Issue.objects.get(slug="loaded").intro_html == "<p><strong>一</strong></p>"
    assert Entry.objects.get(issue__slug="loaded").summary_html == "<p><em>二</em></p>"


def test_absolute_urls():
    issue = IssueFactory(slug="2024-07-h1")
    section = SectionFactory(slug="rag")
    entry = EntryFactory(issue=issue, section=section, arxiv_id="cs/0112017", tags=["幻觉检测"])
    tag = Tag.objects.get(name="幻觉检测")
    assert issue.get_absolute_url() == "/issues/2024-07-h1/"
    assert section.get_absolute_url() == "/sections/rag/"
    assert entry.get_absolute_url() == f"/issues/2024-07-h1/#entry-{entry.pk}"
    assert entry.get_paper_url() == "/papers/cs/0112017/"
    assert tag.slug == "幻觉检测"
    assert tag.get_absolute_url() == "/tags/%E5%B9%BB%E8%A7%89%E6%A3%80%E6%B5%8B/"


def test_tags_match_ignoring_case():
    issue, section = IssueFactory(), SectionFactory()
    first = EntryFactory(issue=issue, section=section, tags=["RAG"])
    second = EntryFactory(issue=issue, section=section, tags=["rag"])
    assert Tag.objects.count() == 1
    assert list(first.tags.names()) == list(second.tags.names()) == ["RAG"]


def test_a_section_in_use_cannot_be_deleted():
    section = SectionFactory()
    EntryFactory(issue=IssueFactory(), section=section)
    with pytest.raises(Exception) as error, transaction.atomic():
        section.delete()
    assert "ProtectedError" in type(error.value).__name__
    assert Section.objects.filter(pk=section.pk).exists()
