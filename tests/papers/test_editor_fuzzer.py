"""An adversarial editor: hypothesis drives the admin's own forms.

A stateful machine (hypothesis's ``RuleBasedStateMachine``) plays two staff
users, an Editor and a Publisher, each with a browser of their own (a test
client) holding the last form it opened. It opens issues, types into them
(any Unicode, Chinese separators, control characters, CRLF, very long text),
adds, edits, deletes, reorders and moves entries, saves from stale forms,
restores random versions from the history and publishes and unpublishes, in
any order. After every step it checks what must always hold:

- no 500 on any admin page or any public page, in both languages;
- only a Publisher changes an issue's publication, and only by the publish
  and unpublish buttons: no form save, crafted POST or restore changes it;
- positions are unique within each section of an issue;
- the public pages show exactly the published content: every entry of a
  public issue on its page, in order, and nothing of a draft anywhere;
- a save that went through keeps what was typed (as the site stores it), and
  a refused one hands every typed value back;
- export -> import -> export gives the same bytes.

``make test`` runs a few short examples; CI raises the bounds through
``EDITOR_FUZZ_EXAMPLES`` and ``EDITOR_FUZZ_STEPS``. A failure hypothesis
finds is kept below as an explicit regression test.
"""

import html
import itertools
import os
import unicodedata

import pytest
from bs4 import BeautifulSoup
from django.conf import settings as settings_module
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, assume, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from reversion.models import Version

from papers import roundup_markdown
from papers.arxiv import normalize_arxiv_id
from papers.models import Entry, Issue, Tag
from papers.tags import parse_tags
from tests.conftest import make_issue, make_section, make_staff
from tests.papers.test_admin import form_data

pytestmark = pytest.mark.django_db

FUZZ_EXAMPLES = int(os.environ.get("EDITOR_FUZZ_EXAMPLES", "3"))
FUZZ_STEPS = int(os.environ.get("EDITOR_FUZZ_STEPS", "10"))

# Text as editors paste it: anything printable, Chinese and its punctuation,
# emoji, right-to-left, full-width letters, odd spaces and control characters.
ANY_CHARACTER = st.characters(
    blacklist_categories=("Cs",),  # lone surrogates cannot be sent as UTF-8
    blacklist_characters="⟦⟧",  # the markers that make each title findable
)
TYPED_TEXT = st.one_of(
    st.text(ANY_CHARACTER, max_size=40),
    st.sampled_from([
        "检索增强生成", "LLM 对齐\r\n第二行", "ＲＡＧ", "C++", "🔥", "a < b & c > d",
        "שלום עולם", "x" * 300, "  空白  ", "\x00", "换行\r\n\r\n- 列表\r\n- 第二项",
    ]),
)
TAG_TEXT = st.one_of(
    st.lists(
        st.one_of(st.text(ANY_CHARACTER, min_size=1, max_size=12),
                  st.sampled_from(["🔥", ">", "★", "C++", "C#", "C", "ＲＡＧ", "RAG", "rag",
                                   "a/b?c#d%e", "幻觉", "長上下文", "x" * 120, "עברית"])),
        max_size=4,
    ).flatmap(lambda names: st.sampled_from(["，", "、", "；", ",", ";", " "]).map(
        lambda separator: separator.join(names))),
)
ARXIV_IDS = ["2407.01219", "https://arxiv.org/abs/2407.01219v3", "2406.15877", "arXiv:2406.18510",
             "2406.11813", "not an id"]


def marker(n):
    """A string no generated text contains: finds one entry's title on a page."""
    return f"⟦Z{n}⟧"


def zh_path(obj):
    """The object's public path without a language prefix (the thread's
    language follows the last request the test client made)."""
    with translation.override(settings_module.LANGUAGE_CODE):
        return obj.get_absolute_url()


def fold_names(names):
    """Tag names as the site tells them apart: width and case folded."""
    return sorted(unicodedata.normalize("NFKC", name).casefold() for name in names)


def stored_text(value):
    """What the site stores for a typed text: LF line ends, stripped."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


class AdversarialEditors(RuleBasedStateMachine):
    """Two staff users at the admin, doing what hurried and hostile editors do."""

    def __init__(self):
        super().__init__()
        # Each example starts from the same database: everything it does is
        # rolled back at teardown (a savepoint inside the test's transaction).
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.counter = itertools.count(1)
        self.browsers = {}
        self.forms = {}  # role -> (issue pk, form data as last opened or redisplayed)
        self.status = {}  # issue pk -> (status, published_at) as last set by a Publisher
        self.checked = {}  # check -> the state it last passed in

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # ------------------------------------------------------------ set-up

    @initialize()
    def set_up_the_desk(self):
        self.sections = [
            make_section(name="LLM微调", slug="llm-finetune", position=1),
            make_section(name="RAG", slug="rag-x", position=2),
            make_section(name="LLM推理", slug="llm-reasoning", position=3),
        ]
        self.issues = [
            make_issue(status=Issue.Status.PUBLISHED, title=f"公开的一期 {marker(0)}"),
            make_issue(status=Issue.Status.DRAFT, title=f"草稿 {marker(-1)}"),
        ]
        for issue in self.issues:
            self.status[issue.pk] = (issue.status, issue.published_at)
        for role, group in (("editor", "Editor"), ("publisher", "Publisher")):
            user = make_staff(f"fuzz-{role}", group)
            browser = Client()
            browser.force_login(user)
            self.browsers[role] = browser

    # ------------------------------------------------------------ steps

    @rule(role=st.sampled_from(["editor", "publisher"]), which=st.integers(0, 1))
    def open_an_issue(self, role, which):
        issue = self.issues[which]
        response = self.browsers[role].get(self.change_url(issue))
        assert response.status_code == 200
        self.forms[role] = (issue.pk, form_data(response, "issue_form"))

    @precondition(lambda self: self.forms)
    @rule(
        data=st.data(),
        title=st.one_of(st.none(), TYPED_TEXT),
        intro=st.one_of(st.none(), TYPED_TEXT),
        crafted_status=st.sampled_from([None, "published", "draft", "scheduled"]),
    )
    def type_into_the_issue_and_save(self, data, title, intro, crafted_status):
        role = data.draw(st.sampled_from(sorted(self.forms)))
        issue_pk, form = self.forms[role]
        form = dict(form)
        typed = {}
        if title is not None:
            typed["title"] = f"{marker(next(self.counter))} {title}"
        if intro is not None:
            typed["intro"] = intro
        if crafted_status:
            # A hostile editor adds the publication fields the page hides.
            form.update(status=crafted_status, published_at_0="2020-01-01",
                        published_at_1="00:00:00")
        form.update(typed)
        entries = self.entry_rows(form)
        for index in data.draw(st.lists(st.sampled_from(entries), unique=True, max_size=3)
                               if entries else st.just([])):
            typed.update(self.edit_entry(data, form, index))
        for _ in range(data.draw(st.integers(0, 3))):
            typed.update(self.add_entry(data, form))
        self.save(role, issue_pk, form, typed)

    @precondition(lambda self: self.forms)
    @rule(data=st.data())
    def reorder_entries(self, data):
        """Swap two rows' positions, or move one to another section."""
        role = data.draw(st.sampled_from(sorted(self.forms)))
        issue_pk, form = self.forms[role]
        form = dict(form)
        entries = self.entry_rows(form)
        assume(entries)
        first = data.draw(st.sampled_from(entries))
        second = data.draw(st.sampled_from(entries))
        typed = {}
        if first != second:
            a, b = f"entries-{first}-position", f"entries-{second}-position"
            form[a], form[b] = form[b], form[a]
        else:
            key = f"entries-{first}-section"
            form[key] = str(data.draw(st.sampled_from(self.sections)).pk)
            typed[key] = form[key]
        self.save(role, issue_pk, form, typed)

    @precondition(lambda self: self.forms)
    @rule(data=st.data())
    def delete_an_entry(self, data):
        role = data.draw(st.sampled_from(sorted(self.forms)))
        issue_pk, form = self.forms[role]
        form = dict(form)
        entries = self.entry_rows(form)
        assume(entries)
        form[f"entries-{data.draw(st.sampled_from(entries))}-DELETE"] = "on"
        self.save(role, issue_pk, form, {})

    @rule(role=st.sampled_from(["editor", "publisher"]), which=st.integers(0, 1),
          data=st.data())
    def restore_a_version(self, role, which, data):
        issue = self.issues[which]
        versions = list(Version.objects.get_for_object(issue).values_list("pk", flat=True))
        assume(versions)
        version = data.draw(st.sampled_from(versions))
        url = reverse("admin:papers_issue_revision", args=[issue.pk, version])
        browser = self.browsers[role]
        response = browser.get(url)
        assert response.status_code == 200
        response = browser.post(url, form_data(response, "issue_form"))
        assert response.status_code in (200, 302), response.status_code
        self.forms.pop(role, None)

    @rule(role=st.sampled_from(["editor", "publisher"]), which=st.integers(0, 1),
          publish=st.booleans())
    def press_publish_or_unpublish(self, role, which, publish):
        issue = self.issues[which]
        name = "admin:papers_issue_publish" if publish else "admin:papers_issue_unpublish"
        response = self.browsers[role].post(reverse(name, args=[issue.pk]))
        if role == "editor":
            assert response.status_code == 403
        else:
            assert response.status_code == 302
            issue.refresh_from_db()
            self.status[issue.pk] = (issue.status, issue.published_at)

    # ------------------------------------------------------------ typing

    def entry_rows(self, form):
        return list(range(int(form["entries-TOTAL_FORMS"])))

    def edit_entry(self, data, form, index):
        prefix = f"entries-{index}-"
        typed = {}
        for field, strategy in (
            ("title", TYPED_TEXT.map(lambda text: f"{marker(next(self.counter))} {text}")),
            ("summary", TYPED_TEXT),
            ("tags", TAG_TEXT),
            ("arxiv_id", st.sampled_from(ARXIV_IDS)),
            ("section", st.sampled_from(self.sections).map(lambda s: str(s.pk))),
        ):
            if data.draw(st.booleans()):
                typed[prefix + field] = data.draw(strategy)
        form.update(typed)
        return typed

    def add_entry(self, data, form):
        """Fill a new row as the browser sends it: 序号 left at its default."""
        index = int(form["entries-TOTAL_FORMS"])
        prefix = f"entries-{index}-"
        issue_pk = self.forms_issue(form)
        typed = {
            prefix + "section": str(data.draw(st.sampled_from(self.sections)).pk),
            prefix + "title": f"{marker(next(self.counter))} "
                              + data.draw(TYPED_TEXT),
            prefix + "arxiv_id": data.draw(st.sampled_from(ARXIV_IDS)),
            prefix + "summary": data.draw(TYPED_TEXT) or "摘要",
            prefix + "tags": data.draw(TAG_TEXT),
        }
        form.update({prefix + "id": "", prefix + "issue": str(issue_pk),
                     prefix + "position": "1", prefix + "url": "", prefix + "authors": "",
                     prefix + "seen_token": ""})
        form.update(typed)
        form["entries-TOTAL_FORMS"] = str(index + 1)
        return typed

    @staticmethod
    def forms_issue(form):
        return next(value for key, value in form.items()
                    if key.startswith("entries-") and key.endswith("-issue") and value)

    def save(self, role, issue_pk, form, typed):
        """POST the form; check what it did against what was typed."""
        issue = Issue.objects.get(pk=issue_pk)
        stale = form.get("seen_token") != str(issue.edit_token or "")
        response = self.browsers[role].post(self.change_url(issue), form)
        assert response.status_code in (200, 302), response.status_code
        event(f"{role} save: {response.status_code}{' (stale form)' if stale else ''}")
        if response.status_code == 302:
            self.forms.pop(role)
            if role == "publisher" and form.get("status") != self.status[issue_pk][0]:
                # A Publisher may schedule or publish through the form.
                issue.refresh_from_db()
                self.status[issue_pk] = (issue.status, issue.published_at)
            if not stale:
                self.check_typed_values_were_stored(issue, form, typed)
        else:
            soup = BeautifulSoup(response.content, "html.parser")
            assert soup.find(class_="errornote") or soup.find(class_="errorlist"), (
                "a refused save must say why")
            again = form_data(response, "issue_form")
            for key, value in typed.items():
                if key.endswith("-tags"):
                    continue  # shown back as parsed names, checked on save
                assert stored_text(again.get(key, "")) == stored_text(value), key
            self.forms[role] = (issue_pk, again)

    def check_typed_values_were_stored(self, issue, form, typed):
        """Round trip: what the editor typed is what the site now holds."""
        issue.refresh_from_db()
        if "title" in typed:
            assert issue.title == stored_text(typed["title"])
        if "intro" in typed:
            assert issue.intro == stored_text(typed["intro"])
        rows = {key.rsplit("-", 1)[0] for key in typed if key.startswith("entries-")}
        for row in rows:
            if form.get(f"{row}-DELETE"):
                continue
            title = stored_text(form[f"{row}-title"])
            entry = (Entry.objects.filter(pk=form[f"{row}-id"]).first()
                     if form.get(f"{row}-id") else
                     Entry.objects.filter(issue=issue, title=title).first())
            assert entry is not None, f"the saved row {row} is missing"
            assert entry.title == title
            assert entry.summary == stored_text(form[f"{row}-summary"])
            assert str(entry.section_id) == form[f"{row}-section"]
            assert entry.arxiv_id == normalize_arxiv_id(form[f"{row}-arxiv_id"])
            assert fold_names(entry.tags.names()) == fold_names(
                parse_tags(form[f"{row}-tags"])), row

    # ------------------------------------------------------------ invariants

    @invariant()
    def publication_changes_only_by_a_publishers_button(self):
        for issue in Issue.objects.filter(pk__in=self.status):
            assert (issue.status, issue.published_at) == self.status[issue.pk], issue

    @invariant()
    def positions_are_unique_within_each_section(self):
        keys = list(Entry.objects.values_list("issue", "section", "position"))
        assert len(keys) == len(set(keys))

    def unchanged_since_last_check(self, check):
        """Whether nothing public or editorial changed since ``check`` last ran:
        the page checks are the slow part, and most steps change nothing."""
        state = (
            tuple(Issue.objects.order_by("pk").values_list("edit_token", "status")),
            tuple(Entry.objects.order_by("pk").values_list("edit_token", flat=True)),
            Tag.objects.count(),
            Version.objects.count(),
        )
        if self.checked.get(check) == state:
            return True
        self.checked[check] = state
        return False

    @invariant()
    def public_pages_show_exactly_the_published_content(self):
        if self.unchanged_since_last_check("public"):
            return
        reader = Client()
        public = set(Issue.objects.published().values_list("pk", flat=True))
        hidden_titles = [
            e.title for e in Entry.objects.exclude(issue__in=public) if "⟦" in e.title
        ]
        for issue in Issue.objects.filter(pk__in=self.status):
            for prefix in ("", "/en"):
                response = reader.get(prefix + zh_path(issue))
                if issue.pk not in public:
                    assert response.status_code == 404
                    continue
                assert response.status_code == 200
                page = response.content.decode()
                titles = [html.escape(e.title, quote=False) for e in Entry.objects.filter(
                    issue=issue).order_by("section__position", "section__name", "position")]
                found = [page.find(title) for title in titles]
                assert -1 not in found, "an entry of a public issue is missing from its page"
        pages = ["/", "/issues/", "/entries/", "/tags/", "/sections/", "/sitemap.xml",
                 "/feeds/issues.atom", "/entries/feed.rss", "/trends/"]
        pages += [zh_path(tag) for tag in Tag.objects.published()]
        pages += [f"/papers/{arxiv_id}/" for arxiv_id in Entry.objects.published()
                  .exclude(arxiv_id="").values_list("arxiv_id", flat=True).distinct()]
        for path in pages:
            for prefix in ("", "/en"):
                if prefix and path.startswith(("/sitemap", "/feeds", "/entries/feed")):
                    continue
                response = reader.get(prefix + path)
                assert response.status_code == 200, (prefix + path, response.status_code)
                text = response.content.decode()
                for title in hidden_titles:
                    for escaped in {title, html.escape(title, quote=False),
                                    html.escape(title)}:
                        assert escaped not in text, f"draft entry {title!r} on {path}"

    @invariant()
    def admin_pages_answer(self):
        if self.unchanged_since_last_check("admin"):
            return
        browser = self.browsers["editor"]
        for issue in self.issues:
            for url in (self.change_url(issue),
                        reverse("admin:papers_issue_history", args=[issue.pk]),
                        reverse("admin:papers_issue_preview", args=[issue.pk])):
                assert browser.get(url).status_code == 200, url
        for url in ("/admin/", "/admin/papers/issue/", "/admin/papers/entry/",
                    "/admin/papers/tag/"):
            assert browser.get(url).status_code == 200, url

    @invariant()
    def export_import_export_gives_the_same_bytes(self):
        if self.unchanged_since_last_check("export"):
            return
        for issue in Issue.objects.filter(pk__in=self.status):
            try:
                text = roundup_markdown.export_roundup(issue)
            except roundup_markdown.RoundupExportError as refused:
                # The export refuses only text the format cannot carry back.
                raise AssertionError(f"saved, yet export refuses it: {refused}") from refused
            copy = text.replace(f"slug: {issue.slug}\n", f"slug: {issue.slug}-copy\n", 1)
            with transaction.atomic():
                imported = roundup_markdown.import_roundup(copy)
                assert roundup_markdown.export_roundup(imported) == copy
                transaction.set_rollback(True)

    @staticmethod
    def change_url(issue):
        return reverse("admin:papers_issue_change", args=[issue.pk])


def test_adversarial_editors_never_break_the_desk_or_the_site():
    run_state_machine_as_test(AdversarialEditors, settings=settings(
        max_examples=FUZZ_EXAMPLES,
        stateful_step_count=FUZZ_STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
        print_blob=True,
    ))
