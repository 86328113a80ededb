"""The minutes commands of ``plenary``: keys init, minutes render, sign, verify."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from server.settings import Settings

PASSWORD_ENV = "PLENARY_KEY_PASSWORD"  # read by `keys init` and `sign`, never stored


def add_minutes_commands(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="signing keys for the minutes")
    keys_sub = keys.add_subparsers(metavar="ACTION")
    init = keys_sub.add_parser(
        "init",
        help="make a trial CA, timestamp authority and signer key files (NOT FOR PRODUCTION)",
    )
    init.add_argument(
        "--dir", type=Path, help="keys directory (default: DATA_DIR/keys)"
    )
    init.add_argument(
        "--organization",
        default="Plenary trial",
        help="organization named in the certificates",
    )
    init.add_argument(
        "--signer",
        action="append",
        default=[],
        help="a signer's name (repeat); default: Secretary and Chair",
    )
    init.set_defaults(handler=cmd_keys_init)

    minutes = sub.add_parser("minutes", help="the minutes of a meeting")
    minutes_sub = minutes.add_subparsers(metavar="ACTION")
    render = minutes_sub.add_parser(
        "render", help="render the minutes of a meeting to PDF (a draft)"
    )
    render.add_argument("meeting", help="meeting id or key")
    render.add_argument(
        "-o", "--output", type=Path, help="PDF file (default: minutes-KEY.pdf)"
    )
    render.add_argument(
        "--html", action="store_true", help="write the HTML instead of the PDF"
    )
    render.set_defaults(handler=cmd_minutes_render)

    sign = sub.add_parser(
        "sign", help="sign a PDF with a PKCS#12 key file (incremental PAdES)"
    )
    sign.add_argument("file", type=Path)
    sign.add_argument(
        "--key", type=Path, required=True, help="the signer's .p12 or .pfx file"
    )
    sign.add_argument(
        "--field", default="Signature", help="name of the signature field"
    )
    sign.add_argument(
        "--reason", default="", help="the reason written into the signature"
    )
    sign.add_argument(
        "-o", "--output", type=Path, help="signed file (default: FILE-signed.pdf)"
    )
    sign.set_defaults(handler=cmd_sign)

    verify = sub.add_parser("verify", help="check every signature of a PDF")
    verify.add_argument("file", type=Path)
    verify.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        help="a trusted root certificate (PEM or DER); the keys directory's are always used",
    )
    verify.set_defaults(handler=cmd_verify)


def _password(prompt: str) -> str:
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    return getpass.getpass(prompt)


def cmd_keys_init(args: argparse.Namespace, settings: Settings) -> int:
    from server.errors import MeetingError
    from server.keys import init_keys, keys_dir

    directory = args.dir or keys_dir(settings.data_dir)
    names = args.signer or ["Secretary", "Chair"]
    password = _password("Password for the signer key files: ")
    try:
        made = init_keys(directory, args.organization, names, password)
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print("Trial keys made. They are NOT FOR PRODUCTION: every certificate says so.")
    print(f"  Organization CA (trusted root): {made.ca_certificate}")
    print(f"  Timestamp authority:            {made.timestamp_authority}")
    for name, path in made.signers.items():
        print(f"  Signer {name}: {path}")
    return 0


def cmd_minutes_render(args: argparse.Namespace, settings: Settings) -> int:
    from server.cli import _store
    from server.errors import MeetingError
    from server.meetings import find_meeting
    from server.minutes import collect_minutes, render_minutes

    store = _store(settings)
    try:
        meeting = store.read_sync(find_meeting, args.meeting)
        data = store.read_sync(collect_minutes, meeting.id)
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        store.close()
    html, pdf = render_minutes(data, draft=True)
    target = args.output or Path(
        f"minutes-{meeting.key}.{'html' if args.html else 'pdf'}"
    )
    target.write_bytes(html.encode("utf-8") if args.html else pdf)
    print(f"Wrote the draft minutes of meeting {meeting.key} to {target}.")
    return 0


def cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    from server.errors import MeetingError
    from server.keys import keys_dir, load_key_file, local_timestamper
    from server.signing import sign_pdf

    try:
        key = load_key_file(
            args.key.read_bytes(), _password(f"Password of {args.key.name}: ")
        )
        data = args.file.read_bytes()
        signed = sign_pdf(
            data,
            key,
            field_name=args.field,
            reason=args.reason,
            timestamper=local_timestamper(keys_dir(settings.data_dir)),
        )
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    target = args.output or args.file.with_name(f"{args.file.stem}-signed.pdf")
    target.write_bytes(signed)
    print(f"Signed {args.file} as {key.common_name}; wrote {target}.")
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Print each signature; exit 0 only if all are intact, unchanged and trusted."""
    from cryptography import x509

    from server.errors import MeetingError
    from server.keys import keys_dir, trust_roots
    from server.signing import verify_pdf

    roots = trust_roots(keys_dir(settings.data_dir))
    for path in args.trust:
        raw = path.read_bytes()
        roots += (
            list(x509.load_pem_x509_certificates(raw))
            if b"-----BEGIN" in raw
            else [x509.load_der_x509_certificate(raw)]
        )
    try:
        report = verify_pdf(args.file.read_bytes(), roots)
    except MeetingError as exc:
        print(f"{args.file}: {exc.message}", file=sys.stderr)
        return 1
    print(format_report(args.file.name, report))
    return 0 if report.ok else 1


def format_report(name: str, report) -> str:
    lines = [f"{name}: {len(report.signatures)} signature(s)."]
    if report.problem:
        lines.append(f"  {report.problem}")
    if not report.trusted_roots:
        lines.append(
            "  No trusted roots are configured: no certificate can be trusted."
        )
    for index, s in enumerate(report.signatures, start=1):
        verdict = "OK" if s.ok else "NOT OK"
        lines += [
            f"Signature {index} ({s.field}): {verdict}",
            f"  Signer:     {s.subject}",
            f"  Signed at:  {s.signed_at or 'not stated'} (signer's clock)",
            f"  Timestamp:  {s.timestamp or 'none'}",
            f"  Integrity:  {'intact' if s.intact else 'BROKEN'}. {s.change}",
            f"  Trust:      {s.trust}",
            f"  Valid from  {s.certificate_valid_from} to {s.certificate_valid_to}",
        ]
        if s.not_for_production:
            lines.append("  This is a trial certificate: NOT FOR PRODUCTION.")
    return "\n".join(lines)
