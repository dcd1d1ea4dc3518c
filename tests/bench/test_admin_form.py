"""bench.common.admin_form reads a form as the browser would post it.

The admin tests and the soak's editors post what it reads; a field sent that
a browser would not send (an unchecked box, a button not pressed) or a value
changed on the way (a textarea's first newline) would test another form.
"""

import pytest

from bench.common.admin_form import form_data, form_fields

FORM = """<!DOCTYPE html><html><body>
<form id="other_form"><input name="elsewhere" value="no"></form>
<form id="entry_form" method="post">
  <input type="hidden" name="csrfmiddlewaretoken" value="tok">
  <input type="text" name="title" value="幻觉 ⟦Кириллица⟧">
  <input type="text" name="empty">
  <input name="no_type" value="plain">
  <input type="checkbox" name="ticked" checked>
  <input type="checkbox" name="ticked_value" value="yes" checked>
  <input type="checkbox" name="unticked">
  <input type="radio" name="choice" value="a">
  <input type="radio" name="choice" value="b" checked>
  <input type="text" name="locked" value="x" disabled>
  <input type="submit" name="_save" value="保存">
  <input type="SUBMIT" name="_continue" value="保存并继续编辑">
  <input type="button" name="pressed" value="no">
  <input type="file" name="upload">
  <input value="nameless">
  <textarea name="summary">
第一行
第二行</textarea>
  <textarea name="leading">

starts with a newline</textarea>
  <select name="status"><option value="draft">草稿</option>
    <option value="published" selected>已发布</option></select>
  <select name="section"><option value="1">RAG</option><option value="2">安全</option></select>
  <select name="issue"></select>
  <select name="text_option"><option selected>无值</option></select>
  <select name="tags" multiple><option value="1" selected>a</option><option value="2">b</option>
    <option value="3" selected>c</option></select>
  <select name="none_picked" multiple><option value="1">a</option></select>
</form></body></html>"""


def test_the_fields_are_those_a_browser_posts_in_the_forms_order():
    assert form_fields(FORM, "entry_form") == [
        ("csrfmiddlewaretoken", "tok"),
        ("title", "幻觉 ⟦Кириллица⟧"),
        ("empty", ""),
        ("no_type", "plain"),
        ("ticked", "on"),
        ("ticked_value", "yes"),
        ("choice", "b"),
        ("summary", "第一行\n第二行"),
        ("leading", "\nstarts with a newline"),
        ("status", "published"),
        ("section", "1"),
        ("text_option", "无值"),
        ("tags", "1"),
        ("tags", "3"),
    ]


def test_the_dict_for_the_test_client_keeps_every_value_of_a_name():
    data = form_data(FORM.encode(), "entry_form")
    assert data["tags"] == ["1", "3"]
    assert data["title"] == "幻觉 ⟦Кириллица⟧"
    assert "unticked" not in data and "_save" not in data and "issue" not in data


def test_a_response_is_read_as_utf8_whatever_it_looks_like():
    class Response:
        content = FORM.encode("utf-8")
        charset = None

    assert form_data(Response(), "entry_form")["title"] == "幻觉 ⟦Кириллица⟧"


def test_a_missing_form_is_an_error():
    with pytest.raises(ValueError, match="no form #issue_form"):
        form_fields(FORM, "issue_form")
