"""Access codes, login sessions and the projector key."""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.access import (
    CODE_ALPHABET, check_projector_key, get_viewer, log_in, log_out, new_access_code,
    normalize_code, reissue_code,
)
from server.errors import NotAllowedError, NotLoggedInError
from server.models import Meeting

WRONG_CODE = "This access code is not valid. Check the code on your access card, or ask the meeting secretary for a new one."


def test_access_codes_are_long_and_unambiguous():
    codes = {new_access_code() for _ in range(200)}

    assert len(codes) == 200
    for code in codes:
        raw = code.replace("-", "")
        assert len(raw) == 12 and set(raw) <= set(CODE_ALPHABET)
        assert not set(raw) & set("0O1IL")


@pytest.mark.parametrize("typed", ["abcd-efgh-jkmn", " ABCD EFGH JKMN ", "abcdefghjkmn"])
def test_codes_are_accepted_as_people_type_them(typed):
    assert normalize_code(typed) == "ABCD-EFGH-JKMN"


def test_login_gives_a_session_for_the_participant(client, meeting):
    store = client.app.state.store
    code = meeting.code("delegate")

    token, person = store.write_sync(log_in, code.lower())
    viewer = store.read_sync(get_viewer, token)

    assert person.access_code == code
    assert viewer.role == "delegate" and viewer.meeting_id == meeting.id


def test_wrong_code_is_refused_with_advice(client, meeting):
    with pytest.raises(NotLoggedInError) as caught:
        client.app.state.store.write_sync(log_in, "ZZZZ-ZZZZ-ZZZZ")

    assert caught.value.message == WRONG_CODE


def test_reissued_code_ends_the_old_code_and_its_sessions(client, meeting):
    store = client.app.state.store
    old = meeting.code("delegate")
    token, person = store.write_sync(log_in, old)

    new = store.write_sync(reissue_code, person.id)

    assert new != old
    with pytest.raises(NotLoggedInError, match="^This access code is not valid"):
        store.write_sync(log_in, old)
    with pytest.raises(NotLoggedInError, match="^Your session has ended. Please log in again with your access code.$"):
        store.read_sync(get_viewer, token)
    assert store.write_sync(log_in, new)[1].id == person.id


def test_logout_ends_the_session(client, meeting):
    store = client.app.state.store
    token, _ = store.write_sync(log_in, meeting.code("chair"))

    store.write_sync(log_out, token)

    with pytest.raises(NotLoggedInError):
        store.read_sync(get_viewer, token)


def test_projector_key_must_match(client, meeting):
    store = client.app.state.store
    key = store.read_sync(lambda s: s.get(Meeting, meeting.id).projector_key)

    assert store.read_sync(check_projector_key, meeting.id, key).role == "projector"
    with pytest.raises(NotAllowedError, match="^This projector address is not valid. Ask the organizer for the current one.$"):
        store.read_sync(check_projector_key, meeting.id, key + "x")


def test_a_login_unused_for_too_long_ends(client, meeting):
    from datetime import timedelta

    from server.access import touch_login
    from server.models import LoginSession
    store = client.app.state.store
    token, _ = store.write_sync(log_in, meeting.code("delegate"))

    def age(session):
        row = session.exec(select(LoginSession).where(LoginSession.token == token)).one()
        row.created_at = row.created_at - timedelta(hours=13)
        session.add(row)
        return row.id
    login_id = store.write_sync(age)

    with pytest.raises(NotLoggedInError, match="^You were away too long and have been logged out. Please log in again with your access code.$"):
        store.read_sync(get_viewer, token, 12.0)
    store.write_sync(touch_login, login_id)
    assert store.read_sync(get_viewer, token, 12.0).role == "delegate"


def test_log_out_everywhere_ends_every_device(client, meeting):
    from server.access import log_out_everywhere
    store = client.app.state.store
    tablet, person = store.write_sync(log_in, meeting.code("delegate"))
    phone, _ = store.write_sync(log_in, meeting.code("delegate"))

    assert store.write_sync(log_out_everywhere, person.id) == 2

    for token in (tablet, phone):
        with pytest.raises(NotLoggedInError):
            store.read_sync(get_viewer, token)
