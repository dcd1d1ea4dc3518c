import pytest

from papers.markdown import render_markdown


def test_chinese_text_lists_links_code_and_emphasis_are_kept():
    html = render_markdown(
        "**语义熵**探针能*低成本*发现幻觉。\n\n"
        "- 神经元像细粒度专家\n- 路由器偏好输出范数大的专家\n\n"
        "1. 第一\n2. 第二\n\n"
        "见 [论文](https://arxiv.org/abs/2406.15927)，代码 `probe.fit()`。\n\n"
        "```\nprint('你好')\n```"
    )
    assert "<strong>语义熵</strong>" in html
    assert "<em>低成本</em>" in html
    assert "<li>神经元像细粒度专家</li>" in html
    assert "<ol>" in html
    assert 'href="https://arxiv.org/abs/2406.15927"' in html
    assert 'rel="nofollow noopener noreferrer"' in html
    assert "<code>probe.fit()</code>" in html
    assert "<pre><code>" in html and "你好" in html


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ('<a href="#" onclick="alert(1)">点我</a>', "onclick"),
        ("[点我](javascript:alert(1))", "javascript:"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "javascript:"),
        ("[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "data:"),
        ('<iframe src="https://evil.example"></iframe>', "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
        ('<div style="background:url(javascript:alert(1))">x</div>', "style="),
        ('<svg onload="alert(1)"></svg>', "<svg"),
        ('<form action="https://evil.example"><input></form>', "<form"),
        ("<!-- <script>alert(1)</script> -->", "<script"),
        ('<a href="vbscript:msgbox(1)">x</a>', "vbscript:"),
        ('<object data="x.swf"></object>', "<object"),
    ],
)
def test_hostile_html_is_removed(hostile, forbidden):
    html = render_markdown(f"摘要开头 {hostile} 摘要结尾")
    assert forbidden not in html.lower()
    assert "摘要开头" in html


def test_empty_text_renders_empty():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""
