from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "大模型论文双周报 · 编辑后台"
admin.site.site_title = "论文双周报编辑后台"
admin.site.index_title = "内容管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("papers.urls")),
]
