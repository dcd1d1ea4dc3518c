from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.generic import TemplateView

from papers.api import api
from papers.sitemaps import SITEMAPS

admin.site.site_header = "大模型论文双周报 · 编辑后台"
admin.site.site_title = "论文双周报编辑后台"
admin.site.index_title = "内容管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("papers.urls")),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", TemplateView.as_view(
        template_name="robots.txt", content_type="text/plain; charset=utf-8")),
]

# The read-only JSON API and its OpenAPI schema (papers.api).
urlpatterns += [path("api/", api.urls)]
