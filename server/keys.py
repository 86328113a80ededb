"""Signing keys: key files of signers, the organization's certificate authority,
the trusted roots and the timestamp authority.

Rules:
- A signer signs with a PKCS#12 key file and its password, or with a certificate
  that the organization's certificate authority (configured by the organizer in
  the keys directory) issues for them when they sign.
- A key file is refused when its password is wrong, when its certificate has
  expired or is not valid yet, and when it was not issued by an authority the
  server trusts.
- ``plenary keys init`` makes a local certificate authority, a test timestamp
  authority and signer key files for trials and tests. Every certificate it makes
  says NOT FOR PRODUCTION in its subject.

The keys directory (``<data dir>/keys`` by default) holds:

- ``ca.pem``: the organization CA certificate, always a trusted root;
- ``ca.p12`` and ``ca.password``: the CA's key, when the server may issue
  certificates itself (organization signing);
- ``tsa.p12``: a local timestamp authority (signatures then carry a timestamp);
- ``trust/*.pem``: further trusted roots for verification.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign import signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from server.errors import InvalidInputError, NotAllowedError

log = logging.getLogger(__name__)

TRIAL_LABEL = "NOT FOR PRODUCTION"
KEY_BITS = 2048
CA_DAYS = 3650
SIGNER_DAYS = 730
MAX_KEY_FILE = 256 * 1024
NAME_LIMIT = 64  # UTF-8 bytes of a common name or organization in a certificate


@dataclass(frozen=True)
class SignerKey:
    """A key ready to sign with, and what it says about its holder."""

    signer: signers.SimpleSigner
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    subject: str
    common_name: str
    certificate_sha256: str
    source: str  # "key-file" or "organization"


@dataclass(frozen=True)
class KeysCreated:
    directory: Path
    ca_certificate: Path
    timestamp_authority: Path
    signers: dict[str, Path]


def keys_dir(data_dir: Path) -> Path:
    return data_dir / "keys"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def labelled(text: str, trial: bool) -> str:
    """``text`` cut to fit a name attribute, with the trial label."""
    label = f" ({TRIAL_LABEL})" if trial else ""
    return _cut(text, NAME_LIMIT - len(label)).rstrip() + label


def _cut(text: str, limit: int) -> str:
    """The longest start of ``text`` whose UTF-8 form has at most ``limit`` bytes."""
    text = unicodedata.normalize("NFC", text)
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    return text


def _name(
    common_name: str, organization: str, title: str = "", trial: bool = False
) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _cut(organization, NAME_LIMIT)),
    ]
    if trial:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TRIAL_LABEL))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, labelled(common_name, trial)))
    if title:
        parts.append(x509.NameAttribute(NameOID.TITLE, _cut(title, NAME_LIMIT)))
    return x509.Name(parts)


def is_trial(cert: x509.Certificate) -> bool:
    units = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return any(unit.value == TRIAL_LABEL for unit in units)


def make_ca(
    organization: str, *, trial: bool = True, days: int = CA_DAYS
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A self-signed certificate authority for ``organization``."""
    key = _new_key()
    name = _name(f"CA {organization}", organization, trial=trial)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_certificate(
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    *,
    title: str = "",
    trial: bool = False,
    timestamping: bool = False,
    not_before: datetime | None = None,
    days: int = SIGNER_DAYS,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A certificate for a signer (or a timestamp authority) issued by the CA."""
    key = _new_key()
    organization = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[
        0
    ].value
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, str(organization), title, trial))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    builder = _add_usage(builder, timestamping)
    return key, builder.sign(ca_key, hashes.SHA256())


def _add_usage(
    builder: x509.CertificateBuilder, timestamping: bool
) -> x509.CertificateBuilder:
    if timestamping:
        usage = x509.KeyUsage(
            True, False, False, False, False, False, False, False, False
        )
        return builder.add_extension(usage, critical=True).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    return builder.add_extension(usage, critical=True)


def pkcs12_bytes(
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    ca_cert: x509.Certificate | None,
    password: str,
) -> bytes:
    name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    extra = [ca_cert] if ca_cert is not None else None
    return pkcs12.serialize_key_and_certificates(
        str(name).encode(), key, cert, extra, encryption
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def slug(text: str) -> str:
    """A file name from a person's name: Trần Bình Trọng -> tran-binh-trong."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = plain.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "signer"


def init_keys(
    directory: Path, organization: str, signer_names: list[str], password: str
) -> KeysCreated:
    """Make a trial CA, a test timestamp authority and one key file per signer."""
    if (directory / "ca.pem").exists():
        raise InvalidInputError(
            "The keys directory {directory} already has a certificate authority. Choose another directory, or remove it first.",
            directory=directory.name,
        )
    ca_key, ca_cert = make_ca(organization, trial=True)
    ca_password = _random_password()
    _write_private(
        directory / "ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    _write_private(
        directory / "ca.p12", pkcs12_bytes(ca_key, ca_cert, None, ca_password)
    )
    _write_private(directory / "ca.password", ca_password.encode())
    tsa_key, tsa_cert = issue_certificate(
        ca_key, ca_cert, "Timestamp authority", trial=True, timestamping=True
    )
    _write_private(
        directory / "tsa.p12", pkcs12_bytes(tsa_key, tsa_cert, ca_cert, ca_password)
    )
    made = {}
    for name in signer_names:
        key, cert = issue_certificate(ca_key, ca_cert, name, trial=True)
        made[name] = directory / "signers" / f"{slug(name)}.p12"
        _write_private(made[name], pkcs12_bytes(key, cert, ca_cert, password))
    log.info("Trial keys made in %s for %d signer(s).", directory, len(made))
    return KeysCreated(directory, directory / "ca.pem", directory / "tsa.p12", made)


def _random_password() -> str:
    import secrets

    return secrets.token_urlsafe(24)


# -- loading keys --------------------------------------------------------------


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def describe_subject(cert: asn1_x509.Certificate) -> str:
    return cert.subject.human_friendly


def common_name(cert: asn1_x509.Certificate) -> str:
    return str(cert.subject.native.get("common_name", describe_subject(cert)))


def load_key_file(
    data: bytes, password: str, *, now: datetime | None = None, source: str = "key-file"
) -> SignerKey:
    """Open a PKCS#12 key file; refuse it when its certificate is not valid now."""
    if len(data) > MAX_KEY_FILE:
        raise InvalidInputError(
            "This is not a key file: a PKCS#12 file (.p12 or .pfx) is at most 256 KB."
        )
    try:
        key, cert, others = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError:
        raise InvalidInputError(
            "The password does not open this key file, or it is not a PKCS#12 file (.p12 or .pfx). Check the password and the file, then try again."
        ) from None
    if key is None or cert is None:
        raise InvalidInputError(
            "This key file holds no signing key and certificate. Use the PKCS#12 file (.p12 or .pfx) with your personal key."
        )
    return signer_key(key, cert, list(others), now=now, source=source)


def signer_key(
    key: object,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    *,
    now: datetime | None = None,
    source: str = "key-file",
) -> SignerKey:
    ensure_valid_now(cert, now or datetime.now(UTC))
    registry = SimpleCertificateStore()
    registry.register_multiple([to_asn1(c) for c in chain])
    der_key = key.private_bytes(
        serialization.Encoding.DER,  # type: ignore[attr-defined]
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    asn1_cert = to_asn1(cert)
    signer = signers.SimpleSigner(
        signing_cert=asn1_cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
        cert_registry=registry,
    )
    fingerprint = hashlib.sha256(asn1_cert.dump()).hexdigest()
    return SignerKey(
        signer,
        cert,
        tuple(chain),
        describe_subject(asn1_cert),
        common_name(asn1_cert),
        fingerprint,
        source,
    )


def ensure_valid_now(cert: x509.Certificate, now: datetime) -> None:
    name = common_name(to_asn1(cert))
    if now < cert.not_valid_before_utc:
        raise InvalidInputError(
            "The certificate of {name} is not valid yet: it starts on {start}. Use a certificate that is valid today.",
            name=name,
            start=cert.not_valid_before_utc.date().isoformat(),
        )
    if now > cert.not_valid_after_utc:
        raise InvalidInputError(
            "The certificate of {name} expired on {end}. Ask your certificate authority for a new one.",
            name=name,
            end=cert.not_valid_after_utc.date().isoformat(),
        )


def ensure_trusted_issuer(key: SignerKey, roots: list[x509.Certificate]) -> None:
    """The key's certificate must chain, signature by signature, to a trusted root."""
    if not roots or _chains_to(key.certificate, list(key.chain), roots):
        return  # with no roots configured, verification says "untrusted" honestly
    issuer = key.certificate.issuer.rfc4514_string()
    raise NotAllowedError(
        "The certificate of {name} was issued by {issuer}, an authority this server does not trust. Use a key from your organization's certificate authority, or ask the organizer to add that authority.",
        name=key.common_name,
        issuer=issuer,
    )


def _chains_to(
    cert: x509.Certificate,
    pool: list[x509.Certificate],
    roots: list[x509.Certificate],
    depth: int = 0,
) -> bool:
    if depth > 8:
        return False
    for root in roots:
        if cert == root or _issued_by(cert, root):
            return True
    for issuer in pool:
        if issuer != cert and _issued_by(cert, issuer):
            return _chains_to(issuer, pool, roots, depth + 1)
    return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# -- the keys directory ----------------------------------------------------------


def trust_roots(directory: Path) -> list[x509.Certificate]:
    """The organization CA and every certificate under ``trust/``."""
    paths = [directory / "ca.pem"] if (directory / "ca.pem").is_file() else []
    trust = directory / "trust"
    if trust.is_dir():
        paths += sorted(
            p for p in trust.iterdir() if p.suffix in (".pem", ".crt", ".cer")
        )
    found = []
    for path in paths:
        found.extend(_load_certificates(path.read_bytes()))
    return found


def _load_certificates(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        return list(x509.load_pem_x509_certificates(data))
    return [x509.load_der_x509_certificate(data)]


def has_organization_ca(directory: Path) -> bool:
    return (directory / "ca.p12").is_file() and (directory / "ca.password").is_file()


def _load_ca(directory: Path) -> tuple[object, x509.Certificate]:
    password = (directory / "ca.password").read_bytes().strip()
    key, cert, _others = pkcs12.load_key_and_certificates(
        (directory / "ca.p12").read_bytes(), password
    )
    if key is None or cert is None:
        raise ValueError(f"expected a CA key and certificate in {directory / 'ca.p12'}")
    return key, cert


def issue_organization_key(directory: Path, name: str, title: str) -> SignerKey:
    """A fresh certificate for ``name`` from the organization CA, to sign with now."""
    if not has_organization_ca(directory):
        raise InvalidInputError(
            "This server has no organization certificate authority. Sign with your own key file (.p12 or .pfx) and its password, or ask the organizer to set one up."
        )
    ca_key, ca_cert = _load_ca(directory)
    key, cert = issue_certificate(
        ca_key,
        ca_cert,
        name,
        title=title,  # type: ignore[arg-type]
        trial=is_trial(ca_cert),
    )
    return signer_key(key, cert, [ca_cert], source="organization")


def local_timestamper(directory: Path) -> DummyTimeStamper | None:
    """The local timestamp authority of ``tsa.p12``, if there is one."""
    path = directory / "tsa.p12"
    if not path.is_file() or not (directory / "ca.password").is_file():
        return None
    password = (directory / "ca.password").read_bytes().strip()
    key, cert, others = pkcs12.load_key_and_certificates(path.read_bytes(), password)
    der_key = key.private_bytes(
        serialization.Encoding.DER,  # type: ignore[union-attr]
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    store = SimpleCertificateStore()
    store.register_multiple([to_asn1(c) for c in others])
    return DummyTimeStamper(
        tsa_cert=to_asn1(cert),  # type: ignore[arg-type]
        tsa_key=asn1_keys.PrivateKeyInfo.load(der_key),
        certs_to_embed=store,
    )
