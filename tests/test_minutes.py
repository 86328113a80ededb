"""Minutes: sections written live, the record filled in, versions finalized.

The tests follow the rules in server/minutes.py in order.
"""

from __future__ import annotations

import unicodedata

import pytest

from server.errors import ConflictError, InvalidInputError, NotAllowedError
from server.minutes import (
    MAX_SECTION_CHARS,
    _from_floor,
    collect_minutes,
    content_hash,
    finalize_minutes,
    list_conflicts,
    list_revisions,
    list_sections,
    minutes_status,
    preview_html,
    render_minutes,
)
from server.pdf import render_minutes_html
from tests._minutes_fixtures import *  # noqa: F403  (fixtures: minutes_room, trial_keys)
from tests._minutes_fixtures import pdf_text

NAMES = "Nguyễn Thị Ánh Tuyết, Lê Văn Đức, Phạm Thị Hồng Nhung"


@pytest.mark.parametrize("role", ["secretary", "chair", "organizer"])
def test_staff_write_a_section_of_an_item(minutes_room, role):
    item = minutes_room.items()[0]

    result = minutes_room.write(item, "summary", f"Ý kiến của {NAMES}.", role=role)

    assert result["revision"] == 1 and result["conflict"] is None
    sections = minutes_room.read(list_sections, minutes_room.meeting_id)
    assert [(s["kind"], s["text"]) for s in sections] == [
        ("summary", f"Ý kiến của {NAMES}.")
    ]


@pytest.mark.parametrize("role", ["delegate", "guest"])
def test_delegates_and_guests_may_not_write_the_minutes(minutes_room, role):
    item = minutes_room.items()[0]

    with pytest.raises(NotAllowedError) as caught:
        minutes_room.write(item, "summary", "Không được phép.", role=role)

    assert caught.value.message == "You may not write the minutes."


def test_decomposed_text_is_kept_composed(minutes_room):
    item = minutes_room.items()[0]
    decomposed = unicodedata.normalize("NFD", NAMES)
    assert decomposed != NAMES

    minutes_room.write(item, "decisions", decomposed)

    stored = minutes_room.read(list_sections, minutes_room.meeting_id)[0]["text"]
    assert stored == NAMES


def test_a_section_longer_than_the_limit_is_refused(minutes_room):
    item = minutes_room.items()[0]

    with pytest.raises(InvalidInputError) as caught:
        minutes_room.write(item, "summary", "x" * (MAX_SECTION_CHARS + 1))

    assert (
        caught.value.message
        == "A section of the minutes holds at most 20000 characters; this one has 20001. Split it over the other sections or shorten it."
    )


def test_an_unknown_section_is_refused(minutes_room):
    with pytest.raises(InvalidInputError) as caught:
        minutes_room.write(minutes_room.items()[0], "gossip", "…")

    assert (
        caught.value.message
        == "The minutes have no section called gossip; use summary, decisions, conclusions or tasks."
    )


def test_saving_on_the_current_revision_keeps_the_old_text_as_a_plain_revision(
    minutes_room,
):
    item = minutes_room.items()[0]
    first = minutes_room.write(item, "summary", "Bản một.")

    second = minutes_room.write(item, "summary", "Bản hai.", base=first["revision"])

    assert second["revision"] == 2 and second["conflict"] is None
    revisions = minutes_room.read(
        list_revisions, minutes_room.meeting_id, item.id, "summary"
    )
    assert [(r["revision"], r["text"], r["conflict"]) for r in revisions] == [
        (1, "Bản một.", False)
    ]
    assert minutes_room.read(list_conflicts, minutes_room.meeting_id) == []


def test_last_save_wins_and_the_text_it_replaced_unseen_is_kept_as_a_conflict(
    minutes_room,
):
    item = minutes_room.items()[0]
    minutes_room.write(item, "summary", "Máy tính bảng A viết.")  # revision 1

    # device B still had revision 0 when it wrote
    result = minutes_room.write(item, "summary", "Máy tính bảng B viết.", base=0)

    assert result["text"] == "Máy tính bảng B viết." and result["revision"] == 2
    assert result["conflict"]["text"] == "Máy tính bảng A viết."
    conflicts = minutes_room.read(list_conflicts, minutes_room.meeting_id)
    assert [(c["item_id"], c["kind"], c["text"]) for c in conflicts] == [
        (item.id, "summary", "Máy tính bảng A viết.")
    ]


def test_a_dismissed_conflict_is_no_longer_shown(minutes_room):
    item = minutes_room.items()[0]
    minutes_room.write(item, "summary", "A.")
    lost = minutes_room.write(item, "summary", "B.", base=0)["conflict"]

    minutes_room.run(
        minutes_room.one("secretary"), "minutes.dismiss", revision_id=lost["id"]
    )

    assert minutes_room.read(list_conflicts, minutes_room.meeting_id) == []


def test_the_same_text_twice_makes_no_new_revision(minutes_room):
    item = minutes_room.items()[0]
    minutes_room.write(item, "summary", "Giống nhau.")

    again = minutes_room.write(item, "summary", "Giống nhau.", base=1)

    assert again["revision"] == 1


def test_the_record_fills_header_agenda_documents_and_people(minutes_room):
    data = minutes_room.read(collect_minutes, minutes_room.meeting_id)

    assert data["meeting"]["body"] == "Hội đồng nhân dân huyện Tuần Giáo"
    assert data["chair"]["name"] == "Trần Bình Trọng"
    assert data["language"] == "vi" and data["national_header"] is True
    numbers = [item["number"] for item in data["agenda"]]
    assert numbers[:3] == ["1", "1.1", "1.2"]
    first_sub = data["agenda"][1]
    assert first_sub["documents"] == ["Giấy mời số 06/GM-HĐND ngày 12/11/2020"]
    assert data["audit"]["intact"] is True and data["audit"]["events"] >= 1


def test_what_a_capability_did_not_record_is_said_to_be_not_recorded(
    minutes_room, tmp_path
):
    data = minutes_room.read(collect_minutes, minutes_room.meeting_id)
    data.update(speeches_recorded=False, polls_recorded=False, elections_recorded=False)
    data["attendance"] = {
        "recorded": False,
        "rows": [{"name": "Trần Bình Trọng", "group": "", "role": "chair"}],
    }

    html, pdf = render_minutes(data, draft=True)

    text = pdf_text(pdf, tmp_path)
    for sentence in (
        "Chưa ghi nhận điểm danh trong Plenary",
        "Chưa ghi nhận các lượt phát biểu trong Plenary",
        "Chưa ghi nhận biểu quyết trong Plenary",
        "Chưa ghi nhận bầu cử trong Plenary",
    ):
        assert sentence in html and sentence in text


def test_a_missing_capability_module_reads_as_not_recorded(minutes_room):
    found = minutes_room.read(
        lambda session: _from_floor(
            "no_such_capability", "anything", session, minutes_room.meeting_id
        )
    )

    assert found is None


def test_finalizing_locks_a_version_with_the_sha256_of_its_pdf(minutes_room):
    minutes_room.write(minutes_room.items()[0], "summary", "Nội dung đã chốt.")

    version = finalize_minutes(
        minutes_room.store, minutes_room.files, minutes_room.one("secretary")
    )

    import hashlib

    pdf = minutes_room.files.get(version["final_sha256"])
    assert (
        hashlib.sha256(pdf).hexdigest() == version["final_sha256"] == version["sha256"]
    )
    assert version["number"] == 1 and version["signatures"] == []
    status = minutes_room.read(minutes_status, minutes_room.meeting_id)
    assert status["state"] == "final" and status["next_signer"] == "secretary"


def test_finalizing_again_when_nothing_changed_is_refused(minutes_room):
    secretary = minutes_room.one("secretary")
    finalize_minutes(minutes_room.store, minutes_room.files, secretary)

    with pytest.raises(ConflictError) as caught:
        finalize_minutes(minutes_room.store, minutes_room.files, secretary)

    assert (
        caught.value.message
        == "Version 1 already holds these minutes: nothing changed since it was finalized."
    )


def test_a_change_after_finalizing_needs_a_new_version(minutes_room):
    secretary = minutes_room.one("secretary")
    first = finalize_minutes(minutes_room.store, minutes_room.files, secretary)

    minutes_room.write(minutes_room.items()[0], "conclusions", "Kết luận bổ sung.")

    status = minutes_room.read(minutes_status, minutes_room.meeting_id)
    assert status["state"] == "draft" and status["changed_since_final"] is True
    second = finalize_minutes(minutes_room.store, minutes_room.files, secretary)
    assert second["number"] == 2 and second["final_sha256"] != first["final_sha256"]
    assert minutes_room.files.get(first["final_sha256"])  # the old version stays


def test_the_content_hash_leaves_out_the_audit_seal(minutes_room):
    data = minutes_room.read(collect_minutes, minutes_room.meeting_id)

    sealed_again = {**data, "audit": {**data["audit"], "events": 999}}

    assert content_hash(sealed_again) == content_hash(data)


def test_the_preview_is_the_html_that_becomes_the_pdf(minutes_room, monkeypatch):
    from datetime import UTC, datetime

    import server.minutes as minutes_module

    fixed = datetime(2020, 11, 16, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(minutes_module, "utcnow", lambda: fixed)
    minutes_room.write(minutes_room.items()[0], "summary", "Xem trước.")

    preview = minutes_room.read(preview_html, minutes_room.meeting_id)

    data = minutes_room.read(collect_minutes, minutes_room.meeting_id)
    html, _pdf = render_minutes(data, draft=True, now=fixed)
    assert preview == html
    line = minutes_module.status_line("vi", True, None)
    assert (
        html == render_minutes_html(data, draft=True, status_line=line, now=fixed).html
    )
    assert "Xem trước." in preview


# -- filled in from the floor: attendance, speakers, votes, elections -------------


def test_the_record_of_the_floor_fills_the_minutes(minutes_room, tmp_path):
    room = minutes_room
    chair, secretary = room.one("chair"), room.one("secretary")
    members = [chair, *room.by_role["delegate"]]
    room.run(chair, "meeting.start")
    room.run(chair, "agenda.next")
    for viewer in members[:-1]:  # the last delegate stays away
        room.run(secretary, "attendance.check_in", participant_id=viewer.participant_id)
    item = room.items()[0]
    speaker = room.by_role["delegate"][0]
    room.run(
        secretary,
        "speakers.add",
        participant_id=speaker.participant_id,
        item_id=item.id,
    )
    room.run(chair, "speakers.start", item_id=item.id)
    room.run(chair, "speakers.end")
    poll = room.run(
        secretary, "poll.create", title="Thông qua chương trình kỳ họp", item_id=item.id
    )["poll_id"]
    room.run(chair, "poll.open", poll_id=poll)
    for viewer, choice in zip(
        members[:-1], ["yes", "yes", "yes", "no", "abstain"], strict=True
    ):
        room.run(viewer, "poll.cast", poll_id=poll, choice=choice)
    room.run(chair, "poll.close", poll_id=poll)
    election = room.run(
        secretary,
        "poll.create",
        kind="election",
        title="Bầu Thư ký kỳ họp",
        ballot_style="choose",
        seats=1,
        candidates=["Lò Văn Minh", "Quàng Thị Hoa"],
    )["poll_id"]
    room.run(chair, "poll.open", poll_id=election)
    from server import elections, voting

    candidates = room.read(
        lambda s: {
            c["name"]: c["id"]
            for c in elections.candidate_views(s, s.get(voting.Poll, election))
        }
    )
    for viewer in members[:-1]:
        room.run(
            viewer, "poll.cast", poll_id=election, marks=[candidates["Quàng Thị Hoa"]]
        )
    room.run(chair, "poll.close", poll_id=election)

    data = room.read(collect_minutes, room.meeting_id)
    _html, pdf = render_minutes(data, draft=True)

    assert (
        data["attendance"]["recorded"]
        and data["speeches_recorded"]
        and data["polls_recorded"]
    )
    assert len(data["attendance"]["present"]) == len(members) - 1
    assert data["attendance"]["absent"] == [members[-1].name]
    motion = data["agenda"][0]["polls"][0]
    assert (motion["yes"], motion["no"], motion["abstain"]) == (3, 1, 1)
    assert motion["outcome_label"] == "Adopted."
    assert data["agenda"][0]["speeches"][0]["name"] == speaker.name
    (chosen,) = [c for c in data["elections"][0]["candidates"] if c["elected"]]
    assert chosen["name"] == "Quàng Thị Hoa" and chosen["votes"] == 5
    text = pdf_text(pdf, tmp_path)
    assert "Thông qua chương trình kỳ họp" in text and "Được thông qua." in text
    assert f"Người phát biểu: {speaker.name}" in text
    assert "Bầu Thư ký kỳ họp" in text and "Quàng Thị Hoa 5 Trúng cử" in text
    assert "Tình hình tham dự: 5 có mặt, 1 vắng mặt" in text
