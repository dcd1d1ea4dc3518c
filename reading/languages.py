"""The interface in two languages: Simplified Chinese at the plain URLs, English under /en/.

Every public page has one address per language (``i18n_patterns`` with the
Chinese default unprefixed), so a link, a cache entry or a search engine always
gets the same page. The browser's Accept-Language still chooses: a reader whose
browser prefers English and who has not chosen a language is sent from the
Chinese address to the English one, and the switch on every page stores the
reader's choice in the language cookie, which wins over the browser from then on.
A browser that asks for neither language gets Chinese.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.urls import translate_url
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from papers.search import HAN

# BCP 47 tags for the html lang attribute, hreflang and Content-Language.
HTML_LANG = {"zh-hans": "zh-Hans", "en": "en"}
OG_LOCALE = {"zh-hans": "zh_CN", "en": "en_US"}
HAN_CHARACTER = re.compile(f"[{HAN}]")


def text_language(text):
    """The language content is written in: Chinese if it has a Han character, else English.

    Editors write summaries and tags in Chinese and paper titles in English;
    pages mark each with its language (``{% lang_attr %}``).
    """
    return "zh-hans" if HAN_CHARACTER.search(str(text)) else "en"


def preferred_language(request):
    """The reader's choice (the cookie), else the browser's Accept-Language, else Chinese."""
    return translation.get_language_from_request(request, check_path=False)


def url_in_language(path, language):
    """``path`` (a local URL, query string kept) as the page in ``language``.

    The same path when it is not a translatable page (admin, API, an unknown
    address).
    """
    page_language = translation.get_language_from_path(urlsplit(path).path)
    with translation.override(page_language or settings.LANGUAGE_CODE):
        return translate_url(path, language)


class PreferredLanguageMiddleware:
    """Send a visit to a Chinese page on to its English one if the reader prefers English.

    Only GET and HEAD at an unprefixed address are considered, and only
    translatable pages (feeds included) are redirected: an English address
    never is, nor the admin, the API or the sitemap. What such an address
    answers depends on Accept-Language and the cookie, and ``Vary`` says so
    for shared caches.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self.negotiable(request):
            return self.get_response(request)
        language = preferred_language(request)
        if language != settings.LANGUAGE_CODE:
            path = request.get_full_path()
            target = url_in_language(path, language)
            if target != path:
                response = HttpResponseRedirect(target)
                patch_vary_headers(response, ("Accept-Language", "Cookie"))
                return response
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response

    @staticmethod
    def negotiable(request):
        return (
            request.method in ("GET", "HEAD")
            and translation.get_language_from_path(request.path_info) is None
        )


@require_safe
@never_cache
def switch_language(request, language):
    """The language switch: remember the reader's choice and show the same page in it.

    A plain link (GET), so that the switch works without JavaScript and public
    pages need no CSRF cookie; all it changes is the reader's own preference.
    """
    if language not in dict(settings.LANGUAGES):
        raise Http404("No such language.")
    next_url = request.GET.get("next", "")
    # A path of this site only: "0" or "en/" would be resolved against the
    # switch's own address (/language/en/0), a page that does not exist.
    if not next_url.startswith("/") or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(url_in_language(next_url, language))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
