"""Every page works under the Content Security Policy, with no violation reported."""

from __future__ import annotations

import pytest

from tests.browser.conftest import TABLET_PORTRAIT

pytestmark = pytest.mark.browser
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));
"""


def test_meeting_pages_run_under_the_policy(browser, live_server, screenshot_dir):
    meeting = live_server.meeting
    context = browser.new_context(viewport=TABLET_PORTRAIT)
    context.add_init_script(WATCH)
    page = context.new_page()
    found = {}
    visits = [("chair", f"/m/{meeting.id}/chair"), ("secretary", f"/m/{meeting.id}/secretary"),
              ("organizer", f"/m/{meeting.id}/organizer"), ("delegate", f"/m/{meeting.id}")]

    for role, path in visits:
        page.goto(f"{live_server.url}/login?code={meeting.code(role)}")
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector(".conn-online", timeout=10000)
        page.wait_for_timeout(300)
        found[path] = page.evaluate("window.__csp")
    page.goto(f"{live_server.url}/m/{meeting.id}/projector?key={live_server.projector_key}")
    page.wait_for_selector(".conn-online")
    found["projector"] = page.evaluate("window.__csp")

    assert page.request.get(f"{live_server.url}/login").headers["content-security-policy"].startswith("default-src 'self'")
    assert all(not v for v in found.values()), found
