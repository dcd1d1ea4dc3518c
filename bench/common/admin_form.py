"""An admin form read from its HTML into what a browser would post back.

The tests post the admin's own add and change forms, and the soak's editors
post them to a running server: both must send what a browser sends, the
edit-conflict token and the inline formsets' management fields included, or
they test a form no editor ever submits. The rules are the HTML form
submission rules as far as the admin's forms use them:

- every named ``input``, ``select`` and ``textarea`` of the form, except the
  disabled ones and the buttons (a button is sent only when it is the one
  pressed: the caller adds ``_save`` or ``_continue`` itself) and file inputs;
- checkboxes and radio buttons only when checked, as ``on`` without a value;
- a select's selected options; a single select with none selected sends its
  first option, as the browser shows it; an option without a value sends its
  text;
- a textarea's text without the one newline that follows its start tag
  (the HTML parser drops it; Django writes it so that a text starting with a
  newline keeps it).

The page is decoded as UTF-8, the admin's charset: left to guess,
BeautifulSoup once took a page of mostly ASCII with a few "⟦" for Cyrillic.
"""

from bs4 import BeautifulSoup

SKIPPED_INPUTS = ("submit", "button", "image", "reset", "file")


def _html(page):
    """The page's text, from a test response, bytes or text."""
    page = getattr(page, "content", page)
    return page.decode("utf-8") if isinstance(page, bytes) else page


def form_fields(page, form_id):
    """``(name, value)`` pairs, in the form's order, as the browser would post them.

    ``page`` is the HTML (text, or bytes in UTF-8) or a test client response."""
    form = BeautifulSoup(_html(page), "html.parser").find("form", id=form_id)
    if form is None:
        raise ValueError(f"no form #{form_id} on the page")
    fields = []
    for element in form.find_all(["input", "select", "textarea"]):
        name = element.get("name")
        if not name or element.has_attr("disabled"):
            continue
        if element.name == "textarea":
            fields.append((name, element.get_text().removeprefix("\n")))
        elif element.name == "select":
            chosen = element.find_all("option", selected=True)
            if not chosen and not element.has_attr("multiple"):
                chosen = element.find_all("option")[:1]
            fields += [(name, option.get("value", option.get_text())) for option in chosen]
        else:
            kind = element.get("type", "text").lower()
            if kind in SKIPPED_INPUTS:
                continue
            if kind in ("checkbox", "radio") and not element.has_attr("checked"):
                continue
            fields.append(
                (name, element.get("value", "on" if kind in ("checkbox", "radio") else ""))
            )
    return fields


def form_data(page, form_id):
    """The same as a dict for the test client: a name posted once maps to its
    value, a name posted several times (a multiple select) to the list."""
    data = {}
    for name, value in form_fields(page, form_id):
        if name not in data:
            data[name] = value
        elif isinstance(data[name], list):
            data[name].append(value)
        else:
            data[name] = [data[name], value]
    return data
