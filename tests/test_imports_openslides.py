"""Meetings from OpenSlides (server/imports/openslides.py), following its rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from server.errors import InvalidInputError
from server.imports.openslides import (
    import_export,
    import_upload,
    list_poll_history,
    read_agenda_csv,
    read_export,
    read_motions_csv,
)
from server.models import (
    AgendaItem,
    Meeting,
    MeetingRecord,
    Participant,
    ParticipantProfile,
)
from server.staff import COMMAND_LINE
from tests import _organize_fixtures
from tests._organize_fixtures import add_meeting

org_store = _organize_fixtures.org_store  # the fixture, under its own name

DATA = Path(__file__).parent / "data" / "openslides"
EXAMPLE = (DATA / "openslides-example-data.json").read_bytes()


def example(**changes) -> bytes:
    raw = json.loads(EXAMPLE)
    for path, value in changes.items():
        collection, ident, name = path.split("__")
        if value is None:
            raw[collection][ident].pop(name, None)
        else:
            raw[collection][ident][name] = value
    return json.dumps(raw).encode()


def flatten(items, depth=0):
    for item in items:
        yield depth, item
        yield from flatten(item.items, depth + 1)


def test_an_older_openslides_export_is_refused():
    raw = json.loads(EXAMPLE)
    raw.pop("_migration_index")

    with pytest.raises(InvalidInputError) as caught:
        read_export(json.dumps(raw).encode())

    assert (
        caught.value.message
        == "This export does not come from OpenSlides 4 (it has no migration index). Plenary reads meeting exports of OpenSlides 4."
    )


def test_something_else_than_an_export_is_refused():
    with pytest.raises(InvalidInputError) as caught:
        read_export(b"title,text\nA,B\n")
    assert (
        caught.value.message
        == "This file is not an OpenSlides export: it is not JSON. Export the meeting from OpenSlides again (Meeting > Export as JSON)."
    )

    with pytest.raises(InvalidInputError) as caught:
        read_export(b'{"agenda_item": {}}')
    assert (
        caught.value.message
        == "This file is not an OpenSlides meeting export: it has no meeting in it."
    )


def test_an_export_of_another_openslides_4_version_is_read_with_a_warning():
    raw = json.loads(EXAMPLE)
    raw["_migration_index"] = 73

    _spec, report, _ = read_export(json.dumps(raw).encode())

    assert report.warnings == [
        "The export was made by another version of OpenSlides 4 (migration index 73; Plenary knows 100). It was read as far as it matches: check the result."
    ]


def test_the_example_gives_fifteen_items_in_the_files_order_and_nesting():
    spec, report, _ = read_export(EXAMPLE)

    items = list(flatten(spec.items))
    assert report.counts["items"] == 15
    assert [(depth, item.title) for depth, item in items] == [
        (0, "A"),
        (1, "2. Wahl"),
        (0, "B"),
        (0, "C"),
        (0, "D"),
        (0, "E"),
        (0, "F"),
        (0, "G"),
        (0, "H"),
        (0, "A1: test"),
        (0, "1 - 1: Änderungsantrag zu 1"),
        (0, "Wahl"),
        (0, "2: ohne"),
        (0, "3: komplex"),
        (0, "BLOCK A"),
    ]


def test_internal_and_hidden_items_become_internal_and_hidden_ones_are_reported():
    spec, report, _ = read_export(EXAMPLE)

    internal = [item.title for _d, item in flatten(spec.items) if item.internal]
    assert internal == [
        "2. Wahl",
        "C",
        "D",
        "H",
        "1 - 1: Änderungsantrag zu 1",
        "Wahl",
        "2: ohne",
        "3: komplex",
        "BLOCK A",
    ]
    assert report.hidden_items == ["H"]


def test_motions_become_items_with_their_text_and_submitter():
    spec, _report, _ = read_export(EXAMPLE)

    motion = next(
        item for _d, item in flatten(spec.items) if item.title == "3: komplex"
    )
    assert (
        motion.description
        == "sdf sdfpdfkw wef\n\nwepkf\n\nweüpfk\n\nweüpfdfg\n\nState in OpenSlides: permitted."
    )
    assert motion.presenter == "Administrator"


def test_elections_list_their_posts_and_candidates_in_order():
    spec, _report, _ = read_export(EXAMPLE)

    election = next(item for _d, item in flatten(spec.items) if item.title == "Wahl")
    assert election.description.startswith(
        "Election for 1 post(s).\nCandidates: Administrator, b, a."
    )


def test_participants_keep_name_number_delegation_and_get_roles_from_groups():
    spec, _report, _ = read_export(EXAMPLE)

    assert [(p.key, p.name, p.role, p.group, p.number) for p in spec.participants] == [
        (
            "os-admin",
            "Administrator",
            "organizer",
            "Test structure level",
            "12345-67890",
        ),
        ("os-a", "a", "delegate", "Test structure level a", "12345-67891"),
        ("os-b", "b", "delegate", "Test structure level b", "12345-67892"),
    ]


def test_a_consistent_finished_poll_is_kept_as_history_on_its_item():
    spec, report, _ = read_export(EXAMPLE)

    item = next(item for _d, item in flatten(spec.items) if item.title == "2. Wahl")
    assert item.description.endswith(
        'Vote "Wahlgang" (OpenSlides, finished): b: no votes; a: yes 1 (valid 1, invalid 0, cast 1).'
    )
    kept = [entry["title"] for entry in report.history if not entry["contradictions"]]
    assert kept == ["Wahlgang"]


def test_contradictory_figures_are_flagged_not_imported():
    spec, report, _ = read_export(EXAMPLE)

    assert report.contradictions == [
        "The meeting ends (2011-03-09T18:00+07:00) before it starts (2011-11-11T17:11+07:00); the end was left out.",
        'In the vote "1" on A1: test, votes cast (2) are not valid (2) plus invalid (9) votes (11).',
        'In the vote "1" on A1: test, the options add up to 7 votes, more than the 2 valid votes.',
        'In the vote "2" on Wahl, votes cast (16) are not valid (9) plus invalid (2) votes (11).',
        'In the vote "2" on Wahl, the options add up to 15 votes, more than the 9 valid votes.',
    ]
    assert spec.end is None
    motion = next(item for _d, item in flatten(spec.items) if item.title == "A1: test")
    assert motion.description.endswith(
        'Vote "1" (OpenSlides, finished): its figures contradict each other and were not taken as a result; see the import report.'
    )


def test_single_votes_that_contradict_their_option_total_are_flagged():
    data = example(vote__2__weight="5.000000")

    _spec, report, _ = read_export(data)

    assert (
        'In the vote "1" on A1: test, the single votes for "A1: test" add up to 5 no, but its total says 4.'
        in report.contradictions
    )


@pytest.mark.parametrize("figure", ["NaN", "sNaN", "Infinity", "-Infinity", "1E+999999", "1E+1000000"])
def test_a_figure_that_is_not_a_plain_number_is_left_out_of_the_history(figure):
    data = example(poll__1__votesvalid=figure, option__1__yes=figure)

    _spec, report, _ = read_export(data)

    entry = next(e for e in report.history if e["poll_id"] == 1)
    assert entry["votesvalid"] is None
    assert entry["options"][0]["yes"] is None


def test_missing_references_are_reported_and_skipped():
    data = example(
        agenda_item__4__content_object_id="topic/99",
        assignment_candidate__2__meeting_user_id=77,
    )

    spec, report, _ = read_export(data)

    assert report.missing == [
        "Agenda item 4 refers to topic/99, which is not in the export.",
        "Election 1 refers to meeting_user/77, which is not in the export.",
    ]
    assert [i.title for _d, i in flatten(spec.items)][2] == "Item 4"


def test_what_was_not_carried_over_is_reported():
    _spec, report, _ = read_export(EXAMPLE)

    left = {entry["what"]: entry["count"] for entry in report.not_carried}
    assert left["speaker"] == 13
    assert left["passwords"] == 3
    assert left['vote "2" on A1: test'] == 1
    assert left["motion change recommendation"] == 2


def test_importing_the_example_creates_a_meeting_with_its_body_and_people(org_store):
    result = org_store.write_sync(import_export, EXAMPLE, COMMAND_LINE)

    def read(session):
        meeting = session.get(Meeting, result["meeting_id"])
        items = session.exec(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(col(AgendaItem.position))
        ).all()
        people = session.exec(
            select(Participant, ParticipantProfile)
            .join(ParticipantProfile)
            .where(Participant.meeting_id == meeting.id)
        ).all()
        record = session.get(MeetingRecord, meeting.id)
        return meeting, items, people, record

    meeting, items, people, record = org_store.read_sync(read)

    assert meeting.title == "OpenSlides Demo"
    assert len(items) == 15
    assert [i.number for i in items[:3]] == ["1", "1.1", "2"]
    assert sum(1 for i in items if i.internal) == 9
    assert len(people) == 3 and all(profile.person_id for _p, profile in people)
    assert record.body_id is not None
    assert len(result["report"]["contradictions"]) == 5


def test_importing_the_same_export_again_updates_the_meeting(org_store):
    first = org_store.write_sync(import_export, EXAMPLE, COMMAND_LINE)

    second = org_store.write_sync(import_export, EXAMPLE, COMMAND_LINE)

    assert second["meeting_id"] == first["meeting_id"]
    assert second["created"] is False


def test_finished_polls_are_stored_with_options_and_totals(org_store):
    result = org_store.write_sync(import_export, EXAMPLE, COMMAND_LINE)

    polls = org_store.read_sync(list_poll_history, result["meeting_id"])

    assert [(p["title"], p["item"]["title"], p["is_result"]) for p in polls] == [
        ("Wahlgang", "2. Wahl", True),
        ("1", "A1: test", False),
        ("2", "Wahl", False),
    ]
    election = polls[0]
    assert (election["method"], election["type"], election["state"]) == (
        "Y",
        "named",
        "finished",
    )
    assert [(o["option"], o["yes"], o["global"]) for o in election["options"]] == [
        ("b", "0", False),
        ("a", "1", False),
        ("global", "0", True),
    ]
    assert (election["valid"], election["invalid"], election["cast"]) == ("1", "0", "1")
    motion = polls[1]
    assert motion["options"][0] == {
        "option": "A1: test",
        "global": False,
        "yes": "2",
        "no": "4",
        "abstain": "1",
    }
    assert motion["contradictions"] == [
        'In the vote "1" on A1: test, votes cast (2) are not valid (2) plus invalid (9) votes (11).',
        'In the vote "1" on A1: test, the options add up to 7 votes, more than the 2 valid votes.',
    ]


def test_importing_the_export_again_replaces_its_poll_history(org_store):
    first = org_store.write_sync(import_export, EXAMPLE, COMMAND_LINE)

    second = org_store.write_sync(import_export, EXAMPLE, COMMAND_LINE)

    assert second["meeting_id"] == first["meeting_id"]
    polls = org_store.read_sync(list_poll_history, second["meeting_id"])
    assert [p["title"] for p in polls] == ["Wahlgang", "1", "2"]


def test_the_agenda_csv_gives_titles_texts_and_durations():
    items = read_agenda_csv((DATA / "openslides-agenda-demo_de.csv").read_bytes())

    assert [(i.title, i.duration_min) for i in items][:4] == [
        ("Begrüßung", 5),
        ("Regularia", 10),
        ("Grußworte", 15),
        ("Berichte", None),
    ]
    assert items[4].description == "Es spricht Herr Dr. Müller"


def test_the_motion_csv_keeps_quotes_line_breaks_and_html_as_text():
    items = read_motions_csv((DATA / "openslides-motions-demo_de.csv").read_bytes())

    motion = items[1]
    assert motion.title == "SA 1: Satzungsänderung § 2 Abs. 3"
    assert motion.presenter == "Harry Holland"
    assert (
        'Es wird vor dem Wort "Zweck" das Wort "gemeinnütziger" eingefügt.'
        in motion.description
    )
    assert "<p>" not in motion.description
    assert items[8].title == "Soziale Fragen"  # no identifier


def test_csv_files_add_items_at_the_end_of_a_meeting(org_store):
    meeting = add_meeting(org_store)

    result = org_store.write_sync(
        import_upload,
        meeting,
        (DATA / "openslides-motions-demo_de.csv").read_bytes(),
        "antraege.csv",
        COMMAND_LINE,
    )

    items = org_store.read_sync(
        lambda s: s.exec(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting)
            .order_by(col(AgendaItem.position))
        ).all()
    )
    assert result["kind"] == "motions"
    assert result["added"] == len(items) - 2
    assert items[2].number == "2" and items[2].title == "1: Entlastung des Vorstandes"


def test_a_csv_without_the_needed_columns_is_refused():
    with pytest.raises(InvalidInputError) as caught:
        read_agenda_csv("Tên,Ghi chú\nA,B\n".encode())

    assert (
        caught.value.message
        == "This CSV file is not an OpenSlides agenda or motion file: it needs the columns title."
    )
