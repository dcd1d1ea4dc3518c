"""Test data: one factory per model, imported by every test that builds rows.

Every value a test may assert on or that must stay unique comes from a
sequence, not from Faker: ``IssueFactory()`` is "第3期 大模型论文" at
``issue-3``, whatever the random seed. A test that cares about a field passes it.
"""

import datetime

import factory
from django.contrib.auth.models import Group, User
from django.db.models import Max
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from newsletter.models import Subscriber
from papers.models import MAX_POSITION, Entry, Issue, Section, Tag

# What a factory-made user signs in with (the browser tests type it).
PASSWORD = "a long editorial password"


class Factory(DjangoModelFactory):
    """Sequences count from 1, so the first issue is "第1期"."""

    class Meta:
        abstract = True
        # What the factories do after a save (tags, groups) changes no field of
        # the row: a second save would only make a revision token and a search
        # reindex that a plain create never made.
        skip_postgeneration_save = True

    @classmethod
    def _setup_next_sequence(cls):
        return 1


class SectionFactory(Factory):
    class Meta:
        model = Section

    name = factory.Sequence(lambda n: f"栏目{n}")
    slug = factory.Sequence(lambda n: f"section-{n}")
    position = factory.Sequence(lambda n: n)


class IssueFactory(Factory):
    """A published issue covering two weeks, each the two weeks after the one
    before. The ``n``-th was published ``n`` hours ago; a draft has no
    publication time."""

    class Meta:
        model = Issue

    title = factory.Sequence(lambda n: f"第{n}期 大模型论文")
    slug = factory.Sequence(lambda n: f"issue-{n}")
    period_start = factory.Sequence(
        lambda n: datetime.date(2024, 1, 1) + datetime.timedelta(days=14 * n)
    )
    period_end = factory.LazyAttribute(
        lambda issue: issue.period_start + datetime.timedelta(days=13)
    )
    intro = "本期**导言**。"
    status = Issue.Status.PUBLISHED
    published_at = factory.LazyAttributeSequence(
        lambda issue, n: (
            None
            if issue.status == Issue.Status.DRAFT
            else timezone.now() - datetime.timedelta(hours=n)
        )
    )


def next_free_position(issue, section):
    """The position after the last one of ``section`` in ``issue``, as the admin
    numbers a new row. A counter shared by all entries would pass MAX_POSITION
    in a long run, and the admin refuses positions past it."""
    taken = Entry.objects.filter(issue=issue, section=section).aggregate(Max("position"))
    position = (taken["position__max"] or 0) + 1
    if position > MAX_POSITION:
        raise ValueError(f"no position left after {MAX_POSITION} in {section} of {issue}")
    return position


class EntryFactory(Factory):
    """An entry with a valid arXiv id (``2406.1xxxx``) at the next free
    position of its section; ``tags=["RAG", "幻觉"]`` tags it by name."""

    class Meta:
        model = Entry

    issue = factory.SubFactory(IssueFactory)
    section = factory.SubFactory(SectionFactory)
    position = factory.LazyAttribute(lambda entry: next_free_position(entry.issue, entry.section))
    title = factory.Sequence(lambda n: f"Paper number {n}")
    # Five digits after the dot, as arXiv numbers papers since 2015.
    arxiv_id = factory.Sequence(lambda n: f"2406.{10000 + n % 90000}")
    summary = factory.Sequence(lambda n: f"第{n}篇论文的摘要，讨论长上下文。")

    @factory.post_generation
    def tags(entry, create, names, **kwargs):
        if create and names:
            entry.tags.add(*names)


class TagFactory(Factory):
    """A tag; its slug is chosen by Tag.save() unless given."""

    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"标签{n}")


class UserFactory(Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.LazyAttribute(lambda user: user.username.capitalize())
    password = Password(PASSWORD)


class StaffFactory(UserFactory):
    """A staff user in one of the groups made by the data migration:
    ``StaffFactory(username="publisher", group="Publisher")``."""

    is_staff = True

    @factory.post_generation
    def group(user, create, name, **kwargs):
        if create:
            user.groups.add(Group.objects.get(name=name or "Editor"))


class SubscriberFactory(Factory):
    """A confirmed subscriber to every issue, in Chinese. ``sections=[...]``
    and ``tags=[...]`` (rows) make it follow only those."""

    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    status = Subscriber.Status.CONFIRMED
    confirmed_at = factory.LazyFunction(timezone.now)
    every_issue = True

    @factory.post_generation
    def sections(subscriber, create, sections, **kwargs):
        if create and sections:
            subscriber.sections.set(sections)
            _follows_a_selection(subscriber)

    @factory.post_generation
    def tags(subscriber, create, tags, **kwargs):
        if create and tags:
            subscriber.tags.set(tags)
            _follows_a_selection(subscriber)


def _follows_a_selection(subscriber):
    subscriber.every_issue = False
    Subscriber.objects.filter(pk=subscriber.pk).update(every_issue=False)
