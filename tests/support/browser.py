"""What the browser tests share besides fixtures (tests/browser/conftest.py)."""

from pathlib import Path

from tests.factories import PASSWORD

# Screenshots and other files a person may look at after a run.
ARTIFACTS = Path(__file__).resolve().parent.parent / "browser" / "artifacts"

# Installed before any page script: keeps the Content-Security-Policy violations
# the page reports, for the test to read with page.evaluate("window.__cspViolations").
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def sign_in(page, base, username):
    """Sign in through the admin's login form, as a person does, with the
    password of the users tests/factories.py makes."""
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
