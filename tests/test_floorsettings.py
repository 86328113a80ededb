"""The floor's meeting settings (server/_floorsettings.py): checked in the agenda file, read strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server._floorsettings import check_settings, floor_settings
from server.agendafile import check_agenda
from server.cli import main
from server.models import Meeting, utcnow

AGENDA = """\
format = 1

[meeting]
key = "hop-thu"
title = "Họp thử"
start = 2024-05-02T08:00:00

[meeting.settings]
{settings}

[[participants]]
name = "Chủ tọa"
role = "chair"
"""


def agenda_with(tmp_path: Path, settings: str) -> Path:
    path = tmp_path / "meeting.toml"
    path.write_text(AGENDA.format(settings=settings), encoding="utf-8")
    return path


def test_the_documented_settings_pass() -> None:
    settings = {"self_checkin": True, "quorum": "two_thirds", "quorum_counts_proxies": False,
                "proxy_limit": 0, "chair_votes": False, "speaking_time": 0,
                "vote_weights": {"d1": 2}, "minutes_city": "Tuần Giáo",
                "polls": [{"key": "nq-1", "title": "Thông qua nghị quyết",
                           "rule": "absolute_members"}]}

    assert check_settings(settings) == []
    assert check_settings({"quorum": 12}) == []


@pytest.mark.parametrize(("settings", "where", "message"), [
    ({"quorum": "two-thirds"}, "meeting.settings.quorum",
     'The quorum must be "half", "two_thirds", "none" or a number of members, not "two-thirds"; did you mean "two_thirds"?'),
    ({"quorum": "most"}, "meeting.settings.quorum",
     'The quorum must be "half", "two_thirds", "none" or a number of members, not "most".'),
    ({"selfcheckin": True}, "meeting.settings.selfcheckin",
     'The meeting settings have no setting "selfcheckin"; did you mean "self_checkin"?'),
    ({"speaking_time": "3 minutes"}, "meeting.settings.speaking_time",
     '"speaking_time" must be a whole number of seconds, 0 or more, such as 180 for three minutes, written without quotes, not "3 minutes".'),
    ({"chair_votes": "no"}, "meeting.settings.chair_votes",
     '"chair_votes" must be true or false, written without quotes, not "no".'),
    ({"proxy_limit": -1}, "meeting.settings.proxy_limit",
     '"proxy_limit" must be a whole number of members, 0 or more, such as 1, written without quotes, not -1.'),
    ({"vote_weights": {"d1": 0}}, "meeting.settings.vote_weights.d1",
     'The vote weight of "d1" must be a whole number, 1 or more, not 0.'),
    ({"polls": [{"key": "a", "title": "A", "mode": "secrt"}]}, "meeting.settings.polls[0].mode",
     '"mode" must be one of secret, named, analog, not "secrt"; did you mean "secret"?'),
])
def test_a_wrong_setting_is_named_with_a_suggestion(settings: dict, where: str, message: str) -> None:
    assert check_settings(settings) == [(where, message)]


def test_plenary_check_reports_wrong_settings(tmp_path: Path, capsys) -> None:
    path = agenda_with(tmp_path, 'quorum = "two-thirds"\nselfcheckin = true\n'
                                 'speaking_time = "3 minutes"\nchair_votes = "no"\n')

    code = main(["--data-dir", str(tmp_path / "var"), "check", str(path)])

    err = capsys.readouterr().err
    assert code == 1
    assert f'{path}: meeting.settings.quorum: The quorum must be "half", "two_thirds", "none" or a number of members, not "two-thirds"; did you mean "two_thirds"?' in err
    assert f'{path}: meeting.settings.selfcheckin: The meeting settings have no setting "selfcheckin"; did you mean "self_checkin"?' in err
    assert f"{path}: meeting.settings.speaking_time: " in err
    assert f'{path}: meeting.settings.chair_votes: "chair_votes" must be true or false, written without quotes, not "no".' in err


def test_the_agenda_check_keeps_the_place_of_each_setting(tmp_path: Path) -> None:
    problems = check_agenda(agenda_with(tmp_path, "chair_votes = 1\n"))

    assert [(p.where, p.message) for p in problems] == [
        ("meeting.settings.chair_votes", '"chair_votes" must be true or false, written without quotes, not 1.')]


def meeting_with(settings: dict) -> Meeting:
    return Meeting(key="m", title="Họp", starts_at=utcnow(), settings_json=json.dumps(settings))


def test_the_runtime_reader_takes_only_true_and_false_as_flags() -> None:
    found = floor_settings(meeting_with({"chair_votes": "no", "self_checkin": "yes",
                                         "quorum_counts_proxies": 1}))

    assert (found.chair_votes, found.self_checkin, found.quorum_counts_proxies) == (True, False, False)
