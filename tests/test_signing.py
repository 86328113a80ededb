"""Signing the minutes and verifying signed PDFs (ours and real Vietnamese ones).

Two implementations check every signature we make: pyHanko and poppler's
pdfsig (with its own NSS trust store holding our trial CA).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from server.errors import ConflictError, InvalidInputError, NotAllowedError
from server.keys import (
    init_keys,
    issue_certificate,
    load_key_file,
    make_ca,
    pkcs12_bytes,
    trust_roots,
)
from server.minutes import finalize_minutes
from server.models import Meeting
from server.signing import sign_minutes, verify_pdf
from tests._minutes_fixtures import *  # noqa: F403  (fixtures: minutes_room, trial_keys)
from tests._minutes_fixtures import (  # noqa: F401
    KEY_PASSWORD,
    PDF_DATA,
)


def finalize(room) -> dict:
    room.write(room.items()[0], "summary", "Nội dung đã thống nhất.")
    return finalize_minutes(room.store, room.files, room.one("secretary"))


def sign_both(room) -> bytes:
    """Version 1 signed by the secretary (key file), then the chair (organization CA)."""
    finalize(room)
    sign_minutes(
        room.store,
        room.files,
        room.keys,
        room.one("secretary"),
        room.key_file("secretary"),
        KEY_PASSWORD,
    )
    version = sign_minutes(room.store, room.files, room.keys, room.one("chair"))
    return room.files.get(version["sha256"])


def pdfsig(pdf: bytes, tmp_path: Path, ca_pem: Path | None = None) -> str:
    path = tmp_path / "checked.pdf"
    path.write_bytes(pdf)
    command = ["pdfsig"]
    if ca_pem is not None and shutil.which("certutil"):
        nss = tmp_path / "nss"
        nss.mkdir(exist_ok=True)
        subprocess.run(
            ["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "certutil",
                "-A",
                "-d",
                f"sql:{nss}",
                "-n",
                "trial-ca",
                "-t",
                "CT,C,C",
                "-i",
                str(ca_pem),
            ],
            check=True,
            capture_output=True,
        )
        command += ["-nssdir", f"sql:{nss}"]
    result = subprocess.run([*command, str(path)], capture_output=True, text=True)
    return result.stdout + result.stderr


def test_secretary_then_chair_sign_and_both_signatures_validate_with_pyhanko(
    minutes_room,
):
    pdf = sign_both(minutes_room)

    report = verify_pdf(pdf, trust_roots(minutes_room.keys))

    assert report.ok
    first, second = report.signatures
    assert first.signer == "Secretary (NOT FOR PRODUCTION)"
    assert second.signer == "Trần Bình Trọng (NOT FOR PRODUCTION)"
    assert first.intact and not first.changed_after
    assert first.change == "Only further signatures were added after this signature."
    assert (
        second.covers_whole_file
        and second.change == "Nothing was changed after this signature."
    )
    assert first.trusted and second.trusted and first.not_for_production
    assert (
        first.timestamp is not None
    )  # PAdES B-T: the local timestamp authority stamped it


def test_both_signatures_validate_with_pdfsig_too(minutes_room, tmp_path):
    pdf = sign_both(minutes_room)

    out = pdfsig(pdf, tmp_path, minutes_room.keys / "ca.pem")

    assert out.count("Signature Validation: Signature is Valid.") == 2
    assert "Signer Certificate Common Name: Secretary (NOT FOR PRODUCTION)" in out
    assert "Signer Certificate Common Name: Trần Bình Trọng (NOT FOR PRODUCTION)" in out
    assert "Total document signed" in out
    if shutil.which("certutil"):
        assert out.count("Certificate Validation: Certificate is Trusted.") == 2


def _flip_a_signed_byte(pdf: bytes) -> bytes:
    """Change one letter of the creator named in the first revision: Plenary -> Plenarz."""
    at = pdf.index(b"/Creator (Plenary)") + len(b"/Creator (Plenar")
    return pdf[:at] + b"z" + pdf[at + 1 :]


def test_a_byte_changed_after_signing_fails_pyhanko_and_pdfsig(minutes_room, tmp_path):
    pdf = _flip_a_signed_byte(sign_both(minutes_room))

    report = verify_pdf(pdf, trust_roots(minutes_room.keys))
    out = pdfsig(pdf, tmp_path, minutes_room.keys / "ca.pem")

    assert not report.ok
    for signature in report.signatures:
        assert not signature.intact and signature.changed_after
        assert (
            signature.change
            == "The document was changed after this signature: the signed bytes no longer match it."
        )
    assert "Signature is Valid." not in out
    assert (
        out.count("Signature Validation: Digest Mismatch.")
        + out.count("Signature is Invalid")
        == 2
    )


def test_an_update_appended_after_the_last_signature_is_named(minutes_room):
    pdf = sign_both(minutes_room)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stroke = writer.add_object(generic.StreamObject(stream_data=b"0 0 m 300 300 l S"))
    writer.add_stream_to_page(0, stroke)
    out = io.BytesIO()
    writer.write(out)

    report = verify_pdf(out.getvalue(), trust_roots(minutes_room.keys))

    assert not report.ok
    last = report.signatures[-1]
    assert last.intact and last.changed_after
    assert (
        last.change
        == "The document was changed after this signature, in a later update of the file."
    )


def test_a_wrong_key_file_password_is_refused(minutes_room):
    finalize(minutes_room)

    with pytest.raises(InvalidInputError) as caught:
        sign_minutes(
            minutes_room.store,
            minutes_room.files,
            minutes_room.keys,
            minutes_room.one("secretary"),
            minutes_room.key_file("secretary"),
            "sai",
        )

    assert (
        caught.value.message
        == "The password does not open this key file, or it is not a PKCS#12 file (.p12 or .pfx). Check the password and the file, then try again."
    )


def _key_file_from_ca(directory: Path, start: datetime, days: int) -> bytes:
    raw = (directory / "ca.p12").read_bytes()
    ca_key, ca_cert, _ = pkcs12.load_key_and_certificates(
        raw, (directory / "ca.password").read_bytes().strip()
    )
    key, cert = issue_certificate(
        ca_key, ca_cert, "Thư ký Hết Hạn", trial=True, not_before=start, days=days
    )
    return pkcs12_bytes(key, cert, ca_cert, "pw")


def test_an_expired_certificate_is_refused(minutes_room):
    data = _key_file_from_ca(minutes_room.keys, datetime(2020, 1, 1, tzinfo=UTC), 365)

    with pytest.raises(InvalidInputError) as caught:
        load_key_file(data, "pw")

    assert (
        caught.value.message
        == "The certificate of Thư ký Hết Hạn (NOT FOR PRODUCTION) expired on 2020-12-31. Ask your certificate authority for a new one."
    )


def test_a_certificate_not_valid_yet_is_refused(minutes_room):
    start = datetime.now(UTC) + timedelta(days=30)
    data = _key_file_from_ca(minutes_room.keys, start, 365)

    with pytest.raises(InvalidInputError) as caught:
        load_key_file(data, "pw")

    assert (
        caught.value.message
        == f"The certificate of Thư ký Hết Hạn (NOT FOR PRODUCTION) is not valid yet: it starts on {start.date().isoformat()}. Use a certificate that is valid today."
    )


@pytest.fixture(scope="module")
def foreign_key_file() -> bytes:
    """A key file from a CA the server does not know."""
    ca_key, ca_cert = make_ca("Tổ chức lạ", trial=True)
    key, cert = issue_certificate(ca_key, ca_cert, "Người ký lạ", trial=True)
    return pkcs12_bytes(key, cert, ca_cert, "pw")


def test_a_certificate_from_an_untrusted_root_is_refused_for_signing(
    minutes_room, foreign_key_file
):
    finalize(minutes_room)

    with pytest.raises(NotAllowedError) as caught:
        sign_minutes(
            minutes_room.store,
            minutes_room.files,
            minutes_room.keys,
            minutes_room.one("secretary"),
            foreign_key_file,
            "pw",
        )

    assert caught.value.message.startswith(
        "The certificate of Người ký lạ (NOT FOR PRODUCTION) was issued by CN=CA Tổ chức lạ (NOT FOR PRODUCTION)"
    )
    assert caught.value.message.endswith(
        "an authority this server does not trust. Use a key from your organization's certificate authority, or ask the organizer to add that authority."
    )


def test_a_signature_from_an_untrusted_root_is_reported_intact_but_not_trusted(
    tmp_path, foreign_key_file, minutes_room
):
    from server.signing import sign_pdf

    finalize(minutes_room)
    version = minutes_room.read(
        lambda s: s.exec(
            __import__("sqlmodel").select(
                __import__("server.models", fromlist=["MinutesVersion"]).MinutesVersion
            )
        ).first()
    )
    pdf = sign_pdf(
        minutes_room.files.get(version.final_sha256),
        load_key_file(foreign_key_file, "pw"),
        field_name="Foreign",
    )

    report = verify_pdf(pdf, trust_roots(minutes_room.keys))

    (signature,) = report.signatures
    assert signature.intact and not signature.changed_after and not signature.trusted
    assert signature.trust.startswith(
        "The certificate does not chain to a root this server trusts (issuer: Common Name: CA Tổ chức lạ"
    )


@pytest.mark.parametrize("role", ["delegate", "guest", "organizer"])
def test_only_the_secretary_and_the_chair_may_sign(minutes_room, role):
    finalize(minutes_room)

    with pytest.raises(NotAllowedError) as caught:
        sign_minutes(
            minutes_room.store,
            minutes_room.files,
            minutes_room.keys,
            minutes_room.one(role),
        )

    assert (
        caught.value.message
        == "Only the secretary and the chair of this meeting may sign its minutes."
    )


def test_signing_a_draft_is_refused(minutes_room):
    with pytest.raises(ConflictError) as caught:
        sign_minutes(
            minutes_room.store,
            minutes_room.files,
            minutes_room.keys,
            minutes_room.one("secretary"),
        )

    assert (
        caught.value.message
        == "The minutes are still a draft. Finalize them before signing."
    )


def test_signing_minutes_that_changed_after_finalizing_is_refused(minutes_room):
    finalize(minutes_room)
    minutes_room.write(minutes_room.items()[1], "decisions", "Sửa sau khi chốt.")

    with pytest.raises(ConflictError) as caught:
        sign_minutes(
            minutes_room.store,
            minutes_room.files,
            minutes_room.keys,
            minutes_room.one("secretary"),
        )

    assert (
        caught.value.message
        == "The minutes changed after version 1 was finalized, so that version can no longer be signed. Finalize them again and sign the new version."
    )


def test_the_chair_cannot_sign_before_the_secretary(minutes_room):
    finalize(minutes_room)

    with pytest.raises(ConflictError) as caught:
        sign_minutes(
            minutes_room.store,
            minutes_room.files,
            minutes_room.keys,
            minutes_room.one("chair"),
        )

    assert (
        caught.value.message
        == "The secretary signs first: you can sign once the secretary has signed version 1."
    )


def test_the_meeting_may_have_the_chair_sign_first(minutes_room):
    def chair_first(session):
        meeting = session.get(Meeting, minutes_room.meeting_id)
        meeting.settings_json = '{"minutes_sign_order": ["chair", "secretary"]}'
        session.add(meeting)

    minutes_room.store.write_sync(chair_first)
    finalize(minutes_room)

    sign_minutes(
        minutes_room.store,
        minutes_room.files,
        minutes_room.keys,
        minutes_room.one("chair"),
    )
    version = sign_minutes(
        minutes_room.store,
        minutes_room.files,
        minutes_room.keys,
        minutes_room.one("secretary"),
    )

    assert [s["role"] for s in version["signatures"]] == ["chair", "secretary"]
    assert version["signed"] is True


def test_nobody_signs_the_same_version_twice(minutes_room):
    finalize(minutes_room)
    secretary = minutes_room.one("secretary")
    sign_minutes(minutes_room.store, minutes_room.files, minutes_room.keys, secretary)

    with pytest.raises(ConflictError) as caught:
        sign_minutes(
            minutes_room.store, minutes_room.files, minutes_room.keys, secretary
        )

    assert caught.value.message == "You have already signed version 1 of the minutes."


def test_each_signature_keeps_the_bytes_signed_before_it(minutes_room):
    final = finalize(minutes_room)
    first = sign_minutes(
        minutes_room.store,
        minutes_room.files,
        minutes_room.keys,
        minutes_room.one("secretary"),
    )
    second = sign_minutes(
        minutes_room.store,
        minutes_room.files,
        minutes_room.keys,
        minutes_room.one("chair"),
    )

    unsigned = minutes_room.files.get(final["final_sha256"])
    once = minutes_room.files.get(first["sha256"])
    assert once.startswith(unsigned)
    assert minutes_room.files.get(second["sha256"]).startswith(once)


def test_without_an_organization_ca_a_signer_needs_a_key_file(minutes_room):
    (minutes_room.keys / "ca.p12").unlink()
    finalize(minutes_room)

    with pytest.raises(InvalidInputError) as caught:
        sign_minutes(
            minutes_room.store,
            minutes_room.files,
            minutes_room.keys,
            minutes_room.one("secretary"),
        )

    assert (
        caught.value.message
        == "This server has no organization certificate authority. Sign with your own key file (.p12 or .pfx) and its password, or ask the organizer to set one up."
    )


def test_keys_init_labels_every_certificate_not_for_production(tmp_path):
    made = init_keys(tmp_path / "keys", "Sở Nội vụ", ["Nguyễn Văn A"], "pw")

    subjects = []
    for path in [made.timestamp_authority, *made.signers.values()]:
        password = (
            b"pw"
            if "signers" in str(path)
            else (made.directory / "ca.password").read_bytes()
        )
        _key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password)
        subjects.append(cert.subject.rfc4514_string())
    ca = made.ca_certificate.read_bytes()
    subjects.append(serialization.load_pem_public_key if False else ca.decode())
    assert all("NOT FOR PRODUCTION" in s for s in subjects[:-1])
    assert "BEGIN CERTIFICATE" in subjects[-1]
    roots = trust_roots(made.directory)
    assert "NOT FOR PRODUCTION" in roots[0].subject.rfc4514_string()


# -- real signed Vietnamese documents -------------------------------------------


def test_the_signed_invitation_of_tuan_giao_has_four_intact_untrusted_signatures():
    pdf = (PDF_DATA / "vn-giay-moi-06-GM-HDND-tuan-giao-2020-signed.pdf").read_bytes()

    report = verify_pdf(pdf, [])

    assert len(report.signatures) == 4
    for signature in report.signatures:
        assert signature.signer == "Hội đồng nhân dân Huyện Tuần Giáo"
        assert signature.intact and not signature.changed_after
        # we do not have the Vietnamese government CA root: never trusted here
        assert not signature.trusted
        assert "Co quan chung thuc so Chinh phu" in signature.trust
        assert signature.timestamp is not None
    assert report.signatures[0].signed_at == "2020-11-12T06:58:07+00:00"
    assert report.signatures[0].timestamp.startswith("2020-11-11T23:58:23")
    assert not report.ok


def test_the_signed_decree_47_names_the_government_as_signer():
    pdf = (PDF_DATA / "vn-nghi-dinh-47-2020-ND-CP-vgca-signed.pdf").read_bytes()

    report = verify_pdf(pdf, [])

    (signature,) = report.signatures
    assert signature.signer == "Chính phủ"
    assert signature.intact and not signature.changed_after and not signature.trusted
    assert signature.change == "Only validation data was added after this signature."
    assert signature.certificate_valid_to.startswith("2029-03-03")


def test_pdfsig_agrees_on_the_real_documents(tmp_path):
    out = pdfsig(
        (PDF_DATA / "vn-giay-moi-06-GM-HDND-tuan-giao-2020-signed.pdf").read_bytes(),
        tmp_path,
    )

    assert out.count("Signature Validation: Signature is Valid.") == 4
    assert "Hội đồng nhân dân Huyện Tuần Giáo" in out


def test_a_scanned_pdf_without_signatures_says_so():
    pdf = (PDF_DATA / "vn-thong-bao-79-TB-VPCP-2022-scanned.pdf").read_bytes()

    report = verify_pdf(pdf, [])

    assert (
        report.signatures == []
        and report.problem == "This PDF has no digital signature."
    )
    assert not report.ok


def test_a_file_that_is_not_a_pdf_is_refused():
    with pytest.raises(InvalidInputError) as caught:
        verify_pdf(b"hello, not a pdf", [])

    assert (
        caught.value.message
        == "This file is not a PDF. Choose the signed PDF file of the minutes."
    )
