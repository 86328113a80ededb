"""Hostile WebSocket input, generated: the socket answers every message and keeps working."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.web.limits import CommandLimiter
from tests.web.test_sockets import command, hello

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=30)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20)
names = st.one_of(st.sampled_from(["meeting.start", "agenda.next", "agenda.goto",
                                   "meeting.end", "agenda.previous"]), st.text(max_size=20))
messages = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.just("command"), "id": st.one_of(st.text(max_size=80), json_values),
                           "name": st.one_of(names, json_values),
                           "args": st.one_of(json_values, st.dictionaries(
                               st.sampled_from(["item_id", "x"]), json_values, max_size=2))}),
    st.fixed_dictionaries({"type": st.one_of(st.text(max_size=10), json_values)}),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=st.lists(messages, min_size=1, max_size=8))
def test_random_messages_get_answers_and_the_socket_keeps_working(chair_client, meeting, batch):
    chair_client.app.state.command_limits = CommandLimiter()  # a fresh allowance per example
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        for message in batch:
            ws.send_text(json.dumps(message))

        # whatever came before, a proper command is still answered on this socket
        answer = command(ws, "agenda.goto", {"item_id": -1})
        assert answer["type"] == "error" and answer["code"] in ("not_found", "conflict")
        assert "message" in answer


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.text(max_size=200))
def test_random_text_frames_are_refused_politely(chair_client, meeting, raw):
    chair_client.app.state.command_limits = CommandLimiter()
    with chair_client.websocket_connect("/ws") as ws:
        hello(ws, meeting.id)
        ws.send_text(raw)

        answer = command(ws, "agenda.goto", {"item_id": "x"})
        assert answer["message"] == "The command needs item_id as a whole number."
