"""A delegate votes on a tablet while other ballots arrive; the projector shows the result."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import TABLET_LANDSCAPE, TABLET_PORTRAIT, LiveServer

pytestmark = pytest.mark.browser


def staff_client(server: LiveServer, role: str) -> httpx.Client:
    http = httpx.Client(base_url=server.url)
    response = http.post("/login", data={"code": server.meeting.code(role)})
    assert response.status_code in (200, 303), response.text
    return http


def command(http: httpx.Client, server: LiveServer, name: str, **args) -> dict:
    command.count = getattr(command, "count", 0) + 1
    response = http.post(f"/api/meetings/{server.meeting.id}/commands",
                         json={"id": f"browser-{command.count}", "name": name, "args": args})
    assert response.status_code == 200, response.text
    return response.json()["result"]


def person_id(server: LiveServer, role: str, index: int = 0) -> int:
    return server.meeting.people[server.meeting.code(role, index)].id


def test_a_delegate_votes_on_the_tablet_and_the_projector_shows_the_result(
        browser, live_server: LiveServer, screenshot_dir) -> None:
    server = live_server
    chair = staff_client(server, "chair")
    secretary = staff_client(server, "secretary")
    command(chair, server, "meeting.start")
    members = [person_id(server, "chair")] + [person_id(server, "delegate", i) for i in range(5)]
    command(secretary, server, "attendance.check_in_many", participant_ids=members)
    poll = command(secretary, server, "poll.create", title="Thông qua chương trình kỳ họp",
                   rule="absolute_members")["poll_id"]
    command(chair, server, "poll.open", poll_id=poll)

    tablet = browser.new_page(viewport=TABLET_LANDSCAPE)
    tablet.goto(f"{server.url}/login?code={server.meeting.code('delegate')}")
    tablet.goto(f"{server.url}/m/{server.meeting.id}?lang=en")
    ballot = tablet.locator(f'[data-poll="{poll}"] form.ballot')
    ballot.locator(".choice-yes input").check()
    for index in (1, 2, 3):  # other ballots arrive while this one is half filled
        with httpx.Client(base_url=server.url) as delegate:
            delegate.post("/login", data={"code": server.meeting.code("delegate", index)})
            command(delegate, server, "poll.cast", poll_id=poll, choice="yes")
    tablet.wait_for_selector(f'[data-progress="{poll}"]:has-text("3 of 6")')
    assert ballot.locator(".choice-yes input").is_checked()
    ballot.locator("[data-action=cast]").click()
    tablet.wait_for_selector('[data-bind="voted"]')

    projector = browser.new_page(viewport=TABLET_LANDSCAPE)
    projector.goto(f"{server.url}/m/{server.meeting.id}/projector?key={server.projector_key}&lang=en")
    projector.wait_for_selector(".quorum.is-met")
    command(chair, server, "poll.close", poll_id=poll)
    command(chair, server, "poll.publish", poll_id=poll)

    outcome = projector.wait_for_selector(f'[data-result="{poll}"] [data-outcome="adopted"]')
    assert outcome.text_content() == "Adopted: 4 yes out of 6 (all members); 4 yes needed."
    assert projector.locator(f'[data-result="{poll}"] .bar').count() == 3
    projector.screenshot(path=str(screenshot_dir / "vote-projector-result.png"))
    tablet.screenshot(path=str(screenshot_dir / "vote-tablet.png"))
    tablet.wait_for_selector(f'[data-result="{poll}"]')
    chair.close()
    secretary.close()


def test_a_delegate_finds_check_in_and_the_ballot_above_the_agenda_on_a_portrait_tablet(
        browser, live_server: LiveServer, screenshot_dir) -> None:
    server = live_server
    chair = staff_client(server, "chair")
    command(chair, server, "meeting.start")
    tablet = browser.new_page(viewport=TABLET_PORTRAIT)
    tablet.goto(f"{server.url}/login?code={server.meeting.code('delegate')}")
    tablet.goto(f"{server.url}/m/{server.meeting.id}?lang=en")

    check_in = tablet.wait_for_selector("[data-action=self-check-in]")
    box = check_in.bounding_box()
    agenda_top = tablet.locator("main.layout > .panel.agenda").bounding_box()["y"]
    tablet.screenshot(path=str(screenshot_dir / "vote-portrait-check-in.png"))

    assert box["y"] + box["height"] <= TABLET_PORTRAIT["height"]
    assert box["y"] < agenda_top
    assert box["height"] >= 44
    chair.close()


def test_before_the_start_a_delegate_is_told_when_check_in_opens_and_checks_in_after_it(
        browser, live_server: LiveServer) -> None:
    server = live_server
    chair = staff_client(server, "chair")
    tablet = browser.new_page(viewport=TABLET_PORTRAIT)
    errors: list[str] = []
    tablet.on("pageerror", lambda error: errors.append(str(error)))
    tablet.on("console", lambda msg: errors.append(msg.text) if "Uncaught" in msg.text else None)
    tablet.goto(f"{server.url}/login?code={server.meeting.code('delegate')}")
    tablet.goto(f"{server.url}/m/{server.meeting.id}?lang=vi")

    later = tablet.wait_for_selector("[data-bind=self-check-in-later]")
    assert later.text_content() == "Điểm danh trên máy tính bảng mở khi cuộc họp bắt đầu."
    assert tablet.locator("[data-action=self-check-in]").count() == 0
    command(chair, server, "meeting.start")
    tablet.wait_for_selector("[data-action=self-check-in]").click()

    mine = tablet.wait_for_selector('[data-bind=my-attendance]:has-text("có mặt")')
    assert tablet.locator("[data-bind=self-check-in-later]").count() == 0
    assert tablet.locator('[data-floor="attendance"] .floor-note.error').count() == 0
    assert mine.text_content() == "Tình trạng của bạn: có mặt."
    assert errors == []
    chair.close()


def test_a_refused_check_in_is_shown_without_a_script_error_and_dropped_when_the_meeting_changes(
        browser, live_server: LiveServer) -> None:
    server = live_server
    chair = staff_client(server, "chair")
    command(chair, server, "meeting.start")
    tablet = browser.new_page(viewport=TABLET_PORTRAIT)
    errors: list[str] = []
    tablet.on("pageerror", lambda error: errors.append(str(error)))
    tablet.on("console", lambda msg: errors.append(msg.text) if "Uncaught" in msg.text else None)
    tablet.goto(f"{server.url}/login?code={server.meeting.code('delegate')}")
    tablet.goto(f"{server.url}/m/{server.meeting.id}?lang=en")
    tablet.wait_for_selector("[data-action=self-check-in]")
    command(chair, server, "meeting.end")
    tablet.wait_for_selector("[data-action=self-check-in]", state="detached")
    # A tablet that has not heard of the end yet still offers the button.
    set_state = """(value) => { const c = window.PlenaryViews.client;
                                 c.state.meeting.state = value; c.notify("state"); }"""
    tablet.evaluate(set_state, "running")

    tablet.click("[data-action=self-check-in]")

    note = tablet.wait_for_selector('[data-floor="attendance"] .floor-note.error')
    assert note.text_content() == "Check-in on the tablet opens when the meeting starts."
    tablet.evaluate(set_state, "ended")
    tablet.wait_for_selector('[data-floor="attendance"] .floor-note.error', state="detached")
    assert tablet.locator('[data-floor="attendance"] .floor-note').text_content() == ""
    assert errors == []
    chair.close()


def test_the_vote_form_has_48_pixel_fields_and_44_pixel_links(browser, live_server: LiveServer) -> None:
    server = live_server
    page = browser.new_page(viewport=TABLET_PORTRAIT)
    page.goto(f"{server.url}/login?code={server.meeting.code('secretary')}")
    page.goto(f"{server.url}/m/{server.meeting.id}/secretary?lang=en")
    page.wait_for_selector(".conn-online", timeout=10000)
    page.wait_for_selector(".floor-panel select[name=mode]")

    fields = page.evaluate("""() => [...document.querySelectorAll(
            '.floor-panel select, .floor-panel input:not([type=radio]):not([type=checkbox])')]
        .filter(el => el.offsetParent !== null)
        .map(el => ({name: el.name, h: el.getBoundingClientRect().height,
                     font: parseFloat(getComputedStyle(el).fontSize)}))""")
    links = page.evaluate("""() => [...document.querySelectorAll('.floor-panel a, .floor-panel button')]
        .filter(el => el.offsetParent !== null).map(el => el.getBoundingClientRect().height)""")

    assert fields and all(f["h"] >= 48 and f["font"] >= 16 for f in fields), fields
    assert links and min(links) >= 44
