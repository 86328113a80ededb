"""The plenary command line: check, import, export, serve."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server.agendafile import read_agenda
from server.cli import main
from tests._meeting_fixtures import OPENSLIDES_AGENDA, VN_AGENDA

REPO = Path(__file__).resolve().parent.parent


def run_cli(tmp_path: Path, *args: str) -> int:
    return main(["--data-dir", str(tmp_path / "var"), *args])


def test_check_reports_a_good_file(tmp_path, capsys):
    assert run_cli(tmp_path, "check", str(VN_AGENDA)) == 0

    assert "no problems found" in capsys.readouterr().out


def test_check_lists_every_problem_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\n[meeting]\nkey = "x y"\ntitle = ""\n', encoding="utf-8")

    assert run_cli(tmp_path, "check", str(bad)) == 1

    err = capsys.readouterr().err
    assert err.count(str(bad)) >= 3
    assert "problem(s) found. Fix them and check the file again." in err


def test_malformed_toml_names_the_line(tmp_path, capsys):
    bad = tmp_path / "broken.toml"
    bad.write_text('format = 1\n[meeting]\ntitle = "unterminated\n', encoding="utf-8")

    assert run_cli(tmp_path, "import", str(bad)) == 1

    assert "line 3" in capsys.readouterr().err


def test_import_then_reimport_reports_update(tmp_path, capsys):
    assert run_cli(tmp_path, "import", str(VN_AGENDA)) == 0
    assert run_cli(tmp_path, "import", str(VN_AGENDA)) == 0

    out = capsys.readouterr().out
    assert "Imported meeting 1" in out and "Updated meeting 1" in out


@pytest.mark.parametrize("agenda", [VN_AGENDA, OPENSLIDES_AGENDA], ids=["vi", "openslides"])
def test_export_writes_a_file_that_imports_to_the_same_meeting(tmp_path, agenda):
    original = read_agenda(agenda)
    run_cli(tmp_path, "import", str(agenda))
    target = tmp_path / "export" / "meeting.toml"

    assert run_cli(tmp_path, "export", original.key, "-o", str(target)) == 0

    exported = read_agenda(target)
    assert exported.key == original.key and exported.title == original.title
    assert exported.start == original.start
    assert [(p.key, p.name, p.role) for p in exported.participants] == [
        (p.key, p.name, p.role) for p in original.participants]
    assert _tree(exported.items) == _tree(original.items)
    other = tmp_path / "second"
    assert main(["--data-dir", str(other), "import", str(target)]) == 0


def _tree(items) -> list:
    return [(i.key, i.title, i.internal, i.duration_min, [d.sha256 for d in i.documents],
             _tree(i.items)) for i in items]


def test_export_of_an_unknown_meeting_says_so(tmp_path, capsys):
    assert run_cli(tmp_path, "export", "nope") == 1

    assert "There is no meeting with the id or key nope." in capsys.readouterr().err


def test_python_dash_m_server_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "server", "--help"],
                            capture_output=True, text=True, cwd=REPO, timeout=60)

    assert result.returncode == 0
    assert "serve" in result.stdout and "export" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_imports_the_meeting_and_prints_the_addresses(tmp_path):
    port = _free_port()
    env = {**os.environ, "PLENARY_DATA_DIR": str(tmp_path / "var"), "PLENARY_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve", str(VN_AGENDA)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        out = _read_until(proc, "Press Ctrl+C", timeout=30)
        code = re.search(r"chair\s+.*login\?code=(\S+)", out).group(1)
        page = _get_when_up(f"http://127.0.0.1:{port}/login?code={code}")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        proc.stdout.close()

    assert f"http://127.0.0.1:{port}/m/1/projector?key=" in out
    assert "Delegates log in at" in out
    assert page.status_code == 200 and "Bàn điều khiển chủ tọa" in page.text


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


def _get_when_up(url: str) -> httpx.Response:
    for _ in range(100):
        try:
            return httpx.get(url, follow_redirects=True, timeout=5)
        except httpx.ConnectError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not answer at {url}")


def test_a_missing_backup_file_is_named(tmp_path, capsys):
    assert run_cli(tmp_path, "restore", str(tmp_path / "nothere.tar")) == 1

    assert f"The backup file {tmp_path / 'nothere.tar'} was not found" in capsys.readouterr().err


def test_a_wrong_log_level_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PLENARY_LOG_LEVEL", "verbose")

    with pytest.raises(SystemExit, match="PLENARY_LOG_LEVEL='verbose' is not valid"):
        run_cli(tmp_path, "check", str(VN_AGENDA))


def test_addresses_do_not_promise_a_running_server(tmp_path, capsys):
    run_cli(tmp_path, "import", str(VN_AGENDA))

    assert run_cli(tmp_path, "addresses", "1") == 0

    out = capsys.readouterr().out
    assert "login?code=" in out and "Ctrl+C" not in out
