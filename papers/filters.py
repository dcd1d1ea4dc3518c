"""The filters of the public entries list (``/entries/``).

Query-string parameters: ``tag`` (repeatable; several tags mean entries that
carry all of them), ``section``, ``issue`` (slugs) and ``q`` (text). Unknown
values make the form invalid, and an invalid form gives an empty result with
the form's errors, never a 500.
"""

import django_filters
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Q
from django.http import QueryDict

from .models import Issue, Section, Tag

MAX_TAGS = 10
MAX_QUERY_LENGTH = 200


class SlugChoicesField(forms.ModelMultipleChoiceField):
    """Tag slugs from the query string; refuses NUL bytes and long lists before
    they reach the database (PostgreSQL rejects NUL in text)."""

    default_error_messages = {
        **forms.ModelMultipleChoiceField.default_error_messages,
        "invalid_choice": "没有名为“%(value)s”的标签。",
        "too_many": f"最多同时筛选 {MAX_TAGS} 个标签。",
    }

    def clean(self, value):
        value = value or []
        if len(value) > MAX_TAGS:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many")
        for item in value:
            ProhibitNullCharactersValidator()(item)
        return super().clean(value)


class TagsFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = SlugChoicesField


class SlugChoiceField(django_filters.fields.ModelChoiceField):
    def to_python(self, value):
        if value:
            ProhibitNullCharactersValidator()(value)
        return super().to_python(value)


class SlugFilter(django_filters.ModelChoiceFilter):
    field_class = SlugChoiceField


def published_issues(request):
    return Issue.objects.published()


class EntryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="关键词", method="filter_text", max_length=MAX_QUERY_LENGTH, strip=True
    )
    tag = TagsFilter(
        label="标签", field_name="tags__slug", to_field_name="slug",
        queryset=Tag.objects.all(), conjoined=True,
    )
    section = SlugFilter(
        label="栏目", field_name="section", to_field_name="slug",
        queryset=Section.objects.all(), empty_label="全部栏目",
        error_messages={"invalid_choice": "没有这个栏目。"},
    )
    issue = SlugFilter(
        label="期刊", field_name="issue", to_field_name="slug",
        queryset=published_issues,
        error_messages={"invalid_choice": "没有这一期。"},
    )

    def filter_text(self, queryset, name, value):
        """Plain substring match over the entry's own text, until indexed search."""
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(summary__icontains=value)
            | Q(authors__icontains=value)
            | Q(arxiv_id__icontains=value)
        )

    def active_filters(self):
        """The applied filters, each with the query string that removes it."""
        if not self.is_bound or not self.is_valid():
            return []
        data = self.form.cleaned_data
        active = []
        if data.get("q"):
            active.append(("关键词", data["q"], self._without("q")))
        tags = {tag.slug: tag for tag in data.get("tag") or []}
        for slug in dict.fromkeys(self.data.getlist("tag")):  # in the order typed
            if slug in tags:
                active.append(("标签", tags[slug].name, self._without("tag", slug)))
        if data.get("section"):
            active.append(("栏目", data["section"].name, self._without("section")))
        if data.get("issue"):
            active.append(("期刊", data["issue"].title, self._without("issue")))
        return active

    def with_tag(self, slug):
        """The query string that narrows the current filters by one more tag."""
        params = self._params()
        if slug not in params.getlist("tag"):
            params.appendlist("tag", slug)
        return f"?{params.urlencode()}"

    def _without(self, name, value=None):
        params = self._params()
        if value is None:
            params.pop(name, None)
        else:
            params.setlist(name, [v for v in params.getlist(name) if v != value])
        encoded = params.urlencode()
        return f"?{encoded}" if encoded else "?"

    def _params(self):
        """The filter parameters as submitted, without the page number."""
        params = QueryDict(mutable=True)
        for key in self.filters:
            values = [v for v in (self.data.getlist(key) if self.data else []) if v]
            if values:
                params.setlist(key, values)
        return params
