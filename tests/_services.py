"""Session fixtures that start real services for the tests.

Each service runs from a temporary directory on a free loopback port and is stopped
at the end of the session:

- ``postgres_url``: a throwaway PostgreSQL 15 cluster with an empty ``plenary_test``
  database, as an SQLAlchemy URL for psycopg 3.
- ``redis_url``: a throwaway Redis server without persistence.
- ``chromium_path`` and ``browser``: the system Chromium driven by Playwright's sync
  API, and ``screenshot_dir`` for the pictures browser tests take.

A missing service skips the tests that need it on a developer machine. Under CI
(the ``CI`` environment variable set) it fails them instead, so that CI never passes
without having run them.

Playwright's sync API refuses to run inside a running asyncio loop: browser tests
are plain ``def`` tests with sync fixtures, never ``async def``. While it is alive,
the shared Playwright session leaves its own loop marked as running in the main
thread, which would break every later asyncio test (and ``asyncio.run``). So the
tests that use ``browser`` run last, after all the others.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = [
    "CHROMIUM_ARGS",
    "browser",
    "chromium_path",
    "postgres_url",
    "pytest_collection_modifyitems",
    "redis_url",
    "screenshot_dir",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PLENARY_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_DATABASE = "plenary_test"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

START_ATTEMPTS = 3  # a free port can be taken by someone else before we bind it
START_TIMEOUT = 30.0


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def service_missing(reason: str) -> NoReturn:
    """Skip on a developer machine; fail under CI."""
    if is_ci():
        pytest.fail(f"{reason} (CI is set: a missing service fails the run)", False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# PostgreSQL ----------------------------------------------------------------------


def _pg_command(*args: str) -> list[str]:
    """PostgreSQL refuses to run as root: switch to the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


def _pg_run(workdir: Path, *args: str) -> None:
    result = subprocess.run(
        _pg_command(*args),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT + 30,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )


def _pg_workdir() -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="plenary-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
    return workdir


def _pg_start(workdir: Path, data: Path) -> int:
    options = (
        "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        f"-c full_page_writes=off -k {workdir}"
    )
    failure = ""
    for _ in range(START_ATTEMPTS):
        port = free_port()
        try:
            _pg_run(
                workdir, str(PG_BIN / "pg_ctl"), "-D", str(data),
                "-l", str(workdir / "server.log"), "-o", f"-p {port} {options}",
                "-w", "-t", str(int(START_TIMEOUT)), "start",
            )  # fmt: skip
            return port
        except RuntimeError as error:
            failure = f"{error}\n{_tail(workdir / 'server.log')}"
    raise RuntimeError(f"PostgreSQL did not start:\n{failure}")


def _pg_stop(workdir: Path, data: Path) -> None:
    subprocess.run(
        _pg_command(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"),
        cwd=workdir,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty `plenary_test` database on a throwaway PostgreSQL 15."""
    if not (PG_BIN / "initdb").is_file():
        service_missing(f"PostgreSQL 15 is not installed ({PG_BIN} has no initdb)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            service_missing("PostgreSQL needs a `postgres` user to run as root")

    workdir = _pg_workdir()
    data = workdir / "data"
    try:
        _pg_run(
            workdir, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        port = _pg_start(workdir, data)
        try:
            subprocess.run(
                [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                 "-U", "postgres", PG_DATABASE],
                check=True,
                capture_output=True,
                timeout=30,
            )  # fmt: skip
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{PG_DATABASE}"
        finally:
            _pg_stop(workdir, data)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# Redis ---------------------------------------------------------------------------


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _redis_wait(server: subprocess.Popen[Any], port: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        if _redis_answers(port):
            return True
        time.sleep(0.05)
    return False


def _redis_stop(server: subprocess.Popen[Any]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _redis_start(executable: str, workdir: Path) -> tuple[subprocess.Popen[Any], int]:
    log = workdir / "server.log"
    for _ in range(START_ATTEMPTS):
        port = free_port()
        with log.open("ab") as output:
            server = subprocess.Popen(
                [executable, "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                cwd=workdir,
                stdout=output,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        if _redis_wait(server, port):
            return server, port
        _redis_stop(server)
    raise RuntimeError(f"Redis did not start:\n{_tail(log)}")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of database 0 on a throwaway Redis server."""
    executable = shutil.which("redis-server")
    if executable is None:
        service_missing("redis-server is not installed")

    workdir = Path(tempfile.mkdtemp(prefix="plenary-redis-"))
    try:
        server, port = _redis_start(executable, workdir)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _redis_stop(server)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# Chromium ------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the tests that use `browser` to the end; the sort keeps the order."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        service_missing(f"Chromium is not installed at {CHROMIUM}")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """A headless Chromium `playwright.sync_api.Browser`, shared by the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Playwright for Python is not installed")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """`test-artifacts/screenshots/` at the top of the repository (git ignores it)."""
    directory = REPO_ROOT / "test-artifacts" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory
