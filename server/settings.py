"""One settings object, read from the environment once at start.

Every setting is a ``PLENARY_*`` environment variable; the README's settings table
lists them all (a test keeps the two in step).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "PLENARY_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    log_level: str = "info"
    heartbeat_seconds: float = 15.0
    resync_limit: int = 500
    queue_limit: int = 256
    secure_cookies: bool = False
    session_days: int = 7
    session_idle_hours: float = 12.0
    command_rate: float = 10.0
    broker: str = "auto"
    redis_url: str = ""
    max_upload_mb: int = 100
    accel_redirect: str = ""  # nginx internal location that serves the stored files
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'plenary.db').resolve()}"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = lan_address() if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def lan_address() -> str:
    """This machine's address on the room's network, as its name resolves locally."""
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
    return address


def _log_level(value: str) -> str:
    if value.lower() not in ("debug", "info", "warning", "error", "critical"):
        raise ValueError(value)
    return value.lower()


# name of the environment variable -> (field, converter)
_FIELDS = {
    "DATA_DIR": ("data_dir", Path),
    "DATABASE_URL": ("database_url", str),
    "SECRET_KEY": ("secret_key", str),
    "HOST": ("host", str),
    "PORT": ("port", int),
    "PUBLIC_URL": ("public_url", str),
    "LOG_LEVEL": ("log_level", _log_level),
    "HEARTBEAT_SECONDS": ("heartbeat_seconds", float),
    "RESYNC_LIMIT": ("resync_limit", int),
    "QUEUE_LIMIT": ("queue_limit", int),
    "SECURE_COOKIES": ("secure_cookies", lambda v: v.lower() in ("1", "true", "yes")),
    "SESSION_DAYS": ("session_days", int),
    "SESSION_IDLE_HOURS": ("session_idle_hours", float),
    "COMMAND_RATE": ("command_rate", float),
    "BROKER": ("broker", str),
    "REDIS_URL": ("redis_url", str),
    "MAX_UPLOAD_MB": ("max_upload_mb", int),
    "ACCEL_REDIRECT": ("accel_redirect", str),
}


def setting_names() -> list[str]:
    return [ENV_PREFIX + name for name in _FIELDS]


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    for name, (attr, convert) in _FIELDS.items():
        raw = env.get(ENV_PREFIX + name)
        if raw not in (None, ""):
            try:
                values[attr] = convert(raw)
            except ValueError:
                raise SystemExit(
                    f"The setting {ENV_PREFIX}{name}={raw!r} is not valid; "
                    "see the settings table in README.md."
                ) from None
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    if not settings.secret_key:
        key = _load_or_create_secret(settings.data_dir)
        settings = Settings(**{**settings.__dict__, "secret_key": key})
    return settings


def _load_or_create_secret(data_dir: Path) -> str:
    """Generate the session signing key at first start; keep it owner-only."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
