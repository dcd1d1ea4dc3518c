import pytest

from papers.tag_input import parse_tags


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("检索增强，微调", ["微调", "检索增强"]),
        ("大模型、推理", ["大模型", "推理"]),
        ("对齐；安全", ["安全", "对齐"]),
        ("对齐;安全", ["安全", "对齐"]),
        ("长上下文, 基准测试", ["基准测试", "长上下文"]),
        ("幻觉，幻觉、幻觉", ["幻觉"]),
        ("RAG, rag，Rag", ["RAG"]),
        ("ＲＡＧ，LLM评审", ["LLM评审", "RAG"]),
        ("  多模态 ，  ", ["多模态"]),
        ('"red teaming", 越狱攻击', ["red teaming", "越狱攻击"]),
        ("", []),
        ("，、；", []),
        # A list pasted line by line: each line a tag, spaces inside kept.
        ("red teaming\r\n越狱攻击, 对齐", ["red teaming", "对齐", "越狱攻击"]),
        ("幻觉\n检测\u2028长上下文", ["幻觉", "检测", "长上下文"]),
    ],
)
def test_chinese_separators_split_like_commas(typed, names):
    assert parse_tags(typed) == names


def test_without_separators_spaces_split_as_taggit_does():
    assert parse_tags("rag hallucination") == ["hallucination", "rag"]


def test_an_entrys_tags_are_listed_by_name_whatever_the_order_they_were_added(db):
    """taggit drops the model's ordering; without one, SQLite and PostgreSQL list
    an entry's tags in different orders (the backup round trip showed it)."""
    from papers.models import Entry
    from tests.factories import EntryFactory, IssueFactory, SectionFactory

    entry = EntryFactory(issue=IssueFactory(), section=SectionFactory())
    for name in ["zeta", "alpha", "mu"]:
        entry.tags.add(name)
    assert [tag.name for tag in entry.tags.all()] == ["alpha", "mu", "zeta"]
    prefetched = Entry.objects.for_listing().get(pk=entry.pk)
    assert [tag.name for tag in prefetched.tags.all()] == ["alpha", "mu", "zeta"]
