"""The editors' admin site: Django's, with its titles, our app first and
the full width for the writing pages.

Django lists apps by name, so 论文双周报 (the whole of an editor's work) came
after 认证和授权 and django-axes' login records. Editors find their app at the
top of the index; the others follow in Django's order. Installed through
``DigestAdminConfig`` (digestsite/apps.py), Django's documented way to
replace the default site, so ``admin.site`` and ``@admin.register`` keep
working everywhere.
"""

from django.contrib.admin import AdminSite

FIRST_APP = "papers"


class DigestAdminSite(AdminSite):
    site_header = "大模型论文双周报 · 编辑后台"
    site_title = "论文双周报编辑后台"
    index_title = "内容管理"
    # The side navigation repeats the index and takes a quarter of the width
    # that the issue form (summary beside its preview) and the entry list need.
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        return sorted(app_list, key=lambda app: app["app_label"] != FIRST_APP)
