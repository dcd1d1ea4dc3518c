"""The reader's forms: signing up, and choosing what to receive.

Everything typed is refused with a message rather than cleaned up silently
when it could not be what the reader meant: a line break or control
character in any field (it has no place in an address, a tag or a choice,
and would be a header injection in an address), an unknown section or tag,
an address our mail cannot reach.
"""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from papers.models import Section, Tag
from papers.tag_input import parse_tags

from .models import Subscriber

MAX_ADDRESS_LENGTH = 254  # RFC 5321's limit on a path, as Django's EmailField
MAX_TAG_INPUT_LENGTH = 1000
MAX_TAGS = 30
MAX_SECTIONS = 100
# The tags offered as the reader types (the admin's list is as long).
TAG_SUGGESTIONS_SHOWN = 500

EVERY_ISSUE = "all"
CHOSEN = "chosen"

CONTROL_CHARACTERS = _("不能包含换行符或其他控制字符。")
TOO_LONG = _("太长了：最多 %(limit_value)d 个字符（现在是 %(show_value)d 个）。")
INVALID_ADDRESS = _("请填写有效的邮箱地址，例如 name@example.com。")
NON_ASCII_LOCAL_PART = _(
    "暂不支持 @ 前面含有中文等非 ASCII 字符的地址（例如 用户@例子.中国）："
    "投递到这样的地址需要收发两端都支持 SMTPUTF8，我们的发信通道目前做不到，"
    "邮件会投递失败。@ 后面的域名可以是中文（例如 name@例子.中国）。"
    "请换一个 @ 前面只有英文字母、数字和常见符号的地址。"
)


def has_control_characters(text):
    """Line breaks of every kind and control characters (NUL, ESC...)."""
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text)


def no_control_characters(value):
    if has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS, code="control")


def normalised_address(value):
    """The address as stored: the part before the @ as typed, the domain in
    lower case and in Unicode (``name@XN--FSQU00A.XN--FIQS8S`` and
    ``name@例子.中国`` are one subscriber; Django's mail sends the domain in
    its ASCII form). Raises ValidationError for an address we cannot mail:
    the part before the @ must be ASCII, since our SMTP path has no SMTPUTF8."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(INVALID_ADDRESS, code="invalid")
    if not local.isascii():
        raise ValidationError(NON_ASCII_LOCAL_PART, code="smtputf8")
    try:
        ascii_domain = domain.lower().encode("idna").decode("ascii")
        unicode_domain = ascii_domain.encode("ascii").decode("idna")
    except UnicodeError as error:
        raise ValidationError(INVALID_ADDRESS, code="invalid") from error
    ascii_address = f"{local}@{ascii_domain}"
    if len(ascii_address) > MAX_ADDRESS_LENGTH:
        raise ValidationError(
            TOO_LONG,
            code="max_length",
            params={"limit_value": MAX_ADDRESS_LENGTH, "show_value": len(ascii_address)},
        )
    validate_email(ascii_address)  # raises with Django's message; replaced below
    return f"{local}@{unicode_domain}"


class SectionChoiceField(forms.ModelMultipleChoiceField):
    """Public sections by slug. A value that is not a slug, or too many
    values, is refused before any query is made of them."""

    def clean(self, value):
        values = value or []
        if len(values) > MAX_SECTIONS:
            raise ValidationError(self.error_messages["invalid_choice"] % {"value": "…"})
        for item in values:
            if not isinstance(item, str) or has_control_characters(item):
                raise ValidationError(CONTROL_CHARACTERS, code="control")
            if len(item) > 100 or not item.replace("-", "").replace("_", "").isalnum():
                raise ValidationError(
                    self.error_messages["invalid_choice"], params={"value": item[:100]}
                )
        return super().clean(value)


class SelectionForm(forms.Form):
    """What a reader receives and in which language: every issue, or the
    entries of chosen sections and tags."""

    language = forms.ChoiceField(
        label=_("邮件语言"),
        choices=Subscriber.Language.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择邮件语言。"), "invalid_choice": _("请选择邮件语言。")},
    )
    scope = forms.ChoiceField(
        label=_("接收内容"),
        choices=[(EVERY_ISSUE, _("每一期的全部内容")), (CHOSEN, _("只要下面选中的栏目和标签"))],
        initial=EVERY_ISSUE,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择接收的内容。"),
            "invalid_choice": _("请选择接收的内容。"),
        },
    )
    sections = SectionChoiceField(
        label=_("栏目"),
        queryset=Section.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _("没有这个栏目：%(value)s。"),
            "invalid_pk_value": _("没有这个栏目：%(pk)s。"),
        },
    )
    tags = forms.CharField(
        label=_("标签"),
        required=False,
        strip=False,  # a line break at either end is refused, not cut off
        max_length=MAX_TAG_INPUT_LENGTH,
        validators=[no_control_characters],
        error_messages={"max_length": TOO_LONG},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sections"].queryset = Section.objects.published().in_issue_order()

    def clean_tags(self):
        names = parse_tags(self.cleaned_data["tags"])
        if len(names) > MAX_TAGS:
            raise ValidationError(
                _("最多选择 %(limit)d 个标签。"), code="too_many", params={"limit": MAX_TAGS}
            )
        tags = list(Tag.objects.published().filter(name__in=names))
        found = {tag.name.casefold() for tag in tags}
        for name in names:
            if name.casefold() not in found:
                # The name as typed in another case ("rag" for "RAG").
                match = Tag.objects.published().filter(name__iexact=name).first()
                if match is not None:
                    tags.append(match)
                    found.add(name.casefold())
        unknown = [name for name in names if name.casefold() not in found]
        if unknown:
            raise ValidationError(
                _("没有这些标签：%(names)s。请从输入时出现的提示中选择已有的标签。"),
                code="unknown",
                params={"names": "、".join(unknown)},
            )
        return sorted(set(tags), key=lambda tag: tag.name)

    def clean(self):
        data = super().clean()
        chosen = data.get("scope") == CHOSEN and "sections" in data and "tags" in data
        if chosen and not data["sections"] and not data["tags"]:
            self.add_error(
                "scope",
                ValidationError(
                    _("请至少选择一个栏目或一个标签，或者改为接收每一期。"), code="empty"
                ),
            )
        return data

    def tag_suggestions(self):
        """The public tags, most used first, for the tag input's <datalist>."""
        return (
            Tag.objects.public_counts()
            .most_used_first()
            .values_list("name", flat=True)[:TAG_SUGGESTIONS_SHOWN]
        )

    @property
    def every_issue(self):
        return self.cleaned_data["scope"] == EVERY_ISSUE

    @classmethod
    def initial_for(cls, subscriber):
        """The form's values for what ``subscriber`` receives now."""
        return {
            "language": subscriber.language,
            "scope": EVERY_ISSUE if subscriber.every_issue else CHOSEN,
            "sections": [section.slug for section in subscriber.sections.all()],
            "tags": "、".join(tag.name for tag in subscriber.tags.order_by("name")),
        }


class SubscribeForm(SelectionForm):
    """Signing up: an address, and what to receive. ``website`` is a trap for
    robots, hidden from people (see the template): a form with it filled in
    is answered as a success, and nothing is done."""

    field_order = ["email", "language", "scope", "sections", "tags"]

    email = forms.CharField(
        label=_("邮箱地址"),
        max_length=MAX_ADDRESS_LENGTH,
        strip=False,  # a line break at either end is refused, not cut off
        validators=[no_control_characters],
        error_messages={"required": _("请填写邮箱地址。"), "max_length": TOO_LONG},
    )
    website = forms.CharField(required=False)

    def clean_email(self):
        try:
            return normalised_address(self.cleaned_data["email"])
        except ValidationError as error:
            if error.code in ("smtputf8", "max_length"):
                raise
            raise ValidationError(INVALID_ADDRESS, code="invalid") from error

    @property
    def is_trap(self):
        """True when the hidden field was filled in: a robot, not a reader."""
        return bool(self.data.get("website"))
