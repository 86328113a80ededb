"""In real Chromium: the offline meeting book, as docs/documents.md promises it.

A delegate keeps the book on the tablet; with the network gone, the meeting page
still opens and a document's pages still draw. What the tablet may no longer hold
goes at its next connection: a document whose access was withdrawn, the whole
book when the organizer withdraws it, and everything when the sessions were ended
or the tablet logged out (the service worker deletes it on the login page).
(Service workers need a secure context; Chromium counts http://127.0.0.1 as one.)
"""

from __future__ import annotations

import pytest

from tests._library_fixtures import DECREE
from tests._meeting_fixtures import next_command_id
from tests.browser.conftest import TABLET_PORTRAIT
from tests.browser.test_follow import READER, open_as, shows_page

pytestmark = pytest.mark.browser
GROUP = "Ban Pháp chế HĐND huyện"


def _delegate(live_server):
    return next(p for p in live_server.meeting.people.values()
                if p.role == "delegate" and p.group_name == GROUP)


def _api(page, live_server, method: str, path: str, **kwargs):
    response = page.request.fetch(f"{live_server.url}{path}", method=method, **kwargs)
    assert response.ok, response.text()
    return response.json()


def _command(page, live_server, name: str, args: dict):
    return _api(page, live_server, "POST", f"/api/meetings/{live_server.meeting.id}/commands",
                data={"id": next_command_id(), "name": name, "args": args})


def _cached_documents(page, meeting_id: int) -> list[str]:
    return page.evaluate("""async (name) => {
        if (!(await caches.has(name))) return null;
        const keys = await (await caches.open(name)).keys();
        return keys.map((r) => new URL(r.url)).filter((u) => u.pathname.startsWith("/documents/"))
                   .map((u) => u.pathname).sort();
    }""", f"plenary-book-{meeting_id}")


def _eventually(page, script: str, arg=None, timeout_ms: int = 15000) -> None:
    """Wait until an async check in the page answers true.

    Playwright's wait_for_function does not wait for a promise (a promise counts as
    true), so a check that needs the Cache API is polled here, for at most timeout_ms.
    """
    deadline = page.evaluate("() => performance.now()") + timeout_ms
    while not page.evaluate(script, arg):
        assert page.evaluate("() => performance.now()") < deadline, f"still not true: {script}"
        page.wait_for_timeout(100)


def _book_checked(page, more_than: int = 0) -> None:
    """Wait until the reader on this page finished more than more_than checks of its book."""
    page.wait_for_function("(n) => window.PlenaryReader && window.PlenaryReader.bookChecks() > n",
                           arg=more_than, timeout=15000)


def _no_book(page, meeting_id: int) -> None:
    _eventually(page, "(name) => caches.has(name).then((has) => !has)", f"plenary-book-{meeting_id}")


def _take_book(browser, live_server):
    """The organizer adds the decree; a delegate keeps the book; returns both pages and ids."""
    meeting = live_server.meeting
    organizer = open_as(browser, live_server.url, meeting.code("organizer"), TABLET_PORTRAIT)
    decree = _api(organizer, live_server, "POST",
                  f"/api/meetings/{meeting.id}/documents?filename=nghi-dinh-47.pdf&title=Nghi%20dinh%2047",
                  data=DECREE.read_bytes(), headers={"content-type": "application/pdf"})["id"]
    tablet = open_as(browser, live_server.url, _delegate(live_server).access_code, TABLET_PORTRAIT)
    library = _api(tablet, live_server, "GET", f"/api/meetings/{meeting.id}/library")["documents"]
    tablet.click("[data-bind=book-box] button")
    tablet.wait_for_function("(name) => localStorage.getItem(name) !== null",
                             arg=f"plenary-book-{meeting.id}", timeout=20000)
    return organizer, tablet, decree, sorted(f"/documents/{d['id']}" for d in library)


def test_a_delegate_reads_the_kept_book_with_the_network_gone(browser, live_server):
    meeting = live_server.meeting
    _, tablet, decree, readable = _take_book(browser, live_server)
    assert _cached_documents(tablet, meeting.id) == readable

    tablet.context.set_offline(True)
    tablet.goto(f"{live_server.url}/m/{meeting.id}")
    tablet.wait_for_function(f"() => window.PlenaryReader && {READER}", timeout=15000)
    # offline there is no socket: after 3 s the page reads the list the service worker kept
    tablet.wait_for_function("(id) => window.PlenaryReader.reader.docs.some((d) => d.id === id)",
                             arg=decree, timeout=15000)
    tablet.evaluate("(id) => window.PlenaryReader.openDocument(id, 1, false)", decree)
    shows_page(tablet, decree, 1)
    tablet.evaluate("() => window.PlenaryReader.turn(1)")
    shows_page(tablet, decree, 2)

    assert tablet.evaluate("() => navigator.onLine") is False


def test_a_document_whose_access_was_withdrawn_leaves_the_book_at_the_next_connection(browser, live_server):
    meeting = live_server.meeting
    organizer, tablet, decree, readable = _take_book(browser, live_server)
    tablet.context.set_offline(True)

    _command(organizer, live_server, "document.access", {"document_id": decree, "roles": ["chair"]})
    tablet.context.set_offline(False)
    tablet.goto(f"{live_server.url}/m/{meeting.id}")
    _book_checked(tablet)
    kept = [p for p in readable if p != f"/documents/{decree}"]
    assert _cached_documents(tablet, meeting.id) == kept

    tablet.reload()  # and at the connection after that, it does not come back
    _book_checked(tablet)
    assert _cached_documents(tablet, meeting.id) == kept


HOLD_FIRST_MANIFEST = """() => {
    // The next manifest this page asks for is held after the server answered it,
    // until window.releaseManifest() is called.
    const realFetch = window.fetch;
    window.fetch = (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        if (!url.includes("/book?") || window.releaseManifest) return realFetch(input, init);
        window.manifestHeld = false;
        window.releaseManifest = () => {};
        return realFetch(input, init).then((response) => new Promise((resolve) => {
            window.manifestHeld = true;
            window.releaseManifest = () => resolve(response);
        }));
    };
}"""


def test_a_check_that_read_the_book_list_before_a_withdrawal_cannot_put_the_document_back(browser, live_server):
    meeting = live_server.meeting
    organizer, tablet, decree, readable = _take_book(browser, live_server)
    checks = tablet.evaluate("() => window.PlenaryReader.bookChecks()")
    tablet.evaluate(HOLD_FIRST_MANIFEST)
    tablet.evaluate("() => window.Plenary.reducers['library.changed']()")  # a first check starts
    tablet.wait_for_function("() => window.manifestHeld === true", timeout=15000)

    # the first check holds the list with the decree; access is withdrawn meanwhile
    _command(organizer, live_server, "document.access", {"document_id": decree, "roles": ["chair"]})
    # the withdrawal reaches the tablet: its list loses the decree and a second check is asked for
    tablet.wait_for_function("(id) => !window.PlenaryReader.reader.docs.some((d) => d.id === id)",
                             arg=decree, timeout=15000)
    tablet.evaluate("() => window.releaseManifest()")
    _book_checked(tablet, checks + 1)

    kept = [p for p in readable if p != f"/documents/{decree}"]
    assert _cached_documents(tablet, meeting.id) == kept
    tablet.reload()
    _book_checked(tablet)
    assert _cached_documents(tablet, meeting.id) == kept


def test_a_withdrawn_book_is_deleted_at_the_next_connection_and_the_organizer_sees_it(browser, live_server):
    meeting = live_server.meeting
    organizer, tablet, _, _ = _take_book(browser, live_server)
    tablet.context.set_offline(True)

    _command(organizer, live_server, "book.revoke", {})
    tablet.context.set_offline(False)
    tablet.goto(f"{live_server.url}/m/{meeting.id}")
    _no_book(tablet, meeting.id)

    def states():
        copies = _api(organizer, live_server, "GET", f"/api/meetings/{meeting.id}/book-copies")["copies"]
        return [c["state"] for c in copies]
    for _ in range(50):  # the tablet reports the deletion right after it
        if states() == ["deleted"]:
            break
        organizer.wait_for_timeout(100)
    assert states() == ["deleted"]
    _book_checked(tablet)
    assert _cached_documents(tablet, meeting.id) is None


def test_a_tablet_whose_sessions_were_ended_deletes_the_book_at_the_next_connection(browser, live_server):
    meeting = live_server.meeting
    organizer, tablet, _, _ = _take_book(browser, live_server)
    tablet.context.set_offline(True)

    _api(organizer, live_server, "POST",
         f"/api/meetings/{meeting.id}/participants/{_delegate(live_server).id}/end-sessions")
    tablet.context.set_offline(False)
    tablet.goto(f"{live_server.url}/m/{meeting.id}")
    assert tablet.url.startswith(f"{live_server.url}/login")  # no meeting page runs here
    _no_book(tablet, meeting.id)
    assert _cached_documents(tablet, meeting.id) is None

    tablet.goto(f"{live_server.url}/login?code={_delegate(live_server).access_code}")
    _book_checked(tablet)  # logged in again, the meeting page does not bring the book back
    assert _cached_documents(tablet, meeting.id) is None


def test_a_tablet_that_logs_out_deletes_the_book_on_the_login_page(browser, live_server):
    meeting = live_server.meeting
    _, tablet, _, _ = _take_book(browser, live_server)

    with tablet.expect_navigation(url=f"{live_server.url}/login"):
        tablet.click("form[action='/logout'] button")
    _no_book(tablet, meeting.id)
