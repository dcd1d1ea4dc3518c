"""The entries of one issue as the editors' forms submit them: where new
rows go, and what may not stand together.

Positions. Every new row in the browser starts at the model's default
position (1), and the page's script numbers rows only when one is moved or a
section changes, so a number sent for a new row says nothing the editor
chose. The server therefore decides: existing rows keep the position that was
submitted for them (a reorder is an explicit act, and the script numbers the
moved rows), while new rows are placed after every other row of their
section, existing, moved or added meanwhile by someone else. Among several
new rows of one section the submitted numbers only set their order (ties in
the order of the page). To put a new entry above older ones, save it, then
move it. The entry form (one entry on its own page) follows the same rule
for a new entry whose position was left at the default; a position typed
there is kept when free. See docs/editing.md.

One paper once per issue. The Markdown export refuses an issue holding one
arXiv id (or one link) twice, as the importer does, so the forms refuse it
too, naming both rows.

Any clash left is explained in Chinese with the titles of the rows.
"""

from collections import defaultdict

from django.core.exceptions import ValidationError

from editorial.forms import EditTokenAdminForm
from papers import arxiv
from papers.models import MAX_POSITION, Entry, Section


class Row:
    """One entry as it will be after the save: from a form or, for entries
    not in the form (added by another editor meanwhile), from the database."""

    def __init__(self, title, section_id, position, paper, form=None):
        self.title, self.section_id, self.position = title, section_id, position
        self.paper, self.form = paper, form


def paper_key(arxiv_id, url):
    """What makes two rows one paper: the bare arXiv id, else the link."""
    try:
        arxiv_id = arxiv.normalize_arxiv_id(arxiv_id)
    except ValidationError:
        arxiv_id = ""  # reported by the field itself
    if arxiv_id:
        return f"arXiv {arxiv_id}"
    return (url or "").strip()


def _row_of(form):
    data = form.cleaned_data
    section = data.get("section")
    return Row(
        data.get("title", ""),
        getattr(section, "pk", None),
        data.get("position"),
        paper_key(data.get("arxiv_id", ""), data.get("url", "")),
        form,
    )


def _row_of_entry(entry):
    return Row(entry.title, entry.section_id, entry.position, paper_key(entry.arxiv_id, entry.url))


def _section_names(section_ids):
    return dict(Section.objects.filter(pk__in=section_ids).values_list("pk", "name"))


def place_new_rows(existing, new):
    """Give each new row the next free position of its section, after all
    ``existing`` rows; new rows keep their relative order (submitted number,
    then page order)."""
    last = defaultdict(int)
    for row in existing:
        if row.section_id is not None and row.position is not None:
            last[row.section_id] = max(last[row.section_id], row.position)
    by_request = sorted(enumerate(new), key=lambda item: (item[1].position or 0, item[0]))
    for _, row in by_request:
        if row.section_id is None:
            continue
        last[row.section_id] += 1
        row.position = last[row.section_id]


def clashes(rows):
    """Chinese messages for rows sharing a (section, position) or a paper."""
    names = _section_names({row.section_id for row in rows})
    messages = []
    at = defaultdict(list)
    papers = defaultdict(list)
    for row in rows:
        if row.section_id is not None and row.position is not None:
            at[(row.section_id, row.position)].append(row)
        if row.paper:
            papers[row.paper].append(row)
    for row in rows:
        if row.position is not None and row.position > MAX_POSITION:
            messages.append(
                f"《{row.title}》的序号 {row.position} 超过了上限 {MAX_POSITION}："
                f"栏目 {names.get(row.section_id, row.section_id)} 请先重新编号。"
            )
    for (section_id, position), same in at.items():
        if len(same) > 1:
            messages.append(
                f"{_titles(same)}都在 栏目 {names.get(section_id, section_id)} 序号 {position}："
                "请修改其中的序号。"
            )
    for paper, same in papers.items():
        if len(same) > 1:
            messages.append(
                f"{_titles(same)}是同一篇论文（{paper}）：一期中每篇论文只收录一次，请删去其中一条。"
            )
    return messages


def _titles(rows):
    return "和".join(f"《{row.title}》" for row in rows)


def check_inline_rows(formset):
    """Number the new rows of an issue's entry formset and refuse clashes.

    Runs in the formset's ``clean()``, after every row's own validation and
    before Django's unique checks (whose message names fields in English).
    """
    deleted, initial = set(formset.deleted_forms), set(formset.initial_forms)
    live = [
        form
        for form in formset.forms
        if form.is_valid() and form not in deleted and (form in initial or form.has_changed())
    ]
    in_form = {form.instance.pk for form in formset.initial_forms if form.instance.pk}
    others = []
    if formset.instance.pk is not None:
        others = [
            _row_of_entry(entry)
            for entry in Entry.objects.filter(issue=formset.instance).exclude(pk__in=in_form)
        ]
    # A row deleted meanwhile that this editor keeps is placed like a new one.
    kept = {form for form in live if getattr(form.instance, "merge_ghost", None) is not None}
    existing = [_row_of(form) for form in live if form in initial and form not in kept]
    new = [_row_of(form) for form in live if form not in initial or form in kept]
    place_new_rows(existing + others, new)
    for row in new:
        if row.position is not None:
            row.form.cleaned_data["position"] = row.position
            row.form.instance.position = row.position
    messages = clashes(existing + new + others)
    for form, what in getattr(formset, "undecided_deletions", list)():
        messages.append(f"《{form.instance}》{what}：请在页面上方的“合并修改”中选择删除还是保留。")
    if messages:
        raise ValidationError(messages, code="entry_clash")


class EntryForm(EditTokenAdminForm):
    """The checks of one entry on its own page, against its issue's other
    entries: a new entry left at the default position goes last in its
    section; a taken position or a paper the issue already covers is refused
    with the other entry's title."""

    def clean(self):
        cleaned = super().clean()
        issue, section = cleaned.get("issue"), cleaned.get("section")
        if issue is None or section is None:
            return cleaned
        siblings = Entry.objects.filter(issue=issue).exclude(pk=self.instance.pk)
        if self.instance.pk is None and "position" not in self.changed_data:
            last = max(
                siblings.filter(section=section).values_list("position", flat=True), default=0
            )
            cleaned["position"] = last + 1
        taken = siblings.filter(section=section, position=cleaned.get("position")).first()
        if taken is not None:
            self.add_error(
                "position",
                (
                    f"《{taken.title}》已在本期 栏目 {section.name} 序号 {taken.position}："
                    "请换一个序号。"
                ),
            )
        key = paper_key(cleaned.get("arxiv_id", ""), cleaned.get("url", ""))
        if key.startswith("arXiv "):
            same = siblings.filter(arxiv_id=key.removeprefix("arXiv ")).first()
        else:
            same = siblings.filter(arxiv_id="", url=key).first() if key else None
        if same is not None:
            self.add_error(
                "arxiv_id" if key.startswith("arXiv") else "url",
                (f"本期已收录这篇论文（{key}）：《{same.title}》。一期中每篇论文只收录一次。"),
            )
        return cleaned
