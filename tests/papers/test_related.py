"""Related entries by content (papers.related): terms, weights, the stored
lists and how saves keep them."""

import datetime

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers import related
from papers.models import EntryTerms, Issue, RelatedEntry, TermCount, TermPosting
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

HALLUCINATION = "提出一种幻觉检测方法，用语义熵识别 hallucination，检测准确率提升。"
HALLUCINATION_TOO = "本文研究幻觉检测：模型的 hallucination 可以通过探针检测出来。"
QUANTISATION = "量化压缩把权重降到四比特，推理速度翻倍，显存占用减半。"
AGENTS = "智能体在网页环境中规划工具调用，完成多步任务。"


def listed(entry):
    """Entry ``entry``'s stored list: [(related entry id, shared terms)], best first."""
    rows = RelatedEntry.objects.filter(entry=entry).order_by("-score", "related_id")
    return [(row.related_id, row.shared_terms) for row in rows]


def ids(entry):
    return [pk for pk, _ in listed(entry)]


@pytest.fixture
def section():
    return SectionFactory(name="LLM安全与对齐")


def test_the_most_alike_entry_comes_first_with_the_words_shared(section):
    a = EntryFactory(section=section, title="Semantic Entropy Probes", summary=HALLUCINATION)
    b = EntryFactory(section=section, title="Probing Hallucinations", summary=HALLUCINATION_TOO)
    c = EntryFactory(section=section, title="Four-bit Weights", summary=QUANTISATION)
    EntryFactory(section=section, title="Web Agents", summary=AGENTS)
    first, shared = listed(a)[0]
    assert first == b.pk
    assert "幻觉检测" in shared and "hallucination" in shared
    assert ids(a).index(b.pk) < ids(a).index(c.pk) if c.pk in ids(a) else True
    # Symmetric: b lists a first too.
    assert ids(b)[0] == a.pk


def test_traditional_and_simplified_chinese_are_alike(section):
    simplified = EntryFactory(
        section=section, title="A", summary="幻觉检测与语义熵，检测模型幻觉。"
    )
    traditional = EntryFactory(
        section=section, title="B", summary="幻覺檢測與語義熵，檢測模型幻覺。"
    )
    EntryFactory(section=section, title="C", summary=QUANTISATION)
    (first, shared), *_ = listed(traditional)
    assert first == simplified.pk
    # Folded to Simplified; each stretch of shared bigrams is one word.
    assert "语义熵" in shared and "幻觉检测" in "".join(shared)
    assert not any(character in "".join(shared) for character in "覺檢測與語義")


def test_a_paper_covered_twice_is_not_related_to_itself(section):
    a = EntryFactory(section=section, arxiv_id="2406.00001", summary=HALLUCINATION)
    again = EntryFactory(section=section, arxiv_id="2406.00001", summary=HALLUCINATION)
    other = EntryFactory(section=section, arxiv_id="2406.00002", summary=HALLUCINATION_TOO)
    assert again.pk not in ids(a) and a.pk not in ids(again)
    assert other.pk in ids(a)


def test_lists_follow_each_save_both_ways(section):
    a = EntryFactory(section=section, title="Entropy", summary=HALLUCINATION)
    b = EntryFactory(section=section, title="Probes", summary=HALLUCINATION_TOO)
    c = EntryFactory(section=section, title="Bits", summary=QUANTISATION)
    assert b.pk in ids(a) and c.pk not in ids(a)
    b.summary = AGENTS
    b.title = "Nothing in common"
    b.save()  # b no longer alike: gone from a's list too
    assert b.pk not in ids(a)
    c.summary = HALLUCINATION_TOO
    c.save()  # c alike now: in a's list without a's being saved
    assert ids(a)[0] == c.pk and a.pk in ids(c)


def test_a_save_rescores_a_bounded_number_of_the_lists_holding_it(section, monkeypatch):
    """LISTED_BY_MAX: the lists where the entry ranks best are rescored; the
    others keep their row as it was until they are saved or rebuilt."""
    a = EntryFactory(section=section, title="Entropy", summary=HALLUCINATION)
    b = EntryFactory(section=section, title="Probes", summary=HALLUCINATION_TOO)
    c = EntryFactory(section=section, title="Probes too", summary=HALLUCINATION_TOO + "语义熵")
    assert a.pk in ids(b) and a.pk in ids(c)
    monkeypatch.setattr(related, "LISTED_BY_MAX", 1)
    monkeypatch.setattr(related, "SCORE_ALL_MAX", 0)  # candidates from the postings only
    a.title, a.summary = "Nothing in common", "量化压缩把权重降到四比特。"
    a.save()
    assert (a.pk in ids(b)) != (a.pk in ids(c))  # one list rescored (a left it), one kept


def test_tags_count_as_content():
    # Three sections, so that the entries share no word until tagged alike.
    a = EntryFactory(section=SectionFactory(name="效率"), title="Bits", summary=QUANTISATION)
    b = EntryFactory(section=SectionFactory(name="智能体"), title="Agents", summary=AGENTS)
    EntryFactory(section=SectionFactory(name="安全"), title="Entropy", summary=HALLUCINATION)
    assert b.pk not in ids(a)
    a.tags.add("红队测试")
    b.tags.add("红队测试")
    assert b.pk in ids(a)
    assert "红队测试" in dict(listed(a))[b.pk]


def test_recent_issues_are_favoured_among_equals(section):
    old = IssueFactory(
        period_start=datetime.date(2022, 1, 1), period_end=datetime.date(2022, 1, 14)
    )
    new = IssueFactory(
        period_start=datetime.date(2024, 1, 1), period_end=datetime.date(2024, 1, 14)
    )
    a = EntryFactory(section=section, summary=HALLUCINATION)
    older = EntryFactory(issue=old, section=section, title="Twin", summary=HALLUCINATION_TOO)
    newer = EntryFactory(issue=new, section=section, title="Twin", summary=HALLUCINATION_TOO)
    assert ids(a)[:2] == [newer.pk, older.pk]
    # Order by the date itself, not its age: the ratio never changes with time.
    day = datetime.date(2023, 5, 1)
    assert related.freshness(day + datetime.timedelta(days=365)) == pytest.approx(
        2 * related.freshness(day)
    )


def test_drafts_are_stored_but_never_public(section):
    """Lists hold every entry, so that publishing needs no recomputation;
    ``public_for`` keeps only what ``Entry.objects.published()`` admits."""
    a = EntryFactory(section=section, summary=HALLUCINATION)
    draft = IssueFactory(status=Issue.Status.DRAFT)
    secret = EntryFactory(issue=draft, section=section, summary=HALLUCINATION_TOO)
    assert secret.pk in ids(a)
    assert secret.pk not in [row.related_id for row in RelatedEntry.objects.public_for([a.pk])]
    draft.publish()
    assert secret.pk in [row.related_id for row in RelatedEntry.objects.public_for([a.pk])]


def test_term_counts_kept_by_saves_equal_a_rebuild(section):
    entries = [EntryFactory(section=section, summary=text) for text in (HALLUCINATION, AGENTS)]
    entries[0].summary = QUANTISATION
    entries[0].save()
    entries[1].tags.add("工具调用")
    EntryFactory(section=section, summary=HALLUCINATION_TOO).delete()
    kept = {term: n for term, n in TermCount.objects.values_list("term", "entries") if n}
    related.rebuild()
    assert kept == dict(TermCount.objects.values_list("term", "entries"))


def test_a_rebuild_read_in_batches_makes_what_one_batch_makes(section, monkeypatch):
    """The rebuild reads the entries twice, a batch at a time, writing each
    batch's terms while the next is read (a server-side cursor on
    PostgreSQL): read two at a time, it makes the same lists and terms."""
    texts = (HALLUCINATION, AGENTS, QUANTISATION, HALLUCINATION_TOO, HALLUCINATION + AGENTS)
    entries = [EntryFactory(section=section, summary=text) for text in texts]
    related.rebuild()
    kept = {entry.pk: listed(entry) for entry in entries}
    weights = dict(EntryTerms.objects.values_list("entry_id", "weights"))
    assert sum(len(rows) for rows in kept.values()) >= 4  # lists to compare
    monkeypatch.setattr(related, "BATCH", 2)
    assert related.rebuild() == len(entries)
    assert {entry.pk: listed(entry) for entry in entries} == kept
    assert dict(EntryTerms.objects.values_list("entry_id", "weights")) == weights


def test_candidates_from_the_postings_in_a_large_archive(section, monkeypatch):
    """Past SCORE_ALL_MAX entries a save scores only the candidates that
    TermPosting finds for its heaviest shared terms."""
    monkeypatch.setattr(related, "SCORE_ALL_MAX", 0)
    others = [EntryFactory(section=section, summary=text) for text in (QUANTISATION, AGENTS)]
    b = EntryFactory(section=section, summary=HALLUCINATION_TOO)
    a = EntryFactory(section=section, summary=HALLUCINATION)
    assert ids(a)[0] == b.pk and ids(b)[0] == a.pk
    assert TermPosting.objects.filter(entry=a).count() <= related.POSTED_TERMS
    related.rebuild()
    assert ids(a)[0] == b.pk and not set(ids(a)) & {o.pk for o in others if o.pk not in ids(a)}


def test_a_deleted_entry_leaves_every_list_and_count(section):
    a = EntryFactory(section=section, summary=HALLUCINATION)
    b = EntryFactory(section=section, summary=HALLUCINATION_TOO)
    b.delete()
    assert ids(a) == [] and not EntryTerms.objects.filter(entry_id=b.pk).exists()
    assert TermCount.objects.get(term="hallucination").entries == 1


def test_the_seed_gets_its_lists(seed):
    entries = list(seed.entries.all())
    assert sum(bool(ids(entry)) for entry in entries) >= 15
    assert EntryTerms.objects.count() == len(entries)
    before = {entry.pk: listed(entry) for entry in entries}
    call_command("rebuild_related", verbosity=0)
    assert {entry.pk: listed(entry) for entry in entries} == before  # load_seed rebuilt them


odd_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=80,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=odd_text.filter(str.strip), summary=odd_text)
def test_any_text_saves_and_compares(section, title, summary):
    """Emoji, empty summaries, lone surrogates' neighbours, control characters:
    a save never fails, and the words shared are words of the text."""
    EntryFactory(section=section, summary=HALLUCINATION)
    entry = EntryFactory(section=section, title=title, summary=summary)
    for _, shared in listed(entry):
        assert all(word and word.strip() == word for word in shared)
    EntryFactory(section=section, title=title + " again", summary=summary)


@pytest.mark.django_db(transaction=True)
def test_a_fixture_loaded_by_hand_gets_its_lists_at_commit():
    """``loaddata`` saves raw rows (an entry before its tags); each entry is
    updated once, when the load commits, not at every row."""
    from papers.management.commands.load_seed import SEED_FIXTURE

    call_command("loaddata", str(SEED_FIXTURE), verbosity=0)
    assert EntryTerms.objects.count() == 20
    assert RelatedEntry.objects.values("entry").distinct().count() >= 15


def test_a_reason_is_whole_words_never_a_fragment():
    """Two texts sharing the bigrams 贴近 and 近实 (贴近实际, 贴近实时) share
    the word 贴近, not the fragment 贴近实; a stretch within one word (令遵
    of 指令遵循) says nothing; stretches of whole words stay whole."""
    text = "更贴近实际场景的指令遵循评测"
    products = {"贴近": 0.3, "近实": 0.2, "令遵": 0.1, "评测": 0.05}
    assert related.shared_words(products, text) == ["贴近", "评测"]
    assert related.shared_words({"指令": 0.2, "令遵": 0.2, "遵循": 0.2}, text) == ["指令遵循"]
