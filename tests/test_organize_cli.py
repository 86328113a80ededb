"""The organizer's subcommands of plenary (server/organize_cli.py)."""

from __future__ import annotations

from pathlib import Path

from server.cli import main
from tests._meeting_fixtures import VN_AGENDA
from tests._participant_files import HEADER, PEOPLE, csv_text, to_cp1258, xlsx_bytes

DATA = Path(__file__).parent / "data" / "openslides"


def run_cli(tmp_path: Path, *args: str) -> int:
    return main(["--data-dir", str(tmp_path / "var"), *args])


def test_import_participants_then_badges_then_copy(tmp_path, capsys):
    assert run_cli(tmp_path, "import", str(VN_AGENDA)) == 0
    people = tmp_path / "dai-bieu.csv"
    people.write_bytes(to_cp1258(csv_text([HEADER, *PEOPLE], ";")))

    assert run_cli(tmp_path, "import-participants", "1", str(people)) == 0
    assert run_cli(tmp_path, "badges", "1", "-o", str(tmp_path / "the.pdf")) == 0
    assert run_cli(tmp_path, "copy", "1", "--start", "2020-12-14T08:00") == 0

    out = capsys.readouterr().out
    assert "Imported 6 new and updated 0 participants." in out
    assert "Wrote 17 cards on 2 page(s)" in out
    assert "starting 2020-12-14 08:00 Asia/Ho_Chi_Minh." in out
    assert (tmp_path / "the.pdf").read_bytes().startswith(b"%PDF")


def test_import_participants_lists_problems_and_imports_nothing(tmp_path, capsys):
    run_cli(tmp_path, "import", str(VN_AGENDA))
    bad = tmp_path / "dai-bieu.xlsx"
    bad.write_bytes(xlsx_bytes([HEADER, *PEOPLE, ["", "Đoàn Huế", "", "A01", ""]]))

    assert run_cli(tmp_path, "import-participants", "1", str(bad)) == 1

    captured = capsys.readouterr()
    assert "  row 8, name: error: The name is missing." in captured.out
    assert "  row 8, seat: error: Seat A01 is also given to row 2." in captured.out
    assert "2 problem(s) found; nothing was imported." in captured.err


def test_import_openslides_prints_its_report(tmp_path, capsys):
    assert (
        run_cli(
            tmp_path, "import-openslides", str(DATA / "openslides-example-data.json")
        )
        == 0
    )

    out = capsys.readouterr().out
    assert (
        "Imported meeting 1 (os-openslides-demo-2011-11-11) from OpenSlides 4, migration index 100: 15 items, 3 participants, 3 polls."
        in out
    )
    assert "Hidden items, now internal (staff only):\n  - H" in out


def test_a_csv_agenda_needs_a_meeting(tmp_path, capsys):
    assert (
        run_cli(
            tmp_path, "import-openslides", str(DATA / "openslides-agenda-demo_de.csv")
        )
        == 2
    )

    assert (
        capsys.readouterr().err.strip()
        == "A CSV agenda or motion file is added to a meeting: give it with --meeting."
    )


def test_archive_refuses_a_meeting_that_has_not_ended(tmp_path, capsys):
    run_cli(tmp_path, "import", str(VN_AGENDA))

    assert run_cli(tmp_path, "archive", "1") == 1

    assert (
        capsys.readouterr().err.strip()
        == "Only an ended meeting can be archived. End the meeting first."
    )


# -- mistakes on the command line: one sentence, exit 1 -------------------------------


def test_a_missing_participant_file_is_named_without_a_traceback(tmp_path, capsys):
    run_cli(tmp_path, "import", str(VN_AGENDA))

    assert run_cli(tmp_path, "import-participants", "1", "missing.csv") == 1

    captured = capsys.readouterr()
    assert (
        captured.err.strip()
        == "The file missing.csv was not found; check its name and folder."
    )
    assert "Traceback" not in captured.err


def test_a_missing_openslides_export_is_named_without_a_traceback(tmp_path, capsys):
    assert run_cli(tmp_path, "import-openslides", "nothere.json") == 1

    assert (
        capsys.readouterr().err.strip()
        == "The file nothere.json was not found; check its name and folder."
    )


def test_a_folder_given_as_the_file_is_refused(tmp_path, capsys):
    run_cli(tmp_path, "import", str(VN_AGENDA))

    assert run_cli(tmp_path, "import-participants", "1", str(tmp_path)) == 1

    assert (
        capsys.readouterr().err.strip()
        == f"{tmp_path} is a folder; give the path of a file."
    )


def test_copy_with_a_start_that_is_not_a_date_says_how_to_write_it(tmp_path, capsys):
    run_cli(tmp_path, "import", str(VN_AGENDA))

    assert run_cli(tmp_path, "copy", "1", "--start", "20 Dec") == 1

    assert (
        capsys.readouterr().err.strip()
        == "The start 20 Dec is not a date and time such as 2025-03-10T08:00."
    )


def test_check_says_the_file_is_fine_and_imports_nothing(tmp_path, capsys):
    run_cli(tmp_path, "import", str(VN_AGENDA))
    people = tmp_path / "dai-bieu.csv"
    people.write_text(csv_text([["STT", *HEADER], *[["1", *p] for p in PEOPLE]]))

    assert run_cli(tmp_path, "import-participants", "1", str(people), "--check") == 0

    out = capsys.readouterr().out
    assert (
        "Columns left out (their headings are not ones Plenary knows): STT" in out
    )
    assert out.strip().endswith(
        "The file is fine: its 6 rows can be imported (6 new, 0 updated). Nothing was imported; run the command again without --check to import them."
    )
    assert run_cli(tmp_path, "import-participants", "1", str(people), "--check") == 0
    assert "(6 new, 0 updated)" in capsys.readouterr().out


def test_badges_print_no_font_chatter(tmp_path, capsys, caplog):
    import logging

    run_cli(tmp_path, "import", str(VN_AGENDA))
    caplog.set_level(logging.INFO)

    assert run_cli(tmp_path, "badges", "1", "-o", str(tmp_path / "the.pdf")) == 0

    chatter = [
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] in ("weasyprint", "fontTools")
        and r.levelno < logging.WARNING
    ]
    assert chatter == []
    assert "\nWrote 11 cards on 2 page(s)" in capsys.readouterr().out
