"""How the entry forms present their choices.

Django's admin puts add, change, delete and view buttons beside every
foreign-key select. Beside an entry's section they put an editor one click
from changing or deleting a section used by the whole archive while writing
one summary; sections are managed on their own page (栏目) instead.
"""

from django.contrib.admin.widgets import RelatedFieldWidgetWrapper

BARE_SELECTS = {"section"}


class BareSectionSelectMixin:
    """For the admins that edit entries (on their own or inline)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in BARE_SELECTS and isinstance(field.widget, RelatedFieldWidgetWrapper):
            widget = field.widget
            widget.can_add_related = widget.can_change_related = False
            widget.can_delete_related = widget.can_view_related = False
        return field
