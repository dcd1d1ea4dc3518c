import pytest

from papers.tags import parse_tags


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
    ],
)
def test_chinese_separators_split_like_commas(typed, names):
    assert parse_tags(typed) == names


def test_without_separators_spaces_split_as_taggit_does():
    assert parse_tags("rag hallucination") == ["hallucination", "rag"]
