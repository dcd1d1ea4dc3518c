import pytest
from django.core.exceptions import ValidationError

from papers.arxiv import is_arxiv_id, normalize_arxiv_id


@pytest.mark.parametrize(
    "typed",
    [
        "2406.15877",
        "2406.15877v1",
        "2406.15877v12",
        "arXiv:2406.15877",
        "arxiv:2406.15877v2",
        "https://arxiv.org/abs/2406.15877v2",
        "https://arxiv.org/abs/2406.15877",
        "http://arxiv.org/abs/2406.15877/",
        "https://arxiv.org/pdf/2406.15877",
        "https://arxiv.org/pdf/2406.15877v3.pdf",
        "https://www.arxiv.org/html/2406.15877v1",
        "https://export.arxiv.org/abs/2406.15877",
        "  2406.15877  ",
    ],
)
def test_every_pasted_form_stores_the_bare_id(typed):
    assert normalize_arxiv_id(typed) == "2406.15877"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("cs/0112017", "cs/0112017"),
        ("cs/0112017v1", "cs/0112017"),
        ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("arXiv:MATH.gt/0309136", "math.GT/0309136"),
        ("0704.0001", "0704.0001"),
        ("1501.00001v1", "1501.00001"),
    ],
)
def test_old_style_and_four_digit_ids(typed, stored):
    assert normalize_arxiv_id(typed) == stored


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_stays_empty(empty):
    assert normalize_arxiv_id(empty) == ""


@pytest.mark.parametrize(
    "bad",
    [
        "not an id",
        "2406.158",
        "2406.158771",
        "24061.5877",
        "https://example.com/abs/2406.15877",
        "https://arxiv.org/list/cs.CL/recent",
        "2406.15877 2406.15878",
        "2406.15877v",
        "javascript:alert(1)",
        "2406.15877\x00",
    ],
)
def test_anything_else_is_a_validation_error(bad):
    with pytest.raises(ValidationError) as error:
        normalize_arxiv_id(bad)
    assert error.value.code == "invalid_arxiv_id"


def test_is_arxiv_id_accepts_only_the_stored_form():
    assert is_arxiv_id("2406.15877")
    assert is_arxiv_id("cs/0112017")
    assert not is_arxiv_id("2406.15877v2")
    assert not is_arxiv_id("arXiv:2406.15877")
