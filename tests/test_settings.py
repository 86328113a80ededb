"""Settings come from PLENARY_* variables, and the README documents every one."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from server.settings import load_settings, setting_names

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme_table():
    documented = set(re.findall(r"^\| `(PLENARY_[A-Z_]+)` \|", README.read_text(), re.M))

    assert set(setting_names()) == documented


def test_settings_are_read_from_the_environment(tmp_path):
    env = {"PLENARY_PORT": "9001", "PLENARY_DATA_DIR": str(tmp_path), "PLENARY_SECRET_KEY": "k"}

    settings = load_settings(env)

    assert settings.port == 9001 and settings.data_dir == tmp_path
    assert settings.resolved_database_url.startswith("sqlite:///")


def test_a_wrong_value_names_the_setting(tmp_path):
    with pytest.raises(SystemExit, match="PLENARY_PORT='eighty' is not valid"):
        load_settings({"PLENARY_PORT": "eighty", "PLENARY_DATA_DIR": str(tmp_path)})


def test_secret_key_is_generated_once_and_kept_owner_only(tmp_path):
    first = load_settings({"PLENARY_DATA_DIR": str(tmp_path)})
    second = load_settings({"PLENARY_DATA_DIR": str(tmp_path)})

    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert first.secret_key == second.secret_key and len(first.secret_key) > 40
    assert mode == 0o600
