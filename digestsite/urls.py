from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.generic import TemplateView

from digestsite.views import health
from papers.api import api
from papers.languages import switch_language
from papers.sitemaps import SITEMAPS

handler500 = "digestsite.views.server_error"

urlpatterns = [
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("language/<str:language>/", switch_language, name="switch_language"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", TemplateView.as_view(
        template_name="robots.txt", content_type="text/plain; charset=utf-8")),
]

# The public pages in each language: Chinese at /, English at /en/ (papers.languages).
urlpatterns += i18n_patterns(path("", include("papers.urls")), prefix_default_language=False)

# The read-only JSON API and its OpenAPI schema (papers.api).
urlpatterns += [path("api/", api.urls)]
