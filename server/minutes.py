"""Minutes of a meeting: written live by the secretary, filled in from the record,
finalized into a locked PDF version.

Rules:
- Staff (the secretary, the chair, the organizer) write four sections per agenda
  item: discussion summary, decisions, conclusions and assigned tasks (one task
  per line). Delegates and guests may not.
- Text is kept in Unicode normal form C, at most 20,000 characters per section.
- Each save names the revision it was written on. When another save came in
  between, the newer save still wins (last change wins per section), and the text
  it replaced is kept as a conflicting revision that staff see until they dismiss
  it. Every replaced text is kept as a revision.
- Everything else comes from the meeting's record: the header, attendance and
  quorum, the agenda, the documents of each item, who spoke, every vote with its
  counts, majority and outcome, and election results. What the record does not
  hold is written as "not recorded", never left out silently.
- Finalizing renders the minutes to PDF and locks that file as a numbered version
  with its SHA-256; any later change needs a new version. Finalizing again when
  nothing changed is refused.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from server.access import Viewer
from server.agenda import get_item, list_items
from server.audit import AuditDigest, audit_digest
from server.commands import STAFF, command, int_arg
from server.db import Store
from server.errors import ConflictError, InvalidInputError, NotFoundError
from server.eventlog import AUDIENCE_STAFF, record_event
from server.meetings import get_meeting, meeting_settings
from server.models import (
    Document,
    Meeting,
    MinutesRevision,
    MinutesSection,
    MinutesSignature,
    MinutesVersion,
    Participant,
    utcnow,
)
from server.participants import list_participants
from server.pdf import render_minutes_html, write_pdf
from server.snapshot import snapshot_section

log = logging.getLogger(__name__)

SECTION_KINDS = ("summary", "decisions", "conclusions", "tasks")
MAX_SECTION_CHARS = 20_000
SIGN_ROLES = ("secretary", "chair")
DEFAULT_SIGN_ORDER = ("secretary", "chair")


# -- writing sections ------------------------------------------------------------


def clean_text(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidInputError("The minutes text must be text.")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    if len(text) > MAX_SECTION_CHARS:
        raise InvalidInputError(
            "A section of the minutes holds at most {limit} characters; this one has {count}. Split it over the other sections or shorten it.",
            limit=MAX_SECTION_CHARS,
            count=len(text),
        )
    return text


def ensure_kind(kind: Any) -> str:
    if kind not in SECTION_KINDS:
        raise InvalidInputError(
            "The minutes have no section called {kind}; use summary, decisions, conclusions or tasks.",
            kind=str(kind)[:32],
        )
    return kind


def get_section(
    session: Session, meeting_id: int, item_id: int, kind: str
) -> MinutesSection | None:
    stmt = select(MinutesSection).where(
        MinutesSection.meeting_id == meeting_id,
        MinutesSection.item_id == item_id,
        MinutesSection.kind == kind,
    )
    return session.exec(stmt).first()


def save_section(
    session: Session,
    meeting: Meeting,
    viewer: Viewer,
    item_id: int,
    kind: str,
    text: str,
    base_revision: int,
) -> dict[str, Any]:
    """Store a new text for one section; keep the text it replaces as a revision."""
    get_item(session, meeting.id, item_id)
    kind, text = ensure_kind(kind), clean_text(text)
    section = get_section(session, meeting.id, item_id, kind) or MinutesSection(
        meeting_id=meeting.id, item_id=item_id, kind=kind
    )
    if section.id is not None and section.text == text:
        return section_view(section, conflict=None)

    conflict = section.revision > base_revision and bool(section.text)
    replaced = (
        _keep_revision(session, section, viewer, conflict) if section.id else None
    )
    section.text, section.revision = text, section.revision + 1
    section.updated_by, section.updated_at = viewer.participant_id, utcnow()
    session.add(section)
    session.flush()

    view = section_view(section, conflict=revision_view(replaced) if conflict else None)
    record_event(
        session,
        meeting.id,
        "minutes.section",
        view,
        audience=AUDIENCE_STAFF,
        actor_id=viewer.participant_id,
    )
    return view


def _keep_revision(
    session: Session, section: MinutesSection, viewer: Viewer, conflict: bool
) -> MinutesRevision:
    row = MinutesRevision(
        section_id=section.id,
        revision=section.revision,
        text=section.text,
        author_id=section.updated_by,
        written_at=section.updated_at,
        replaced_by=viewer.participant_id,
        conflict=conflict,
    )
    session.add(row)
    session.flush()
    return row


def section_view(
    section: MinutesSection, conflict: dict | None = None
) -> dict[str, Any]:
    return {
        "item_id": section.item_id,
        "kind": section.kind,
        "text": section.text,
        "revision": section.revision,
        "updated_by": section.updated_by,
        "updated_at": section.updated_at.isoformat(),
        "conflict": conflict,
    }


def revision_view(row: MinutesRevision | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "revision": row.revision,
        "text": row.text,
        "author_id": row.author_id,
        "written_at": row.written_at.isoformat(),
        "replaced_by": row.replaced_by,
    }


@command("minutes.save", STAFF, "write the minutes")
def save_command(
    session: Session, meeting: Meeting, viewer: Viewer, args: dict
) -> dict:
    base = args.get("base_revision", 0)
    if isinstance(base, bool) or not isinstance(base, int):
        raise InvalidInputError("The command needs base_revision as a whole number.")
    return save_section(
        session,
        meeting,
        viewer,
        int_arg(args, "item_id"),
        args.get("kind"),
        args.get("text"),
        base,
    )


@command("minutes.dismiss", STAFF, "dismiss a replaced text of the minutes")
def dismiss_conflict(
    session: Session, meeting: Meeting, viewer: Viewer, args: dict
) -> dict:
    row = session.get(MinutesRevision, int_arg(args, "revision_id"))
    section = session.get(MinutesSection, row.section_id) if row else None
    if row is None or section is None or section.meeting_id != meeting.id:
        raise NotFoundError(
            "This replaced text does not exist in the minutes of this meeting."
        )
    row.dismissed = True
    session.add(row)
    payload = {"revision_id": row.id}
    record_event(
        session,
        meeting.id,
        "minutes.dismissed",
        payload,
        audience=AUDIENCE_STAFF,
        actor_id=viewer.participant_id,
    )
    return payload


def list_sections(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(MinutesSection)
        .where(MinutesSection.meeting_id == meeting_id)
        .order_by(col(MinutesSection.id))
    )
    return [section_view(row) for row in session.exec(stmt)]


def list_conflicts(session: Session, meeting_id: int) -> list[dict[str, Any]]:
    """Texts that a save from another device replaced, not yet dismissed."""
    stmt = (
        select(MinutesRevision, MinutesSection)
        .join(MinutesSection, col(MinutesRevision.section_id) == MinutesSection.id)
        .where(
            MinutesSection.meeting_id == meeting_id,
            MinutesRevision.conflict == True,  # noqa: E712
            MinutesRevision.dismissed == False,  # noqa: E712
        )
        .order_by(col(MinutesRevision.id))
    )
    return [
        {**revision_view(rev), "item_id": sec.item_id, "kind": sec.kind}  # type: ignore[dict-item]
        for rev, sec in session.exec(stmt)
    ]


def list_revisions(
    session: Session, meeting_id: int, item_id: int, kind: str
) -> list[dict]:
    section = get_section(session, meeting_id, item_id, kind)
    if section is None:
        return []
    stmt = (
        select(MinutesRevision)
        .where(MinutesRevision.section_id == section.id)
        .order_by(col(MinutesRevision.revision))
    )
    return [
        {**revision_view(row), "conflict": row.conflict} for row in session.exec(stmt)
    ]  # type: ignore[dict-item]


# -- the record, filled in -------------------------------------------------------


def collect_minutes(session: Session, meeting_id: int) -> dict[str, Any]:
    """Everything the minutes show, as plain data; ``audit`` is the seal."""
    meeting = get_meeting(session, meeting_id)
    settings = meeting_settings(meeting)
    people = list_participants(session, meeting_id)
    polls = _from_floor("voting", "list_poll_results", session, meeting_id)
    data: dict[str, Any] = {
        "language": meeting.language if meeting.language in ("vi", "en") else "vi",
        "meeting": _meeting_header(meeting, settings),
        "national_header": bool(
            settings.get("minutes_national_header", meeting.language == "vi")
        ),
        "chair": _first_with_role(people, "chair"),
        "secretary": _first_with_role(people, "secretary"),
        "sign_order": list(sign_order(meeting)),
        "attendance": _attendance(session, meeting_id, people),
        "agenda": _items(session, meeting_id, polls),
        "polls_recorded": polls is not None,
        "other_polls": [_poll(p) for p in _motions(polls) if _poll_item(p) is None],
    }
    speeches = _from_floor("speakers", "speeches_by_item", session, meeting_id)
    data["speeches_recorded"] = speeches is not None
    _attach_speeches(data["agenda"], speeches or [])
    elections = _from_floor("elections", "election_results", session, meeting_id)
    data["elections_recorded"] = elections is not None
    data["elections"] = [_election(e) for e in elections or []]
    data["audit"] = audit_digest(session, meeting_id).as_dict()
    return data


def content_hash(data: dict[str, Any]) -> str:
    """What the minutes say, hashed; the audit seal and the time are left out."""
    content = {key: value for key, value in data.items() if key != "audit"}
    body = json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(unicodedata.normalize("NFC", body).encode()).hexdigest()


def sign_order(meeting: Meeting) -> tuple[str, ...]:
    """Who signs first: secretary, then chair, unless the meeting says otherwise."""
    order = meeting_settings(meeting).get("minutes_sign_order")
    if isinstance(order, list) and sorted(order) == sorted(SIGN_ROLES):
        return tuple(order)
    return DEFAULT_SIGN_ORDER


def _meeting_header(meeting: Meeting, settings: dict[str, Any]) -> dict[str, Any]:
    zone = _zone(meeting.timezone)
    start = meeting.starts_at.astimezone(zone)
    end = (
        meeting.ends_at.astimezone(zone)
        if meeting.ends_at and meeting.state == "ended"
        else None
    )
    return {
        "id": meeting.id,
        "key": meeting.key,
        "title": meeting.title,
        "body": meeting.body,
        "parent_body": str(settings.get("parent_body", "")),
        "number": str(settings.get("minutes_number", "…/BB")),
        "city": str(settings.get("minutes_city", "")),
        "place": meeting.place,
        "state": meeting.state,
        "starts_at_local": start.isoformat(),
        "starts_at_text": _when(start),
        "ends_at_text": _when(end) if end else "",
    }


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Ho_Chi_Minh")


def _when(value: datetime) -> str:
    return value.strftime("%H:%M %d/%m/%Y")


def _first_with_role(people: list[Participant], role: str) -> dict[str, Any] | None:
    for person in people:
        if person.role == role:
            return {"id": person.id, "name": person.name, "title": person.title}
    return None


def _from_floor(module: str, function: str, session: Session, meeting_id: int) -> Any:
    """What another capability recorded, or None when it is not installed."""
    try:
        found = importlib.import_module(f"server.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"server.{module}":
            raise
        return None
    reader: Callable[[Session, int], Any] | None = getattr(found, function, None)
    return None if reader is None else reader(session, meeting_id)


STATUS_LABELS = {
    "present": "present",
    "absent": "absent",
    "excused": "excused",
    "proxy": "represented by proxy",
}


def _attendance(
    session: Session, meeting_id: int, people: list[Participant]
) -> dict[str, Any]:
    summary = _from_floor("attendance", "attendance_summary", session, meeting_id)
    if summary is None:
        rows = [{"name": p.name, "group": p.group_name, "role": p.role} for p in people]
        return {"recorded": False, "rows": rows}
    names = {p.id: p.name for p in people}
    rows = [_attendance_row(line, names) for line in summary.get("people", [])]
    members = [row for row in rows if row["member"]]
    by_status = {
        s: [r["name"] for r in members if r["status"] == s] for s in STATUS_LABELS
    }
    quorum = summary.get("quorum")
    return {
        "recorded": True,
        "rows": rows,
        "total": len(members),
        "present": by_status["present"],
        "absent": by_status["absent"],
        "excused": by_status["excused"],
        "proxies": by_status["proxy"],
        "quorum": _quorum(quorum) if quorum else None,
    }


def _attendance_row(line: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    status = str(line.get("status", "absent"))
    holder = line.get("proxy_holder_id")
    return {
        "name": line.get("name", ""),
        "group": line.get("group", ""),
        "role": line.get("role", ""),
        "member": bool(line.get("member", True)),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "proxy": names.get(holder, "") if status == "proxy" and holder else "",
    }


def _quorum(quorum: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": quorum.get("required", 0),
        "counted": quorum.get("present", 0),
        "reached": bool(quorum.get("met")),
        "rule": quorum.get("rule", ""),
    }


def _items(
    session: Session, meeting_id: int, polls: list | None
) -> list[dict[str, Any]]:
    sections: dict[tuple[int, str], str] = {}
    for row in session.exec(
        select(MinutesSection).where(MinutesSection.meeting_id == meeting_id)
    ):
        sections[(row.item_id, row.kind)] = row.text
    documents = _documents_by_item(session, meeting_id)
    found = []
    for item in list_items(session, meeting_id):
        texts = {
            kind: sections.get((item.id, kind), "").strip() for kind in SECTION_KINDS
        }
        found.append(
            {
                "id": item.id,
                "number": item.number,
                "title": item.title,
                "depth": item.number.count("."),
                "presenter": item.presenter,
                "documents": documents.get(item.id, []),
                "sections": texts,
                "tasks": [
                    line.strip() for line in texts["tasks"].splitlines() if line.strip()
                ],
                "polls": [
                    _poll(p) for p in _motions(polls) if _poll_item(p) == item.id
                ],
                "speeches": [],
            }
        )
    return found


def _documents_by_item(session: Session, meeting_id: int) -> dict[int, list[str]]:
    stmt = (
        select(Document)
        .where(Document.meeting_id == meeting_id, Document.removed == False)  # noqa: E712
        .order_by(col(Document.position))
    )
    found: dict[int, list[str]] = {}
    for doc in session.exec(stmt):
        if doc.item_id is not None:
            found.setdefault(doc.item_id, []).append(doc.title)
    return found


def _poll_item(poll: dict[str, Any]) -> int | None:
    return poll.get("item_id")


def _motions(polls: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [p for p in polls or [] if p.get("kind", "motion") == "motion"]


OUTCOME_LABELS = {
    "adopted": "Adopted.",
    "rejected": "Rejected.",
    "tie": "Tie: the motion is not adopted.",
}


def _poll(poll: dict[str, Any]) -> dict[str, Any]:
    """A closed motion as the minutes show it: counts, rule, outcome."""
    counts = poll.get("counts") or {}
    outcome = str(poll.get("outcome", ""))
    return {
        "title": str(poll.get("title", "")),
        "mode": str(poll.get("mode", "")),
        "yes": counts.get("yes", 0),
        "no": counts.get("no", 0),
        "abstain": counts.get("abstain", 0),
        "ballots": poll.get("ballots", 0),
        "members": poll.get("members", 0),
        "present": poll.get("present", 0),
        "majority": str(poll.get("rule_text", "")),
        "base": str(poll.get("base_text", "")),
        "required": poll.get("required", 0),
        "outcome_label": OUTCOME_LABELS.get(outcome, outcome),
        "outcome_text": str(poll.get("outcome_text", "")),
        "cancelled": poll.get("state") == "cancelled",
        "reason": str(poll.get("reason", "")),
    }


def _attach_speeches(
    items: list[dict[str, Any]], speeches: list[dict[str, Any]]
) -> None:
    by_item = {entry["item_id"]: entry.get("speeches", []) for entry in speeches}
    for item in items:
        item["speeches"] = [
            {"name": s.get("name", ""), "duration": _duration(s.get("seconds"))}
            for s in by_item.get(item["id"], [])
        ]


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or seconds <= 0:
        return ""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def _election(election: dict[str, Any]) -> dict[str, Any]:
    candidates = [
        {
            "name": str(c.get("name", "")),
            "votes": c.get("votes", 0),
            "elected": bool(c.get("elected")),
            "runoff": bool(c.get("runoff")),
        }
        for c in election.get("candidates", [])
    ]
    return {
        "title": str(election.get("title", "")),
        "seats": election.get("seats", 1),
        "cast": election.get("ballots", 0),
        "valid": election.get("valid", 0),
        "blank": election.get("blank", 0),
        "invalid": election.get("invalid", 0),
        "rule": str(election.get("threshold_text", "")),
        "outcome_text": str(election.get("outcome_text", "")),
        "candidates": candidates,
    }


# -- versions --------------------------------------------------------------------


@dataclass(frozen=True)
class MinutesFiles:
    """The content-addressed store of minutes PDFs."""

    root: Path

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"expected a sha256 hex digest, got {sha256!r}")
        return self.root / sha256[:2] / f"{sha256}.pdf"

    def put(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(target)
        return sha256

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


def minutes_files(data_dir: Path) -> MinutesFiles:
    return MinutesFiles(data_dir / "minutes")


def list_versions(session: Session, meeting_id: int) -> list[MinutesVersion]:
    stmt = (
        select(MinutesVersion)
        .where(MinutesVersion.meeting_id == meeting_id)
        .order_by(col(MinutesVersion.number))
    )
    return list(session.exec(stmt))


def latest_version(session: Session, meeting_id: int) -> MinutesVersion | None:
    versions = list_versions(session, meeting_id)
    return versions[-1] if versions else None


def get_version(session: Session, meeting_id: int, number: int) -> MinutesVersion:
    stmt = select(MinutesVersion).where(
        MinutesVersion.meeting_id == meeting_id, MinutesVersion.number == number
    )
    version = session.exec(stmt).first()
    if version is None:
        raise NotFoundError(
            "Version {number} of the minutes does not exist.", number=number
        )
    return version


def list_signatures(session: Session, version_id: int) -> list[MinutesSignature]:
    stmt = (
        select(MinutesSignature)
        .where(MinutesSignature.version_id == version_id)
        .order_by(col(MinutesSignature.id))
    )
    return list(session.exec(stmt))


def version_view(session: Session, version: MinutesVersion) -> dict[str, Any]:
    signatures = list_signatures(session, version.id)
    return {
        "number": version.number,
        "final_sha256": version.final_sha256,
        "sha256": version.current_sha256,
        "finalized_at": version.finalized_at.isoformat(),
        "signed": version.signed_at is not None,
        "audit_events": version.audit_events,
        "audit_hash": version.audit_hash,
        "url": f"/m/{version.meeting_id}/minutes/v{version.number}.pdf",
        "signatures": [
            {
                "role": s.role,
                "signer": s.signer_subject,
                "signed_at": s.signed_at.isoformat(),
                "source": s.key_source,
                "timestamped": s.timestamped,
            }
            for s in signatures
        ],
    }


def minutes_status(session: Session, meeting_id: int) -> dict[str, Any]:
    """Draft, final or signed; and whether the draft changed since the last version."""
    meeting = get_meeting(session, meeting_id)
    latest = latest_version(session, meeting_id)
    changed = (
        latest is None
        or content_hash(collect_minutes(session, meeting_id)) != latest.content_hash
    )
    if latest is None or changed:
        state = "draft"
    else:
        state = "signed" if latest.signed_at else "final"
    signed_roles = (
        [s.role for s in list_signatures(session, latest.id)] if latest else []
    )
    waiting = [role for role in sign_order(meeting) if role not in signed_roles]
    return {
        "state": state,
        "changed_since_final": bool(latest) and changed,
        "sign_order": list(sign_order(meeting)),
        "next_signer": waiting[0] if state == "final" and waiting else None,
        "versions": [
            version_view(session, v) for v in list_versions(session, meeting_id)
        ],
    }


def status_line(language: str, draft: bool, number: int | None) -> str:
    from server.i18n import translations

    gettext = translations(language).gettext
    if draft:
        return gettext("Draft of the minutes; not valid until finalized and signed.")
    return gettext("Version {number} of the minutes, finalized for signature.").format(
        number=number
    )


def render_minutes(
    data: dict[str, Any],
    *,
    draft: bool,
    number: int | None = None,
    now: datetime | None = None,
) -> tuple[str, bytes]:
    """The HTML and the PDF of the minutes."""
    line = status_line(data["language"], draft, number)
    rendered = render_minutes_html(
        data, draft=draft, status_line=line, now=now or utcnow()
    )
    return rendered.html, write_pdf(rendered.html)


def preview_html(session: Session, meeting_id: int) -> str:
    data = collect_minutes(session, meeting_id)
    line = status_line(data["language"], True, None)
    return render_minutes_html(data, draft=True, status_line=line, now=utcnow()).html


def finalize_minutes(
    store: Store, files: MinutesFiles, viewer: Viewer
) -> dict[str, Any]:
    """Render the current minutes to PDF and lock them as the next version.

    The rendering (seconds for a congress) runs outside the write path; the
    version is stored only if nothing changed meanwhile.
    """
    data = store.read_sync(collect_minutes, viewer.meeting_id)
    digest = content_hash(data)
    number = store.read_sync(_next_number, viewer.meeting_id, digest)
    _html, pdf = render_minutes(data, draft=False, number=number)
    sha256 = files.put(pdf)
    audit = AuditDigest.from_dict(data["audit"])
    return store.write_sync(record_version, viewer, number, digest, sha256, audit)


def _next_number(session: Session, meeting_id: int, digest: str) -> int:
    latest = latest_version(session, meeting_id)
    if latest is not None and latest.content_hash == digest:
        raise ConflictError(
            "Version {number} already holds these minutes: nothing changed since it was finalized.",
            number=latest.number,
        )
    return (latest.number if latest else 0) + 1


def record_version(
    session: Session,
    viewer: Viewer,
    number: int,
    digest: str,
    sha256: str,
    audit: AuditDigest,
) -> dict[str, Any]:
    if content_hash(collect_minutes(session, viewer.meeting_id)) != digest:
        raise ConflictError(
            "The minutes changed while they were being finalized. Finalize them again."
        )
    latest = latest_version(session, viewer.meeting_id)
    if latest is not None and latest.number >= number:
        raise ConflictError(
            "Someone else finalized the minutes at the same moment. Reload to see version {number}.",
            number=latest.number,
        )
    version = MinutesVersion(
        meeting_id=viewer.meeting_id,
        number=number,
        content_hash=digest,
        final_sha256=sha256,
        current_sha256=sha256,
        audit_events=audit.events,
        audit_hash=audit.last_hash,
        finalized_by=viewer.participant_id,
    )
    session.add(version)
    session.flush()
    view = version_view(session, version)
    record_event(
        session,
        viewer.meeting_id,
        "minutes.finalized",
        view,
        actor_id=viewer.participant_id,
        audience=AUDIENCE_STAFF,
    )
    log.info(
        "Minutes of meeting %s finalized as version %d.", viewer.meeting_id, number
    )
    return view


# -- what tablets see ------------------------------------------------------------


@snapshot_section("minutes")
def _snapshot(session: Session, meeting: Meeting, viewer: Viewer) -> dict[str, Any]:
    """Staff see the sections being written; everyone sees the signed versions."""
    versions = [version_view(session, v) for v in list_versions(session, meeting.id)]
    if not viewer.is_staff:
        return {"versions": [v for v in versions if v["signed"]]}
    return {
        "sections": list_sections(session, meeting.id),
        "conflicts": list_conflicts(session, meeting.id),
        "versions": versions,
        "sign_order": list(sign_order(meeting)),
        "max_chars": MAX_SECTION_CHARS,
    }
