"""Signing the minutes, and verifying any signed PDF.

Rules:
- Only the meeting's secretary and chair sign its minutes, in the order the
  meeting sets (``minutes_sign_order``; secretary then chair by default), each
  once per version.
- Only a finalized version is signed: a draft, or minutes that changed after
  their last version was finalized, are refused with the reason.
- Each signature is a PAdES signature (B-B; B-T when the keys directory has a
  timestamp authority) added as an incremental update, so the bytes signed
  before stay unchanged and every earlier signature stays valid.
- Verification reports, for each signature: who signed, when (as claimed, and as
  timestamped), whether the signed bytes are intact, whether the document changed
  after it, and whether the certificate chains to a trusted root. An untrusted or
  expired certificate is reported as such, never as valid.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlmodel import Session

from server.access import Viewer
from server.db import Store
from server.errors import ConflictError, InvalidInputError, NotAllowedError
from server.eventlog import record_event
from server.keys import (
    SignerKey,
    ensure_trusted_issuer,
    issue_organization_key,
    load_key_file,
    local_timestamper,
    trust_roots,
)
from server.meetings import get_meeting
from server.minutes import (
    SIGN_ROLES,
    MinutesFiles,
    collect_minutes,
    content_hash,
    latest_version,
    list_signatures,
    sign_order,
    version_view,
)
from server.models import MinutesSignature, MinutesVersion, utcnow

log = logging.getLogger(__name__)

MAX_VERIFY_BYTES = 50 * 1024 * 1024
ROLE_TITLES = {
    "secretary": {"vi": "Thư ký", "en": "Secretary"},
    "chair": {"vi": "Chủ tọa", "en": "Chair"},
}


class _QuietPathErrors(logging.Filter):
    """pyHanko logs a traceback when it finds no path to a trusted root; for us
    that is an ordinary answer ("untrusted"), which the report states."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to build path")


logging.getLogger("pyhanko.sign.validation.generic_cms").addFilter(_QuietPathErrors())


# -- signing ---------------------------------------------------------------------


def sign_pdf(
    data: bytes,
    key: SignerKey,
    *,
    field_name: str,
    reason: str = "",
    location: str = "",
    timestamper: TimeStamper | None = None,
) -> bytes:
    """``data`` with one more PAdES signature, appended as an incremental update."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason or None,
        location=location or None,
        name=key.common_name,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    output = io.BytesIO()
    signers.PdfSigner(meta, signer=key.signer, timestamper=timestamper).sign_pdf(
        writer, output=output
    )
    signed = output.getvalue()
    if not signed.startswith(data):
        raise RuntimeError("expected the signature as an incremental update of the PDF")
    return signed


@dataclass(frozen=True)
class SigningPlan:
    version_id: int
    number: int
    sha256: str
    role: str
    field_name: str
    location: str
    language: str


def ensure_signer_role(viewer: Viewer) -> str:
    if viewer.role not in SIGN_ROLES or viewer.participant_id is None:
        raise NotAllowedError(
            "Only the secretary and the chair of this meeting may sign its minutes."
        )
    return viewer.role


def plan_signature(session: Session, viewer: Viewer) -> SigningPlan:
    """Check that ``viewer`` may sign now, and what."""
    role = ensure_signer_role(viewer)
    meeting = get_meeting(session, viewer.meeting_id)
    version = _signable_version(session, viewer.meeting_id)
    done = [s.role for s in list_signatures(session, version.id)]
    if role in done:
        raise ConflictError(
            "You have already signed version {number} of the minutes.",
            number=version.number,
        )
    waiting = [r for r in sign_order(meeting) if r not in done]
    if waiting[0] != role:
        raise ConflictError(
            "The {first} signs first: you can sign once the {first} has signed version {number}.",
            first=waiting[0],
            number=version.number,
        )
    return SigningPlan(
        version.id,
        version.number,
        version.current_sha256,
        role,
        f"Signature-{role}-v{version.number}",
        meeting.place,
        meeting.language,
    )


def _signable_version(session: Session, meeting_id: int) -> MinutesVersion:
    version = latest_version(session, meeting_id)
    if version is None:
        raise ConflictError(
            "The minutes are still a draft. Finalize them before signing."
        )
    if content_hash(collect_minutes(session, meeting_id)) != version.content_hash:
        raise ConflictError(
            "The minutes changed after version {number} was finalized, so that version can no longer be signed. Finalize them again and sign the new version.",
            number=version.number,
        )
    return version


def choose_key(
    keys_directory: Path,
    viewer: Viewer,
    key_file: bytes | None,
    password: str,
    language: str,
) -> SignerKey:
    """The signer's own key file, or a certificate from the organization CA."""
    if key_file:
        key = load_key_file(key_file, password)
    else:
        title = ROLE_TITLES[viewer.role].get(language, ROLE_TITLES[viewer.role]["en"])
        key = issue_organization_key(keys_directory, viewer.name, title)
    ensure_trusted_issuer(key, trust_roots(keys_directory))
    return key


def sign_minutes(
    store: Store,
    files: MinutesFiles,
    keys_directory: Path,
    viewer: Viewer,
    key_file: bytes | None = None,
    password: str = "",
) -> dict[str, Any]:
    """Add the viewer's signature to the latest finalized version of the minutes."""
    plan = store.read_sync(plan_signature, viewer)
    key = choose_key(keys_directory, viewer, key_file, password, plan.language)
    title = ROLE_TITLES[plan.role].get(plan.language, ROLE_TITLES[plan.role]["en"])
    timestamper = local_timestamper(keys_directory)
    signed = sign_pdf(
        files.get(plan.sha256),
        key,
        field_name=plan.field_name,
        reason=f"{title}: {viewer.name}",
        location=plan.location,
        timestamper=timestamper,
    )
    sha256 = files.put(signed)
    return store.write_sync(
        record_signature, viewer, plan, sha256, key, timestamper is not None
    )


def record_signature(
    session: Session,
    viewer: Viewer,
    plan: SigningPlan,
    sha256: str,
    key: SignerKey,
    timestamped: bool,
) -> dict[str, Any]:
    version = session.get(MinutesVersion, plan.version_id)
    if version is None or version.current_sha256 != plan.sha256:
        raise ConflictError(
            "Someone else signed the minutes at the same moment. Reload and sign again."
        )
    session.add(
        MinutesSignature(
            version_id=version.id,
            role=plan.role,
            participant_id=viewer.participant_id,
            field_name=plan.field_name,
            signer_subject=key.subject,
            certificate_sha256=key.certificate_sha256,
            key_source=key.source,
            timestamped=timestamped,
            pdf_sha256=sha256,
        )
    )
    version.current_sha256 = sha256
    meeting = get_meeting(session, viewer.meeting_id)
    if len(list_signatures(session, version.id)) + 1 == len(sign_order(meeting)):
        version.signed_at = utcnow()
    session.add(version)
    session.flush()
    view = version_view(session, version)
    record_event(
        session,
        viewer.meeting_id,
        "minutes.signed",
        view,
        actor_id=viewer.participant_id,
    )
    log.info(
        "Minutes of meeting %s, version %d, signed by the %s.",
        viewer.meeting_id,
        version.number,
        plan.role,
    )
    return view


# -- verifying -------------------------------------------------------------------


@dataclass
class SignatureReport:
    field: str
    signer: str
    subject: str
    issuer: str
    signed_at: str | None  # as the signer's computer claimed
    timestamp: str | None  # from a timestamp authority, when there is one
    intact: bool  # the signed bytes are unchanged and the signature matches them
    covers_whole_file: bool
    changed_after: bool  # the document was changed after this signature
    change: str  # what happened after this signature, in words
    trusted: bool  # the certificate chains to a trusted root
    trust: str  # why (not) trusted, in words
    certificate_valid_from: str
    certificate_valid_to: str
    not_for_production: bool

    @property
    def ok(self) -> bool:
        return self.intact and not self.changed_after and self.trusted


@dataclass
class VerifyReport:
    signatures: list[SignatureReport] = field(default_factory=list)
    trusted_roots: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and all(s.ok for s in self.signatures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problem": self.problem,
            "trusted_roots": self.trusted_roots,
            "signatures": [{**asdict(s), "ok": s.ok} for s in self.signatures],
        }


def verify_pdf(data: bytes, roots: list[x509.Certificate]) -> VerifyReport:
    """Check every signature of a PDF against ``roots``."""
    report = VerifyReport(trusted_roots=[r.subject.rfc4514_string() for r in roots])
    if len(data) > MAX_VERIFY_BYTES:
        raise InvalidInputError(
            "The file is larger than 50 MB; Plenary checks PDF files up to 50 MB."
        )
    if not data.lstrip()[:5] == b"%PDF-":
        raise InvalidInputError(
            "This file is not a PDF. Choose the signed PDF file of the minutes."
        )
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # pyHanko raises many kinds on a damaged file
        log.warning("A PDF could not be read for verification: %s", exc)
        raise InvalidInputError(
            "This PDF is damaged and cannot be read, so its signatures cannot be checked."
        ) from None
    if not embedded:
        report.problem = "This PDF has no digital signature."
    trust = [_to_asn1(r) for r in roots]
    for sig in embedded:
        report.signatures.append(_check(sig, trust))
    return report


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _check(sig: Any, trust: list[asn1_x509.Certificate]) -> SignatureReport:
    context = ValidationContext(
        trust_roots=trust, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        status = validate_pdf_signature(sig, context)
    except Exception as exc:  # a signature pyHanko cannot even parse
        log.warning("A signature could not be validated: %s", exc)
        return _broken(sig, str(exc))
    return _report(sig, status)


def _report(sig: Any, status: PdfSignatureStatus) -> SignatureReport:
    cert = status.signing_cert
    changed, change = _change(status)
    stamp = status.timestamp_validity
    return SignatureReport(
        field=sig.field_name,
        signer=str(cert.subject.native.get("common_name", "")),
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        signed_at=_iso(status.signer_reported_dt),
        timestamp=_iso(stamp.timestamp) if stamp is not None else None,
        intact=bool(status.intact and status.valid),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        changed_after=changed,
        change=change,
        trusted=status.trusted,
        trust=_trust(status),
        certificate_valid_from=_iso(cert.not_valid_before) or "",
        certificate_valid_to=_iso(cert.not_valid_after) or "",
        not_for_production="NOT FOR PRODUCTION" in cert.subject.human_friendly,
    )


def _change(status: PdfSignatureStatus) -> tuple[bool, str]:
    """Whether (and how) the document changed after this signature."""
    from pyhanko.sign.diff_analysis import ModificationLevel

    if not (status.intact and status.valid):
        return (
            True,
            "The document was changed after this signature: the signed bytes no longer match it.",
        )
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return False, "Nothing was changed after this signature."
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return True, "This signature covers only part of the file."
    level = status.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return False, "Only validation data was added after this signature."
    if level == ModificationLevel.FORM_FILLING:
        return False, "Only further signatures were added after this signature."
    if level == ModificationLevel.ANNOTATIONS:
        return True, "Comments or annotations were added after this signature."
    return (
        True,
        "The document was changed after this signature, in a later update of the file.",
    )


def _trust(status: PdfSignatureStatus) -> str:
    if status.trusted:
        return "The certificate chains to a trusted root: " + status._trust_anchor + "."
    if status.revoked:
        return "The certificate was revoked."
    indic = status.trust_problem_indic
    name = getattr(indic, "name", "")
    if name == "EXPIRED" or "EXPIRED" in name:
        return "The certificate had expired, or its chain could not be checked at the time of validation."
    if name == "NO_CERTIFICATE_CHAIN_FOUND" or status.validation_path is None:
        return (
            "The certificate does not chain to a root this server trusts (issuer: "
            + status.signing_cert.issuer.human_friendly
            + ")."
        )
    return f"The certificate is not trusted ({name or 'unknown reason'})."


def _broken(sig: Any, reason: str) -> SignatureReport:
    return SignatureReport(
        field=getattr(sig, "field_name", ""),
        signer="",
        subject="",
        issuer="",
        signed_at=None,
        timestamp=None,
        intact=False,
        covers_whole_file=False,
        changed_after=True,
        change=f"The signature cannot be checked: {reason}",
        trusted=False,
        trust="Unknown.",
        certificate_valid_from="",
        certificate_valid_to="",
        not_for_production=False,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
