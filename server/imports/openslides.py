"""Meetings from OpenSlides: its JSON meeting export (version 4), and its CSV files.

Rules:
- The export must be an OpenSlides 4 meeting export: a JSON object with the
  collections (``meeting``, ``agenda_item`` ...) and a ``_migration_index``. An
  export of an older OpenSlides is refused; one of another OpenSlides 4 version
  is read as far as it matches, with a warning.
- The agenda keeps the export's order (by weight) and nesting. Internal and
  hidden items become internal items (seen by staff only); the report lists the
  hidden ones, because Plenary has no separate "hidden".
- Topics, motions (number, title and text), elections (open posts and
  candidates) and motion blocks become agenda items with their text.
- Participants keep their name, number, email and delegation (structure
  level); the admin group makes organizers, groups that manage the agenda or
  users make secretaries, everyone else is a delegate.
- Finished polls are kept as history: as rows (``ImportedPoll``: title, method,
  state, each option's yes/no/abstain or votes, valid/invalid/cast totals) that
  the secretary's pages list, and as a line in their item's text. Importing the
  same export again replaces them. Figures that contradict
  each other (votes cast against valid and invalid, option totals against valid
  votes, single votes against option totals, an end before the start) are not
  taken as results: they are flagged in the report and on the item.
- A reference to something missing from the export is reported and skipped.
- Files are parsed and checked (``read_upload``, ``read_export_file``) before
  the single writer is asked to store them (``store_upload``, ``store_export``),
  so a big export never holds up the votes of other meetings.
- The report lists what was not carried over (lists of speakers, comments,
  change recommendations, tags, files, projectors, chats, vote weights ...).
- OpenSlides' CSV agenda file (title, text, duration) and motion file
  (identifier, title, text, reason, submitter, category) add items to the end
  of an existing meeting's agenda.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from server.agendafile import ItemSpec, MeetingSpec, ParticipantSpec
from server.errors import InvalidInputError
from server.eventlog import record_event
from server.imports._html import html_to_text
from server.imports.tables import read_csv
from server.meetings import get_meeting, import_meeting
from server.models import AgendaItem, Body, ImportedPoll, ImportReport, Participant
from server.organization import (
    assign_body,
    ensure_not_archived,
    link_participant,
    register_person,
)
from server.staff import Actor, record_change

KNOWN_MIGRATION_INDEX = 100
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
FINISHED = ("finished", "published")
MANAGER_PERMISSIONS = {"agenda_item.can_manage", "user.can_manage"}
# collections we do not carry over -> why, for the report
NOT_CARRIED = {
    "speaker": "lists of speakers start empty in Plenary",
    "motion_comment": "comments on motions are not part of Plenary",
    "motion_change_recommendation": "change recommendations are not part of Plenary",
    "motion_supporter": "supporters of motions are not part of Plenary",
    "motion_state": "motion workflows are not part of Plenary; each motion's state is written in its item",
    "tag": "tags are not part of Plenary",
    "mediafile": "the export holds no file contents; add documents to the items yourself",
    "projector": "Plenary has its own projector view",
    "projector_message": "Plenary has its own projector view",
    "projector_countdown": "Plenary has its own timers",
    "chat_group": "chats are not part of Plenary",
    "personal_note": "personal notes stay private to OpenSlides",
}


DAMAGED_EXPORT = "This OpenSlides export is damaged: some of its records do not have the shape OpenSlides writes. Export the meeting from OpenSlides again (Meeting > Export as JSON)."


@dataclass
class Report:
    version: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    hidden_items: list[str] = field(default_factory=list)
    not_carried: list[dict[str, Any]] = field(default_factory=list)
    contradictions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Export:
    """The collections of an export, with lookups that report missing references."""

    def __init__(self, data: dict[str, Any], report: Report) -> None:
        self.data = data
        self.report = report

    def all(self, collection: str) -> list[dict[str, Any]]:
        rows = self.data.get(collection) or {}
        # a record that is not an object is not a record (a damaged export)
        return (
            [r for r in rows.values() if isinstance(r, dict)]
            if isinstance(rows, dict)
            else []
        )

    def get(self, collection: str, ident: Any, referrer: str) -> dict[str, Any] | None:
        rows = self.data.get(collection) or {}
        found = rows.get(str(ident)) if isinstance(rows, dict) else None
        if not isinstance(found, dict):
            found = None
            self.report.missing.append(
                f"{referrer} refers to {collection}/{ident}, which is not in the export."
            )
        return found

    def fqid(self, value: Any, referrer: str) -> tuple[str, dict[str, Any] | None]:
        collection, _, ident = str(value or "").partition("/")
        if not ident:
            self.report.missing.append(f"{referrer} refers to nothing.")
            return "", None
        return collection, self.get(collection, ident, referrer)


# -- reading an export ------------------------------------------------------------


def read_export(
    data: bytes, zone: str = DEFAULT_TIMEZONE
) -> tuple[MeetingSpec, Report, Export]:
    """The meeting an OpenSlides 4 export describes, and the report of what happened."""
    raw = _load_json(data)
    try:
        return _read_meeting(raw, zone)
    except (
        AttributeError,
        TypeError,
        KeyError,
        IndexError,
        ValueError,
        RecursionError,
    ):
        # a field of the wrong shape (a list where OpenSlides writes a number ...):
        # found by tests/test_imports_fuzz.py; the organizer gets a sentence
        raise InvalidInputError(DAMAGED_EXPORT) from None


def _read_meeting(raw: dict[str, Any], zone: str) -> tuple[MeetingSpec, Report, Export]:
    report = Report()
    export = Export(raw, report)
    _check_version(raw, report)
    meeting = _the_meeting(export)
    start, end = _times(meeting, report, zone)
    items = _agenda(export, meeting)
    participants = _participants(export, meeting)
    _report_left_out(export)
    report.counts = {
        "items": _count(items),
        "participants": len(participants),
        "polls": len(report.history),
    }
    spec = MeetingSpec(
        key=_meeting_key(meeting, start),
        title=_clean(meeting.get("name")) or "OpenSlides",
        body=_committee_name(export, meeting),
        start=start,
        end=end,
        timezone=zone,
        place=_clean(meeting.get("location")),
        language=_language(meeting, report),
        description=html_to_text(str(meeting.get("description") or "")),
        participants=participants,
        items=items,
    )
    return spec, report, export


def _load_json(data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInputError(
            "This file is not an OpenSlides export: it is not JSON. Export the meeting from OpenSlides again (Meeting > Export as JSON)."
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("meeting"), dict):
        raise InvalidInputError(
            "This file is not an OpenSlides meeting export: it has no meeting in it."
        )
    return raw


def _check_version(raw: dict[str, Any], report: Report) -> None:
    index = raw.get("_migration_index")
    if not isinstance(index, int):
        raise InvalidInputError(
            "This export does not come from OpenSlides 4 (it has no migration index). Plenary reads meeting exports of OpenSlides 4."
        )
    report.version = f"OpenSlides 4, migration index {index}"
    if index != KNOWN_MIGRATION_INDEX:
        report.warnings.append(
            f"The export was made by another version of OpenSlides 4 (migration index {index}; Plenary knows {KNOWN_MIGRATION_INDEX}). It was read as far as it matches: check the result."
        )


def _the_meeting(export: Export) -> dict[str, Any]:
    meetings = export.all("meeting")
    if not meetings:
        raise InvalidInputError("This OpenSlides export has no meeting in it.")
    if len(meetings) > 1:
        export.report.warnings.append(
            f"The export holds {len(meetings)} meetings; only the first, {meetings[0].get('name')}, was imported."
        )
    return meetings[0]


def _times(
    meeting: dict[str, Any], report: Report, zone: str
) -> tuple[datetime, datetime | None]:
    start = _moment(meeting.get("start_time"))
    end = _moment(meeting.get("end_time"))
    if start is None:
        report.warnings.append(
            "The export gives no start time; the import time was used. Set the real start before the meeting."
        )
        start = datetime.now(UTC).replace(second=0, microsecond=0)
    if end is not None and end < start:
        report.contradictions.append(
            f"The meeting ends ({_on_clock(end, zone)}) before it starts ({_on_clock(start, zone)}); the end was left out."
        )
        end = None
    return start, end


def _on_clock(moment: datetime, zone: str) -> str:
    """A time as the meeting's own clock shows it, with the zone's offset."""
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")


def _moment(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _language(meeting: dict[str, Any], report: Report) -> str:
    language = str(meeting.get("language") or "en")
    if language in ("vi", "en"):
        return language
    report.warnings.append(
        f"The meeting's language {language} is not one of Plenary's (vi, en); its pages are shown in English."
    )
    return "en"


def _meeting_key(meeting: dict[str, Any], start: datetime) -> str:
    return f"os-{slug(str(meeting.get('name') or 'meeting'))[:40]}-{start.date().isoformat()}"


def _committee_name(export: Export, meeting: dict[str, Any]) -> str:
    if meeting.get("committee_id") is None:
        return ""
    committee = export.get("committee", meeting["committee_id"], "The meeting")
    return _clean(committee.get("name")) if committee else ""


def slug(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "x"


def _clean(value: Any) -> str:
    return " ".join(str(value or "").split())


def _count(items: list[ItemSpec]) -> int:
    return sum(1 + _count(item.items) for item in items)


# -- agenda -------------------------------------------------------------------------


def _agenda(export: Export, meeting: dict[str, Any]) -> list[ItemSpec]:
    rows = [
        r for r in export.all("agenda_item") if r.get("meeting_id") == meeting.get("id")
    ]
    rows.sort(key=lambda r: (r.get("weight") or 0, r.get("id") or 0))
    specs = {row["id"]: _item(export, row) for row in rows}
    top: list[ItemSpec] = []
    for row in rows:
        parent = row.get("parent_id")
        _check_nesting(export, row, parent)
        if parent is not None and parent in specs:
            specs[parent].items.append(specs[row["id"]])
        else:
            if parent is not None:
                export.report.missing.append(
                    f"Agenda item {row['id']} refers to agenda_item/{parent}, which is not in the export; it was put at the top level."
                )
            top.append(specs[row["id"]])
    top.extend(_motions_off_agenda(export, meeting))
    return top


def _check_nesting(export: Export, row: dict[str, Any], parent: Any) -> None:
    if parent is None:
        return
    above = (export.data.get("agenda_item") or {}).get(str(parent))
    if above is not None and row["id"] not in (above.get("child_ids") or []):
        export.report.contradictions.append(
            f"Agenda item {row['id']} names item {parent} as its parent, but item {parent} does not list it as a child; the parent was kept."
        )


def _item(export: Export, row: dict[str, Any]) -> ItemSpec:
    referrer = f"Agenda item {row.get('id')}"
    collection, content = export.fqid(row.get("content_object_id"), referrer)
    title, text = _content(export, collection, content)
    kind = row.get("type") or ("internal" if row.get("is_internal") else "common")
    if kind == "hidden":
        export.report.hidden_items.append(title)
    key = f"os-item-{row.get('id')}"
    history = _poll_history(export, collection, content, title, key)
    duration = row.get("duration")
    item = ItemSpec(
        key=key,
        title=title or f"Item {row.get('id')}",
        description="\n\n".join(p for p in (text, history) if p),
        duration_min=max(1, round(duration / 60)) if duration else None,
        presenter=_presenter(export, collection, content),
        internal=kind in ("internal", "hidden") or bool(row.get("is_internal")),
    )
    return item


def _content(
    export: Export, collection: str, content: dict[str, Any] | None
) -> tuple[str, str]:
    if content is None:
        return "", ""
    if collection == "topic":
        return _clean(content.get("title")), html_to_text(
            str(content.get("text") or "")
        )
    if collection == "motion":
        return _motion_title(content), _motion_text(export, content)
    if collection == "assignment":
        return _clean(content.get("title")), _election_text(export, content)
    if collection == "motion_block":
        return _clean(content.get("title")), _block_text(export, content)
    return _clean(content.get("title") or content.get("name")), ""


def _motion_title(motion: dict[str, Any]) -> str:
    number, title = _clean(motion.get("number")), _clean(motion.get("title"))
    return f"{number}: {title}" if number else title


def _motion_text(export: Export, motion: dict[str, Any]) -> str:
    parts = [html_to_text(str(motion.get("text") or ""))]
    if motion.get("reason"):
        parts.append("Reason:\n" + html_to_text(str(motion["reason"])))
    state = (export.data.get("motion_state") or {}).get(str(motion.get("state_id")))
    if state is not None:
        parts.append(f"State in OpenSlides: {state.get('name')}.")
    return "\n\n".join(p for p in parts if p)


def _election_text(export: Export, assignment: dict[str, Any]) -> str:
    names = _candidates(export, assignment)
    posts = assignment.get("open_posts") or 1
    lines = [
        html_to_text(str(assignment.get("description") or "")),
        f"Election for {posts} post(s).",
        "Candidates: " + (", ".join(names) if names else "none yet") + ".",
    ]
    return "\n".join(line for line in lines if line)


def _candidates(export: Export, assignment: dict[str, Any]) -> list[str]:
    referrer = f"Election {assignment.get('id')}"
    found = []
    for ident in assignment.get("candidate_ids") or []:
        candidate = export.get("assignment_candidate", ident, referrer)
        if candidate is None:
            continue
        name = _meeting_user_name(export, candidate.get("meeting_user_id"), referrer)
        if name:
            found.append((candidate.get("weight") or 0, name))
    return [name for _weight, name in sorted(found)]


def _block_text(export: Export, block: dict[str, Any]) -> str:
    titles = []
    for ident in block.get("motion_ids") or []:
        motion = export.get("motion", ident, f"Motion block {block.get('id')}")
        if motion is not None:
            titles.append(_motion_title(motion))
    return ("Motions in this block: " + "; ".join(titles) + ".") if titles else ""


def _presenter(
    export: Export, collection: str, content: dict[str, Any] | None
) -> str | None:
    if collection != "motion" or content is None:
        return None
    names = []
    for ident in content.get("submitter_ids") or []:
        submitter = export.get("motion_submitter", ident, f"Motion {content.get('id')}")
        if submitter is not None:
            names.append(
                _meeting_user_name(
                    export,
                    submitter.get("meeting_user_id"),
                    f"Motion {content.get('id')}",
                )
            )
    return ", ".join(n for n in names if n) or None


def _motions_off_agenda(export: Export, meeting: dict[str, Any]) -> list[ItemSpec]:
    found = []
    for motion in export.all("motion"):
        if motion.get("meeting_id") == meeting.get("id") and not motion.get(
            "agenda_item_id"
        ):
            found.append(
                ItemSpec(
                    key=f"os-motion-{motion.get('id')}",
                    title=_motion_title(motion) or "Motion",
                    description=_motion_text(export, motion),
                    internal=True,
                )
            )
    if found:
        export.report.warnings.append(
            f"{len(found)} motion(s) were not on the OpenSlides agenda; they were added at its end as internal items."
        )
    return found


# -- polls ---------------------------------------------------------------------------


def _poll_history(
    export: Export,
    collection: str,
    content: dict[str, Any] | None,
    title: str,
    item_key: str,
) -> str:
    if content is None or collection not in ("motion", "assignment"):
        return ""
    lines = []
    for ident in content.get("poll_ids") or []:
        poll = export.get("poll", ident, f"{title}")
        if poll is None:
            continue
        if poll.get("state") not in FINISHED:
            export.report.not_carried.append(
                {
                    "what": f'vote "{poll.get("title")}" on {title}',
                    "count": 1,
                    "why": f"it was not finished (state {poll.get('state')})",
                }
            )
            continue
        entry = _poll_entry(export, poll, title)
        entry["item_key"] = item_key
        export.report.history.append(entry)
        lines.append(_history_line(entry))
    return "\n".join(lines)


def _poll_entry(export: Export, poll: dict[str, Any], on: str) -> dict[str, Any]:
    label = f'vote "{poll.get("title")}" on {on}'
    options = []
    for ident in poll.get("option_ids") or []:
        option = export.get("option", ident, label)
        if option is not None:
            options.append(_option_entry(export, option, label))
    global_option = None
    if poll.get("global_option_id"):
        found = export.get("option", poll["global_option_id"], label)
        global_option = _option_entry(export, found, label) if found else None
    figures = {
        name: _number(poll.get(name))
        for name in ("votesvalid", "votesinvalid", "votescast")
    }
    entry = {
        "poll_id": poll.get("id"),
        "title": poll.get("title"),
        "on": on,
        "method": poll.get("pollmethod"),
        "type": poll.get("type"),
        "state": poll.get("state"),
        "options": options,
        "global": global_option,
        **figures,
    }
    entry["contradictions"] = _contradictions(poll, entry, label)
    export.report.contradictions.extend(entry["contradictions"])
    return entry


def _option_entry(export: Export, option: dict[str, Any], label: str) -> dict[str, Any]:
    name = "global"
    collection, content = ("", None)
    if option.get("content_object_id"):
        collection, content = export.fqid(option["content_object_id"], label)
        name = _option_name(export, collection, content, label)
    entry = {
        "option": name,
        **{k: _number(option.get(k)) for k in ("yes", "no", "abstain")},
    }
    entry["vote_totals"] = _vote_totals(export, option, label)
    return entry


def _option_name(
    export: Export, collection: str, content: dict[str, Any] | None, label: str
) -> str:
    if content is None:
        return "missing"
    if collection == "user":
        return _user_name(content)
    if collection == "motion":
        return _motion_title(content)
    return _clean(content.get("title") or content.get("name"))


def _vote_totals(
    export: Export, option: dict[str, Any], label: str
) -> dict[str, Decimal] | None:
    if not option.get("vote_ids"):
        return None
    totals = {"Y": Decimal(0), "N": Decimal(0), "A": Decimal(0)}
    for ident in option["vote_ids"]:
        vote = export.get("vote", ident, label)
        if vote is not None and vote.get("value") in totals:
            totals[vote["value"]] += _number(vote.get("weight")) or Decimal(1)
    return totals


MAX_FIGURE = Decimal(10) ** 12  # more votes than any assembly casts


def _number(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    # NaN would break every comparison, and 1E+999999 spelled out is a megabyte
    if not number.is_finite() or number.copy_abs() > MAX_FIGURE:
        return None
    return number


def _contradictions(
    poll: dict[str, Any], entry: dict[str, Any], label: str
) -> list[str]:
    found = []
    valid, invalid, cast = (
        entry["votesvalid"],
        entry["votesinvalid"],
        entry["votescast"],
    )
    if None not in (valid, invalid, cast) and valid + invalid != cast:
        found.append(
            f"In the {label}, votes cast ({_n(cast)}) are not valid ({_n(valid)}) plus invalid ({_n(invalid)}) votes ({_n(valid + invalid)})."
        )
    counted = _counted(poll, entry)
    if valid is not None and counted is not None and counted > valid:
        found.append(
            f"In the {label}, the options add up to {_n(counted)} votes, more than the {_n(valid)} valid votes."
        )
    for option in entry["options"] + ([entry["global"]] if entry["global"] else []):
        totals = option.pop("vote_totals")
        if totals is None:
            continue
        for key, name in (("Y", "yes"), ("N", "no"), ("A", "abstain")):
            if option[name] is not None and totals[key] != option[name]:
                found.append(
                    f'In the {label}, the single votes for "{option["option"]}" add up to {_n(totals[key])} {name}, but its total says {_n(option[name])}.'
                )
    return found


def _counted(poll: dict[str, Any], entry: dict[str, Any]) -> Decimal | None:
    """Votes the options account for, where each voter has one vote."""
    if (poll.get("max_votes_amount") or 1) != 1:
        return None
    total = Decimal(0)
    for option in entry["options"] + ([entry["global"]] if entry["global"] else []):
        total += sum((option[k] or Decimal(0)) for k in ("yes", "no", "abstain"))
    return total


def _n(value: Decimal) -> str:
    return (
        format(value.normalize(), "f") if value == value.to_integral() else str(value)
    )


def _history_line(entry: dict[str, Any]) -> str:
    if entry["contradictions"]:
        return f'Vote "{entry["title"]}" (OpenSlides, finished): its figures contradict each other and were not taken as a result; see the import report.'
    parts = []
    for option in entry["options"]:
        figures = ", ".join(
            f"{name} {_n(option[name])}"
            for name in ("yes", "no", "abstain")
            if option[name]
        )
        parts.append(f"{option['option']}: {figures or 'no votes'}")
    totals = ", ".join(
        f"{label} {_n(entry[key])}"
        for key, label in (
            ("votesvalid", "valid"),
            ("votesinvalid", "invalid"),
            ("votescast", "cast"),
        )
        if entry[key] is not None
    )
    return (
        f'Vote "{entry["title"]}" (OpenSlides, finished): '
        + "; ".join(parts)
        + (f" ({totals})" if totals else "")
        + "."
    )


# -- participants -------------------------------------------------------------------


def _participants(export: Export, meeting: dict[str, Any]) -> list[ParticipantSpec]:
    found: list[ParticipantSpec] = []
    keys: set[str] = set()
    for member in export.all("meeting_user"):
        if member.get("meeting_id") != meeting.get("id"):
            continue
        referrer = f"Participant {member.get('id')}"
        user = export.get("user", member.get("user_id"), referrer)
        if user is None:
            continue
        key = _unique(
            f"os-{slug(str(user.get('username') or user.get('id')))}"[:60], keys
        )
        found.append(
            ParticipantSpec(
                key=key,
                name=_user_name(user),
                role=_role(export, meeting, member),
                group=_delegation(export, member, referrer) or None,
                number=_clean(member.get("number")) or None,
                email=_clean(user.get("email")) or None,
            )
        )
        _check_weight(export, member, user)
    return found


def _unique(key: str, taken: set[str]) -> str:
    candidate, number = key, 2
    while candidate in taken:
        candidate, number = f"{key}-{number}", number + 1
    taken.add(candidate)
    return candidate


def _user_name(user: dict[str, Any]) -> str:
    parts = [_clean(user.get(k)) for k in ("title", "first_name", "last_name")]
    return " ".join(p for p in parts if p) or _clean(user.get("username")) or "?"


def _meeting_user_name(export: Export, ident: Any, referrer: str) -> str:
    member = export.get("meeting_user", ident, referrer)
    if member is None:
        return ""
    user = export.get("user", member.get("user_id"), referrer)
    return _user_name(user) if user else ""


def _role(export: Export, meeting: dict[str, Any], member: dict[str, Any]) -> str:
    groups = [
        g
        for g in (
            export.get("group", i, f"Participant {member.get('id')}")
            for i in member.get("group_ids") or []
        )
        if g
    ]
    if any(
        g.get("id") == meeting.get("admin_group_id")
        or g.get("admin_group_for_meeting_id")
        for g in groups
    ):
        return "organizer"
    if any(MANAGER_PERMISSIONS & set(g.get("permissions") or []) for g in groups):
        return "secretary"
    return "delegate"


def _delegation(export: Export, member: dict[str, Any], referrer: str) -> str:
    levels = [
        export.get("structure_level", i, referrer)
        for i in member.get("structure_level_ids") or []
    ]
    names = [_clean(level.get("name")) for level in levels if level]
    if names:
        return ", ".join(names)
    groups = [export.get("group", i, referrer) for i in member.get("group_ids") or []]
    return ", ".join(_clean(g.get("name")) for g in groups if g)


def _check_weight(export: Export, member: dict[str, Any], user: dict[str, Any]) -> None:
    weight = _number(member.get("vote_weight"))
    if weight is not None and weight != 1:
        export.report.not_carried.append(
            {
                "what": f"the vote weight {_n(weight)} of {_user_name(user)}",
                "count": 1,
                "why": "Plenary counts one vote per delegate",
            }
        )
    if member.get("vote_delegated_to_id"):
        export.report.not_carried.append(
            {
                "what": f"the vote delegation of {_user_name(user)}",
                "count": 1,
                "why": "delegate votes again in Plenary",
            }
        )


def _report_left_out(export: Export) -> None:
    for collection, why in NOT_CARRIED.items():
        count = len(export.all(collection))
        if count:
            export.report.not_carried.append(
                {"what": collection.replace("_", " "), "count": count, "why": why}
            )
    secrets_found = sum(
        1
        for user in export.all("user")
        if user.get("password") or user.get("default_password")
    )
    if secrets_found:
        export.report.not_carried.append(
            {
                "what": "passwords",
                "count": secrets_found,
                "why": "participants log in with the access codes Plenary gives them",
            }
        )


# -- storing ---------------------------------------------------------------------------


@dataclass
class ReadExport:
    """An export read and checked, before anything is written."""

    spec: MeetingSpec
    report: Report
    committee: str | None  # the name of its committee, which becomes a body


def read_export_file(data: bytes, zone: str = DEFAULT_TIMEZONE) -> ReadExport:
    """Parse and check an export; CPU work only, run it outside the writer."""
    spec, report, export = read_export(data, zone)
    committees = export.all("committee")
    name = str(committees[0].get("name") or "committee") if committees else None
    return ReadExport(spec, report, name)


def import_export(
    session: Session, data: bytes, actor: Actor, zone: str = DEFAULT_TIMEZONE
) -> dict[str, Any]:
    """Read an export and store it; see ``store_export``."""
    return store_export(session, read_export_file(data, zone), actor)


def store_export(session: Session, read: ReadExport, actor: Actor) -> dict[str, Any]:
    """Create (or update) the meeting of a read export, with its report and its
    finished votes as history; one transaction."""
    spec, report = read.spec, read.report
    result = import_meeting(session, spec, origin="openslides")
    _register_people(session, result.meeting_id, spec)
    committee = _committee(session, read.committee, actor)
    if committee is not None:
        assign_body(session, result.meeting_id, committee.id, actor)
    keep_poll_history(session, result.meeting_id, report.history)
    stored = ImportReport(
        meeting_id=result.meeting_id,
        source="openslides-json",
        report_json=json.dumps(report.as_dict(), ensure_ascii=False, default=str),
    )
    session.add(stored)
    record_change(
        session,
        actor,
        "openslides.import",
        "imported {title} from OpenSlides",
        values={"title": spec.title},
        meeting_id=result.meeting_id,
        details=report.counts,
    )
    return {
        "meeting_id": result.meeting_id,
        "key": spec.key,
        "created": result.created,
        "report": json.loads(stored.report_json),
    }


def keep_poll_history(
    session: Session, meeting_id: int, history: list[dict[str, Any]]
) -> None:
    """The finished votes as rows; importing the export again replaces them."""
    stmt = select(ImportedPoll).where(
        ImportedPoll.meeting_id == meeting_id, ImportedPoll.source == "openslides"
    )
    for old in session.exec(stmt):
        session.delete(old)
    for entry in history:
        session.add(_imported_poll(meeting_id, entry))


def _imported_poll(meeting_id: int, entry: dict[str, Any]) -> ImportedPoll:
    options = [_option_figures(option) for option in entry["options"]]
    if entry["global"]:  # the general no / abstain of an election
        options.append({**_option_figures(entry["global"]), "global": True})
    return ImportedPoll(
        meeting_id=meeting_id,
        item_key=entry.get("item_key") or "",
        source="openslides",
        source_id=str(entry.get("poll_id") or ""),
        title=_clean(entry.get("title")),
        method=str(entry.get("method") or ""),
        kind=str(entry.get("type") or ""),
        state=str(entry.get("state") or ""),
        options_json=json.dumps(options, ensure_ascii=False),
        votes_valid=_figure(entry["votesvalid"]),
        votes_invalid=_figure(entry["votesinvalid"]),
        votes_cast=_figure(entry["votescast"]),
        contradictions_json=json.dumps(entry["contradictions"], ensure_ascii=False),
    )


def _option_figures(option: dict[str, Any]) -> dict[str, Any]:
    figures = {name: _figure(option[name]) for name in ("yes", "no", "abstain")}
    return {"option": option["option"], "global": False, **figures}


def _figure(value: Decimal | None) -> str | None:
    return None if value is None else _n(value)


def list_poll_history(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    """The imported finished votes of a meeting, in agenda order, for the secretary."""
    items = {
        item.key: (item.position, item.number, item.title)
        for item in session.exec(
            select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
        )
    }
    stmt = select(ImportedPoll).where(ImportedPoll.meeting_id == meeting_id)
    polls = sorted(
        session.exec(stmt.order_by(col(ImportedPoll.id))),
        key=lambda p: items.get(p.item_key, (1 << 30, "", ""))[0],
    )
    return [_poll_view(p, items.get(p.item_key)) for p in polls]


def _poll_view(poll: ImportedPoll, item: tuple[int, str, str] | None) -> dict[str, Any]:
    contradictions = json.loads(poll.contradictions_json)
    return {
        "title": poll.title,
        "item": {"number": item[1], "title": item[2]} if item else None,
        "method": poll.method,
        "type": poll.kind,
        "state": poll.state,
        "options": json.loads(poll.options_json),
        "valid": poll.votes_valid,
        "invalid": poll.votes_invalid,
        "cast": poll.votes_cast,
        "contradictions": contradictions,
        # figures that contradict each other are history, never a result
        "is_result": not contradictions,
    }


def _register_people(session: Session, meeting_id: int, spec: MeetingSpec) -> None:
    stmt = select(Participant).where(Participant.meeting_id == meeting_id)
    rows = {p.key: p for p in session.exec(stmt)}
    for person in spec.participants:
        row = rows.get(person.key)
        if row is not None:
            found = register_person(
                session,
                person.name,
                person.email or "",
                f"openslides:{person.key.removeprefix('os-')}",
            )
            link_participant(session, row.id, found.id)


def _committee(session: Session, name: str | None, actor: Actor) -> Body | None:
    if name is None:
        return None
    key = f"os-{slug(name)}"[:64]
    body = session.exec(select(Body).where(Body.key == key)).first()
    if body is None:
        body = Body(key=key, name=_clean(name) or key, kind="committee")
        session.add(body)
        session.flush()
        record_change(
            session,
            actor,
            "body.create",
            "created the body {name}",
            values={"name": body.name},
            body_id=body.id,
        )
    return body


# -- CSV files ------------------------------------------------------------------------


def read_agenda_csv(data: bytes) -> list[ItemSpec]:
    """OpenSlides' agenda CSV: title, text, duration (minutes)."""
    rows = _csv_records(data, {"title"})
    items = []
    for number, row in enumerate(rows, start=1):
        duration = row.get("duration", "").strip()
        items.append(
            ItemSpec(
                key=f"os-csv-{number}",
                title=_clean(row["title"]),
                description=html_to_text(row.get("text", "")),
                duration_min=int(duration) if duration.isdigit() else None,
            )
        )
    return items


def read_motions_csv(data: bytes) -> list[ItemSpec]:
    """OpenSlides' motion CSV: identifier, title, text, reason, submitter, category."""
    rows = _csv_records(data, {"title", "text"})
    items = []
    for number, row in enumerate(rows, start=1):
        identifier = _clean(row.get("identifier"))
        parts = [html_to_text(row.get("text", ""))]
        if row.get("reason"):
            parts.append("Reason:\n" + html_to_text(row["reason"]))
        if row.get("category"):
            parts.append(f"Category: {_clean(row['category'])}.")
        title = _clean(row["title"])
        items.append(
            ItemSpec(
                key=f"os-csv-motion-{number}",
                title=f"{identifier}: {title}" if identifier else title,
                description="\n\n".join(p for p in parts if p),
                presenter=_clean(row.get("submitter")) or None,
            )
        )
    return items


def _csv_records(data: bytes, needed: set[str]) -> list[dict[str, str]]:
    table = read_csv(data)
    if not table.rows:
        raise InvalidInputError("The CSV file is empty.")
    header = [h.strip().lower() for h in table.rows[0].values]
    if not needed <= set(header):
        raise InvalidInputError(
            "This CSV file is not an OpenSlides agenda or motion file: it needs the columns {columns}.",
            columns=", ".join(sorted(needed)),
        )
    records = []
    for row in table.rows[1:]:
        record = dict(zip(header, row.values, strict=False))
        if _clean(record.get("title")):
            records.append(record)
    return records


def csv_kind(data: bytes) -> str:
    header = read_csv(data[:4096] if len(data) > 4096 else data).rows[:1]
    names = {h.strip().lower() for h in header[0].values} if header else set()
    if {"identifier", "reason"} & names or {"submitter"} & names:
        return "motions"
    return "agenda"


def append_items(
    session: Session, meeting_id: int, items: list[ItemSpec], actor: Actor, source: str
) -> int:
    """Add items at the end of a meeting's agenda (CSV imports)."""
    ensure_not_archived(session, meeting_id)
    get_meeting(session, meeting_id)
    existing = list(
        session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))
    )
    keys = {row.key for row in existing}
    position = max((row.position for row in existing), default=-1) + 1
    top = sum(1 for row in existing if row.parent_id is None and not row.removed)
    for offset, spec in enumerate(items):
        session.add(
            AgendaItem(
                meeting_id=meeting_id,
                key=_unique(spec.key, keys),
                position=position + offset,
                number=str(top + offset + 1),
                title=spec.title,
                description=spec.description,
                duration_min=spec.duration_min,
                presenter=spec.presenter or "",
                internal=spec.internal,
            )
        )
    record_change(
        session,
        actor,
        "openslides.csv",
        "added {count} agenda items from {source}",
        values={"count": len(items), "source": source},
        meeting_id=meeting_id,
    )
    record_event(
        session, meeting_id, "meeting.changed", {"counts": {"items": len(items)}}
    )
    return len(items)


@dataclass
class ReadCsv:
    kind: str  # agenda or motions
    items: list[ItemSpec]


def read_upload(data: bytes, zone: str = DEFAULT_TIMEZONE) -> ReadExport | ReadCsv:
    """An uploaded OpenSlides file, parsed and checked outside the writer: a JSON
    export (which makes a meeting) or a CSV file (which adds items)."""
    if data.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] == b"{":
        return read_export_file(data, zone)
    kind = csv_kind(data)
    items = read_motions_csv(data) if kind == "motions" else read_agenda_csv(data)
    return ReadCsv(kind, items)


def store_upload(
    session: Session,
    meeting_id: int,
    read: ReadExport | ReadCsv,
    filename: str,
    actor: Actor,
) -> dict[str, Any]:
    if isinstance(read, ReadExport):
        return store_export(session, read, actor)
    added = append_items(session, meeting_id, read.items, actor, filename)
    return {"meeting_id": meeting_id, "added": added, "kind": read.kind}


def import_upload(
    session: Session, meeting_id: int, data: bytes, filename: str, actor: Actor
) -> dict[str, Any]:
    """Read and store an upload in one go (the command line; tests)."""
    return store_upload(session, meeting_id, read_upload(data), filename, actor)


def list_reports(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(ImportReport)
        .where(ImportReport.meeting_id == meeting_id)
        .order_by(col(ImportReport.id))
    )
    return [json.loads(row.report_json) for row in session.exec(stmt)]
