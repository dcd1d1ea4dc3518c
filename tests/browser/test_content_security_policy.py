"""The Content-Security-Policy breaks nothing: a browser that enforces it reports
no violation on the readers' pages or in the editors' admin, whose scripts
(live preview, tag suggestions, ordering, presence) must all still run."""

import reversion
from django.contrib.auth.models import Group, User

from papers.models import Issue
from reading import pages
from tests.support.browser import RECORD_VIOLATIONS

PASSWORD = "a long editorial password"


def violations_on(page, url):
    response = page.goto(url)
    assert response.status < 500, url
    assert "Content-Security-Policy" in {name.title() for name in response.headers}, url
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__cspViolations")


def test_no_page_violates_the_policy(live_server, seed, page):
    page.add_init_script(RECORD_VIOLATIONS)
    base = live_server.url
    entry = seed.entries.first()
    editor = User.objects.create_user("editor", password=PASSWORD, is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    with reversion.create_revision():
        seed.title += "（修订）"
        seed.save()

    # Every public page in each language (reading/pages.py), a filtered
    # search, an entry's place in its issue and a page that is not there.
    reader_pages = [
        url for language in pages.LANGUAGES for url in pages.example_urls(language).values()
    ]
    reader_pages += ["/entries/?q=幻觉&tag=RAG", entry.get_absolute_url(), "/issues/no-such-issue/"]
    for address in reader_pages:
        assert violations_on(page, base + address) == [], address

    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    issue = Issue.objects.get(pk=seed.pk)
    admin_pages = [
        "/admin/",
        "/admin/papers/issue/",
        f"/admin/papers/issue/{issue.pk}/change/",
        f"/admin/papers/issue/{issue.pk}/history/",
        f"/admin/papers/issue/{issue.pk}/preview/",
        f"/admin/papers/issue/{issue.pk}/wechat/",
        "/admin/papers/entry/add/",
    ]
    for address in admin_pages:
        assert violations_on(page, base + address) == [], address

    # The editors' scripts ran under the policy: typing Markdown fills the live preview.
    page.goto(f"{base}/admin/papers/issue/{issue.pk}/change/")
    page.fill("#id_intro", "**加粗的导言**")
    page.wait_for_selector("strong:has-text('加粗的导言')")
    assert page.evaluate("window.__cspViolations") == []


def test_the_policy_is_enforced(live_server, seed, page):
    """The check above can fail: an inline script is refused and reported."""
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server.url + "/")
    ran = page.evaluate("""() => {
        window.__inlineRan = false;
        const script = document.createElement("script");
        script.textContent = "window.__inlineRan = true";
        document.body.append(script);
        return window.__inlineRan;
    }""")
    assert ran is False
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__cspViolations")[0].startswith("script-src")
