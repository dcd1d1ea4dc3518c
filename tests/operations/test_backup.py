"""``backup_archive`` and ``restore_archive``: the whole archive out and back in.

The unit tests build an archive inside a savepoint, back it up, and roll the
savepoint back: the test database is then exactly an empty, migrated database
(with the Editor and Publisher groups of papers/0003), the case a restore is
for. The cross-database test runs the real commands in subprocesses, SQLite →
PostgreSQL → SQLite.
"""

import datetime
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import reversion
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from reversion.models import Revision, Version

from operations import backup
from papers import search
from papers.markdown import render_markdown
from papers.models import Entry, GlossaryTerm, Issue, SearchDocument, Section, Tag, TaggedEntry
from reading import page_cache

NEW_ISSUE = "2024-07-h1"
# Found only in the summary of one entry of NEW_ISSUE (two Chinese bigrams).
UNIQUE_WORD = "退火"
PASSWORD = "correct horse battery staple"


# The archive ------------------------------------------------------------------


def make_archive():
    """The seed roundup plus what the seed lacks: a second issue and a draft,
    tags (Chinese, mixed case), two revisions through django-reversion, users
    with passwords, a changed and a new group, a user permission and an admin
    log entry. Run in the test database and, by the cross-database test, in
    subprocesses (``manage.py shell``), so it uses nothing from pytest."""
    call_command("load_seed", verbosity=0)
    wang = User.objects.create_user(
        "wang", "wang@example.org", PASSWORD, is_staff=True, first_name="王"
    )
    wang.groups.add(Group.objects.get(name="Editor"))
    chief = User.objects.create_superuser("chief", "chief@example.org", PASSWORD)
    papers_perms = Permission.objects.filter(content_type__app_label="papers")
    reviewer = Group.objects.create(name="Reviewer")
    reviewer.permissions.set(papers_perms.filter(codename__startswith="view_"))
    # A changed role: editors may no longer delete entries here.
    Group.objects.get(name="Editor").permissions.remove(papers_perms.get(codename="delete_entry"))
    wang.user_permissions.add(papers_perms.get(codename="publish_issue"))
    # The glossary as editors left it: a term changed, one added, one removed.
    GlossaryTerm.objects.filter(chinese="幻觉").update(english="hallucination, confabulation")
    GlossaryTerm.objects.create(chinese="灾难性遗忘", english="catastrophic forgetting")
    GlossaryTerm.objects.filter(chinese="检测").delete()

    section = Section.objects.create(
        name="多模态", slug="multimodal", position=60, description="图文与视频。"
    )
    with reversion.create_revision():
        reversion.set_user(wang)
        reversion.set_comment("新建一期")
        issue = Issue.objects.create(
            title="2024年7月上半月 大模型论文",
            slug=NEW_ISSUE,
            period_start=datetime.date(2024, 7, 1),
            period_end=datetime.date(2024, 7, 15),
            intro="本期**导言**。<script>alert(1)</script>\u2028行分隔符之后。",
            status=Issue.Status.PUBLISHED,
            published_at=timezone.now() - datetime.timedelta(days=1),
        )
        first = Entry.objects.create(
            issue=issue,
            section=section,
            position=1,
            title="Annealing Multimodal Models",
            arxiv_id="2407.00001",
            authors="Li Hua, Zhang Wei",
            summary=f"用模拟{UNIQUE_WORD}调度训练多模态模型，减少幻觉。",
        )
        first.tags.add("幻觉", "Multimodal", "长上下文")
        second = Entry.objects.create(
            issue=issue,
            section=section,
            position=2,
            title="A Paper Without arXiv",
            url="https://example.org/paper.pdf",
            summary="不在 arXiv 上的论文 😀。",
        )
        second.tags.add("RAG")
        issue.save()
    with reversion.create_revision():
        reversion.set_user(chief)
        reversion.set_comment("修订摘要")
        first.summary += "\n\n- 第二版补充。"
        first.save()
    Issue.objects.create(
        title="草稿",
        slug="draft-2024-07-h2",
        period_start=datetime.date(2024, 7, 16),
        period_end=datetime.date(2024, 7, 31),
    )
    LogEntry.objects.create(
        user=chief,
        content_type=ContentType.objects.get_for_model(Issue),
        object_id=str(issue.pk),
        object_repr=str(issue),
        action_flag=ADDITION,
        change_message="[]",
    )


def snapshot():
    """Every archived row as the database holds it, read without the backup
    code: ids, foreign keys as ids, timestamps to the microsecond; relations to
    content types and permissions by name, since their ids differ between
    databases."""
    rows = {}
    for model in (Section, Issue, Entry, Tag, TaggedEntry, Revision, User, GlossaryTerm):
        rows[model._meta.label] = list(model.objects.order_by("pk").values())
    rows["versions"] = [
        {**v, "content_type_id": ContentType.objects.get_for_id(v["content_type_id"]).model}
        for v in Version.objects.order_by("pk").values()
    ]
    rows["log"] = [
        {**e, "content_type_id": ContentType.objects.get_for_id(e["content_type_id"]).model}
        for e in LogEntry.objects.order_by("pk").values()
    ]
    rows["groups"] = [
        (g.pk, g.name, sorted(g.permissions.values_list("codename", flat=True)))
        for g in Group.objects.order_by("pk")
    ]
    rows["memberships"] = [
        (
            u.username,
            sorted(u.groups.values_list("name", flat=True)),
            sorted(u.user_permissions.values_list("codename", flat=True)),
        )
        for u in User.objects.order_by("pk")
    ]
    return rows


@pytest.fixture(scope="module")
def built_archive(django_db_setup, django_db_blocker, tmp_path_factory):
    """Make the archive, back it up and roll it all back, once for the module
    (it takes seconds); returns the file and the archive's snapshot. The
    database is then empty and migrated again."""
    path = tmp_path_factory.mktemp("backup") / "archive.jsonl.gz"
    with django_db_blocker.unblock(), transaction.atomic():
        make_archive()
        made = snapshot()
        call_command("backup_archive", str(path), verbosity=0)
        transaction.set_rollback(True)
    return path, made


@pytest.fixture
def archive_file(built_archive, db, tmp_path):
    """A copy of the backup for one test to restore (or damage), and the
    snapshot of the archive it holds."""
    original, made = built_archive
    assert not Issue.objects.exists() and not User.objects.exists()
    # PostgreSQL's sequences do not roll back with the archive: start them
    # again as in a freshly migrated database (at 1, or past the groups).
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), apps.get_models()):
            cursor.execute(sql)
    return Path(shutil.copy(original, tmp_path / original.name)), made


def backup_lines(path):
    """The file's lines, split at newlines only: str.splitlines() would also
    split inside a row at the U+2028 that make_archive puts in a text."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as lines:
        return list(lines)


def write_lines(path, lines):
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as out:
        out.writelines(lines)


# Round trip, in the test database ---------------------------------------------------


def test_round_trip_gives_back_every_row_exactly(archive_file):
    path, made = archive_file
    empty = snapshot()
    call_command("restore_archive", str(path), verbosity=0)
    restored = snapshot()
    assert restored == made
    assert restored != empty
    # Microseconds survive (Django's own JSON encoder would cut them).
    assert any(row["updated_at"].microsecond % 1000 for row in restored["papers.Entry"])
    assert len(made["versions"]) >= 5 and len(made["groups"]) == 3


def test_restored_groups_replace_the_migrations_groups(archive_file):
    path, _ = archive_file
    editor = Group.objects.get(name="Editor")
    assert editor.permissions.filter(codename="delete_entry").exists()  # as papers/0003 made it
    call_command("restore_archive", str(path), verbosity=0)
    assert not Group.objects.get(name="Editor").permissions.filter(codename="delete_entry").exists()
    wang = User.objects.get(username="wang")
    assert wang.check_password(PASSWORD)
    assert wang.has_perm("papers.publish_issue") and wang.has_perm("papers.change_entry")
    assert not wang.has_perm("papers.delete_entry")


def test_restore_renders_markdown_and_indexes_search_again(archive_file, client):
    """Derived data is made from the source text, not trusted from the file."""
    path, _ = archive_file
    lines = backup_lines(path)
    for number, line in enumerate(lines):
        row = json.loads(line)
        if row.get("model") == "papers.entry":
            row["fields"]["summary_html"] = "<p>stale</p><script>alert(1)</script>"
            lines[number] = json.dumps(row, ensure_ascii=False) + "\n"
    write_lines(path, lines)

    call_command("restore_archive", str(path), verbosity=0)

    for entry in Entry.objects.all():
        assert entry.summary_html == render_markdown(entry.summary)
    assert "<script>" not in Issue.objects.get(slug=NEW_ISSUE).intro_html
    assert SearchDocument.objects.count() == Entry.objects.count()
    found = search.search(Entry.objects.published(), search.parse_query(UNIQUE_WORD))
    assert [entry.title for entry in found] == ["Annealing Multimodal Models"]
    seed_hits = search.search(Entry.objects.published(), search.parse_query("幻觉"))
    assert seed_hits.count() > 1  # the seed's entries are indexed too, tags included
    page = client.get("/entries/", {"q": UNIQUE_WORD})
    assert page.status_code == 200
    assert "Annealing Multimodal Models" in page.content.decode()


def test_restore_starts_a_new_page_cache_generation(archive_file):
    path, _ = archive_file
    before = page_cache.current_generation()
    call_command("restore_archive", str(path), verbosity=0)
    assert page_cache.current_generation() != before


def test_new_rows_get_new_ids_after_a_restore(archive_file):
    """PostgreSQL's sequences are moved past the restored ids."""
    path, _ = archive_file
    call_command("restore_archive", str(path), verbosity=0)
    top = {
        model: model.objects.order_by("-pk").values_list("pk", flat=True)[0]
        for model in (Issue, Section, Entry, Tag, Group, User, Revision)
    }
    issue = Issue.objects.create(
        title="新",
        slug="new-issue",
        period_start=datetime.date(2025, 1, 1),
        period_end=datetime.date(2025, 1, 14),
    )
    section = Section.objects.create(name="新栏目", slug="new-section")
    entry = Entry.objects.create(
        issue=issue, section=section, title="New", arxiv_id="2501.00001", summary="新。"
    )
    entry.tags.add("全新标签")
    with reversion.create_revision():
        issue.save()
    created = {
        Issue: issue,
        Section: section,
        Entry: entry,
        Tag: Tag.objects.get(name="全新标签"),
        Group: Group.objects.create(name="New"),
        User: User.objects.create(username="new"),
        Revision: Revision.objects.order_by("-pk").first(),
    }
    for model, row in created.items():
        assert row.pk > top[model], model


def test_the_header_describes_the_archive(archive_file):
    path, made = archive_file
    header = json.loads(backup_lines(path)[0])
    assert header["format"] == "paper-digest-archive" and header["version"] == 1
    assert header["migrations"]["papers"][:4] == [
        "0001_initial",
        "0002_edit_token_and_publish_permission",
        "0003_editor_and_publisher_groups",
        "0004_search_index",
    ]
    counts = header["counts"]
    assert counts["papers.entry"] == len(made["papers.Entry"]) == 22
    assert counts["auth.user"] == 2 and counts["reversion.version"] == len(made["versions"])
    assert datetime.datetime.fromisoformat(header["created_at"]) <= timezone.now()


def test_what_is_in_the_backup_and_what_is_not(archive_file):
    path, _ = archive_file
    models = {json.loads(line)["model"] for line in backup_lines(path)[1:]}
    assert {
        "papers.issue",
        "papers.section",
        "papers.entry",
        "papers.tag",
        "papers.taggedentry",
        "reversion.revision",
        "reversion.version",
        "auth.user",
        "auth.group",
        "auth.permission",
        "contenttypes.contenttype",
        "admin.logentry",
    } <= models
    assert not models & {"sessions.session", "papers.searchdocument", "axes.accesslog"}
    # A misspelt exclusion would exclude nothing.
    assert set(backup.EXCLUDED) <= {m._meta.label_lower for m in apps.get_models()}


# Refusals ---------------------------------------------------------------------------


def test_refuses_a_database_that_holds_an_archive(archive_file):
    path, made = archive_file
    call_command("restore_archive", str(path), verbosity=0)
    with pytest.raises(CommandError, match=r"Refusing to restore.*papers\.issue.*--force"):
        call_command("restore_archive", str(path), verbosity=0)
    assert snapshot() == made


def test_refuses_a_database_with_only_a_user(archive_file):
    path, _ = archive_file
    User.objects.create_superuser("admin", "a@example.org", PASSWORD)
    with pytest.raises(CommandError, match=r"Refusing.*1 auth\.user"):
        call_command("restore_archive", str(path), verbosity=0)
    assert not Issue.objects.exists()


def test_force_replaces_what_is_there(archive_file):
    path, made = archive_file
    call_command("restore_archive", str(path), verbosity=0)
    Issue.objects.get(slug=NEW_ISSUE).delete()
    Tag.objects.create(name="多余", slug="extra")
    User.objects.create_user("intruder", password=PASSWORD)
    Group.objects.create(name="Extra")
    Session.objects.create(
        session_key="k" * 32,
        session_data="x",
        expire_date=timezone.now() + datetime.timedelta(days=1),
    )
    call_command("restore_archive", str(path), force=True, verbosity=0)
    assert snapshot() == made
    assert not Session.objects.exists()


def test_refuses_a_backup_of_another_schema(archive_file):
    path, _ = archive_file
    lines = backup_lines(path)
    header = json.loads(lines[0])
    header["migrations"]["papers"].append("0099_from_the_future")
    write_lines(path, [json.dumps(header) + "\n", *lines[1:]])
    with pytest.raises(CommandError, match=r"papers\.0099_from_the_future"):
        call_command("restore_archive", str(path), verbosity=0)


# A failed restore leaves nothing ------------------------------------------------------


def truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 9 // 10])  # gzip stream cut off: EOFError


def last_line_dropped(path):
    write_lines(path, backup_lines(path)[:-1])  # well-formed, one row short


def garbled_near_the_end(path):
    lines = backup_lines(path)
    lines[-2] = lines[-2][: len(lines[-2]) // 2] + "\n"  # half a JSON object
    write_lines(path, lines)


def duplicate_entry_at_the_end(path):
    lines = backup_lines(path)
    entry_line = next(line for line in lines if '"model": "papers.entry"' in line)
    write_lines(path, [*lines, entry_line])  # the same id twice: IntegrityError


def not_gzip(path):
    path.write_text("not a backup\n")


@pytest.mark.parametrize(
    "damage",
    [truncated, last_line_dropped, garbled_near_the_end, duplicate_entry_at_the_end, not_gzip],
)
def test_a_failed_restore_leaves_the_database_unchanged(archive_file, damage):
    """All but the last damages fail only after most rows were written: the
    papers, users and groups come before the history in the file."""
    path, _ = archive_file
    damage(path)
    before = snapshot()
    permissions = Permission.objects.count()
    with pytest.raises(CommandError, match="Not restored, the database is unchanged"):
        call_command("restore_archive", str(path), verbosity=0)
    assert snapshot() == before
    assert Permission.objects.count() == permissions
    assert not SearchDocument.objects.exists()
    assert [g.name for g in Group.objects.order_by("name")] == ["Editor", "Publisher"]


# SQLite → PostgreSQL → SQLite, with the real commands --------------------------------


def postgres_server_url():
    """The PostgreSQL server to make a scratch database on, or None."""
    url = os.environ.get("DIGEST_TEST_POSTGRES_URL", "")
    if not url and os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        url = os.environ["DATABASE_URL"]
    return url or None


class ScratchPostgres:
    """A database on the given server, named after the URL's database (so that
    it stays in the caller's name space), this process and a random part;
    dropped on exit, whatever happened. bench/common/scratch.py does the same for
    the benchmarks but only on the fixed local server; this one takes the server
    from the URL, as CI gives it."""

    def __init__(self, server_url):
        parts = urlsplit(server_url)
        base = parts.path.lstrip("/") or "digest"
        self.name = f"{base}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))

    def _admin(self, sql):
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql)

    def __enter__(self):
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def manage(database_url, *args):
    """``manage.py`` on another database, in development settings (no Redis,
    no HTTPS redirect), as an operator would run it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "CACHE_URL", "DJANGO_HTTPS", "DATABASE_REPLICA_URLS"}
    }
    env.update(DATABASE_URL=database_url, DJANGO_DEBUG="1")
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def render(database_url):
    """What RENDER prints (its last line) for the database."""
    return json.loads(manage(database_url, "shell", "--no-imports", "-c", RENDER).splitlines()[-1])


PAGES = [
    "/",
    "/issues/",
    f"/issues/{NEW_ISSUE}/",
    "/issues/2024-06-h2/",
    f"/tags/{quote('幻觉')}/",
    "/sections/multimodal/",
    "/papers/2407.00001/",
    f"/entries/?q={quote(UNIQUE_WORD)}",
    "/feeds/issues.atom",
    "/api/issues",
    f"/api/issues/{NEW_ISSUE}",
    "/api/tags",
    f"/api/entries?q={quote(UNIQUE_WORD)}",
]

# Printed as JSON by a subprocess: the pages, and checks of what only a live
# database shows (a password that still works, ids that are free).
RENDER = f"""
import json
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from papers.models import Entry, Issue, Section
client = Client(HTTP_HOST="localhost")
pages = {{}}
for url in {PAGES!r}:
    response = client.get(url)
    pages[url] = [response.status_code, response.content.decode()]
with transaction.atomic():
    issue = Issue.objects.create(title="x", slug="after-restore",
        period_start="2025-01-01", period_end="2025-01-14")
    Entry.objects.create(issue=issue, section=Section.objects.first(), title="x",
        arxiv_id="2501.00001", summary="x").tags.add("new-tag")
    transaction.set_rollback(True)
print(json.dumps({{"pages": pages,
    "password": User.objects.get(username="wang").check_password({PASSWORD!r})}}))
"""


def canonical(path):
    """A backup's header counts and its rows, in one order, related lists sorted."""
    lines = backup_lines(path)
    rows = []
    for line in lines[1:]:
        row = json.loads(line)
        for name, value in row["fields"].items():
            if isinstance(value, list) and name in {"groups", "permissions", "user_permissions"}:
                row["fields"][name] = sorted(value)
        rows.append(row)
    rows.sort(
        key=lambda row: (
            row["model"],
            json.dumps(row.get("pk")),
            json.dumps(row["fields"], sort_keys=True),
        )
    )
    return json.loads(lines[0])["counts"], rows


def without_tag_order(url, text):
    """``text`` with each entry's list of tags sorted.

    The site does not define the order of an entry's tags: SQLite gives them
    in the order their links were made, PostgreSQL in whatever order its join
    yields, from the same rows. Pages from the two databases are compared with
    those lists sorted; pages from the two SQLite databases are compared as
    they are.
    """

    def sort_items(pattern, found):
        return "".join(sorted(re.findall(pattern, found, flags=re.S)))

    if url.startswith("/api/"):
        return json.dumps(_sorted_tag_lists(json.loads(text)), ensure_ascii=False, sort_keys=True)
    text = re.sub(
        r'(<ul class="tags"[^>]*>)(.*?)(</ul>)',
        lambda m: m[1] + sort_items(r"<li>.*?</li>", m[2]) + m[3],
        text,
        flags=re.S,
    )
    text = re.sub(
        r'"keywords": (\[[^\]]*\])',
        lambda m: '"keywords": ' + json.dumps(sorted(json.loads(m[1])), ensure_ascii=False),
        text,
    )
    return re.sub(
        r"(?:<category [^>]*>\s*)+", lambda m: sort_items(r"<category [^>]*>", m[0]), text
    )


def _sorted_tag_lists(value):
    if isinstance(value, list):
        return [_sorted_tag_lists(item) for item in value]
    if isinstance(value, dict):
        return {
            key: sorted(item, key=json.dumps) if key == "tags" else _sorted_tag_lists(item)
            for key, item in value.items()
        }
    return value


def test_round_trip_sqlite_postgresql_sqlite(tmp_path):
    server = postgres_server_url()
    if server is None:
        pytest.skip(
            "no PostgreSQL server: set DIGEST_TEST_POSTGRES_URL "
            "(e.g. postgres://postgres@127.0.0.1:5432/digest) to run this test"
        )
    template = tmp_path / "migrated.sqlite3"
    manage(f"sqlite:///{template}", "migrate", "--noinput", "-v0")
    first, last = tmp_path / "first.sqlite3", tmp_path / "last.sqlite3"
    shutil.copy(template, first)
    shutil.copy(template, last)
    first_url, last_url = f"sqlite:///{first}", f"sqlite:///{last}"
    files = [tmp_path / f"{n}.jsonl.gz" for n in ("sqlite", "postgresql", "sqlite-again")]

    manage(
        first_url,
        "shell",
        "-c",
        "from tests.operations.test_backup import make_archive; make_archive()",
    )
    manage(first_url, "backup_archive", str(files[0]))
    with ScratchPostgres(server) as postgres:
        manage(postgres.url, "migrate", "--noinput", "-v0")
        manage(postgres.url, "restore_archive", str(files[0]))
        manage(postgres.url, "backup_archive", str(files[1]))
        on_postgres = render(postgres.url)
    manage(last_url, "restore_archive", str(files[1]))
    manage(last_url, "backup_archive", str(files[2]))

    dumps = [canonical(path) for path in files]
    assert dumps[0][0]["papers.entry"] == 22 and dumps[0][0]["reversion.version"] > 0
    assert dumps[1] == dumps[0]
    assert dumps[2] == dumps[0]
    assert [json.loads(backup_lines(p)[0])["database"] for p in files] == [
        "sqlite",
        "postgresql",
        "sqlite",
    ]

    # Related lists are derived: a restore rebuilds them all, where the
    # source kept them up save by save (papers.related, which may rank ties
    # apart differently). Compared as a rebuild makes them on both sides.
    manage(first_url, "rebuild_related")
    on_first = render(first_url)
    on_last = render(last_url)
    for answers in (on_first, on_postgres, on_last):
        assert answers["password"] is True
        assert all(status == 200 for status, _ in answers["pages"].values()), answers["pages"]
        assert "Annealing Multimodal Models" in answers["pages"][PAGES[7]][1]  # the search
    assert on_last["pages"] == on_first["pages"]
    assert {
        url: without_tag_order(url, page) for url, (_, page) in on_postgres["pages"].items()
    } == {url: without_tag_order(url, page) for url, (_, page) in on_first["pages"].items()}
