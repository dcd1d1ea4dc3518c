from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.generic import TemplateView

from operations.views import health
from reading.api import api
from reading.languages import switch_language
from reading.sitemaps import SITEMAPS
from reading.views import site_icon

handler500 = "operations.views.server_error"

urlpatterns = [
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("language/<str:language>/", switch_language, name="switch_language"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    # Where browsers and feed readers look for an icon without reading a page.
    path("favicon.ico", site_icon, {"name": "favicon.ico"}),
    path("apple-touch-icon.png", site_icon, {"name": "apple-touch-icon.png"}),
    path(
        "robots.txt",
        TemplateView.as_view(template_name="robots.txt", content_type="text/plain; charset=utf-8"),
    ),
]

# The public pages in each language: Chinese at /, English at /en/ (reading.languages).
urlpatterns += i18n_patterns(
    path("", include("reading.urls")),
    path("", include("newsletter.urls")),
    prefix_default_language=False,
)

# The read-only JSON API and its OpenAPI schema (reading.api).
urlpatterns += [path("api/", api.urls)]
