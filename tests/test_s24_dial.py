"""Second session 24 review of ``workout calendar --dialler-dir`` and the CSV writer.

1. The dialler files (for a dialler, not Excel) have no byte-order mark; ``WORKOUT_CSV_BOM=0``
   turns the mark of every CSV file off (a bad value is exit 2); stdout never has it.
2. The dialler folder and the calendar ``--out`` are one set: a run failing while they are
   written changes none of them, and the calendar is renamed after the team files.
3. Team names are file names: separators, ``..`` and names no file system takes are
   refused where the teams file is read (exit 2 naming the file, the team and the rule).
4. A protected account's legal referral (no contact slot) is no "0 attempts not scheduled"
   entry of the ``blocked`` warning.

Oracles read the written bytes and files with their own code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from pathlib import Path

import pytest
from calendar_helpers import allocation_file, flagged_book
from cli_inprocess import run_workout

from solver.allocation.teams import Teams, default_teams_path

START = dt.date(2026, 12, 7).isoformat()  # a Monday
NEXT_WEEK = dt.date(2026, 12, 14).isoformat()
BOM = b"\xef\xbb\xbf"


def _calls(tmp_path: Path) -> tuple[Path, Path]:
    """The book and an allocation calling four accounts through three teams."""
    book, ids = flagged_book(tmp_path, {0: ["cease_contact"]})
    alloc = allocation_file(tmp_path / "alloc.csv", ids, {
        ids[5]: ("agent_call", "agent-chengdu"), ids[6]: ("senior_call", "senior-beijing"),
        ids[7]: ("agent_call", "agent-beijing-1"), ids[8]: ("sms", "")})  # fmt: skip
    return book, alloc


def _calendar(book: Path, alloc: Path, out: Path, *extra: object) -> tuple[int, str, str]:
    return run_workout("calendar", book, "--allocation", alloc, "--out", out, *extra)


def _folder(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (hidden ones too), by relative path, with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


# 1. the byte-order mark


def test_dialler_files_have_no_mark_and_the_calendar_has(tmp_path):
    """The dialler's team files start with the header, not a byte-order mark; the calendar
    CSV (for Excel) keeps the mark; stdout CSV has none."""
    book, alloc = _calls(tmp_path)
    dial = tmp_path / "dial"
    code, _, err = _calendar(book, alloc, tmp_path / "cal.csv", "--start", START,
                             "--dialler-dir", dial)  # fmt: skip
    assert code == 0, err
    files = sorted(dial.glob("*.csv"))
    assert len(files) >= 3
    for path in files:
        assert path.read_bytes().startswith(b'"account_id",'), path.name
    assert (tmp_path / "cal.csv").read_bytes().startswith(BOM)
    code, stdout, err = _calendar(book, alloc, tmp_path / "c2.csv", "--start", START,
                                  "--format", "csv")  # fmt: skip
    assert code == 0, err
    assert not stdout.startswith("\ufeff") and stdout.split(",")[0].strip('"').isidentifier()


@pytest.mark.parametrize("value", ["0", "off", "No"])
def test_env_turns_the_mark_off(tmp_path, monkeypatch, value):
    """WORKOUT_CSV_BOM=0 (off, no: any case) writes CSV files without the mark, the same
    text otherwise."""
    book, alloc = _calls(tmp_path)
    code, _, err = _calendar(book, alloc, tmp_path / "with.csv", "--start", START)
    assert code == 0, err
    monkeypatch.setenv("WORKOUT_CSV_BOM", value)
    code, _, err = _calendar(book, alloc, tmp_path / "without.csv", "--start", START)
    assert code == 0, err
    with_mark = (tmp_path / "with.csv").read_bytes()
    without = (tmp_path / "without.csv").read_bytes()
    assert with_mark.startswith(BOM) and not without.startswith(BOM)
    assert with_mark[len(BOM) :] == without


def test_env_bad_value_is_exit_2_naming_it(tmp_path, monkeypatch):
    """WORKOUT_CSV_BOM=maybe is exit 2 naming the variable, and writes no file."""
    book, alloc = _calls(tmp_path)
    monkeypatch.setenv("WORKOUT_CSV_BOM", "maybe")
    out = tmp_path / "cal.csv"
    code, _, err = _calendar(book, alloc, out, "--start", START)
    assert code == 2 and "WORKOUT_CSV_BOM" in err and "'maybe'" in err, err
    assert "Traceback" not in err and not out.exists()


# 2. the dialler folder and the calendar as one set


def test_failed_run_changes_none_of_the_set(tmp_path, monkeypatch):
    """A second week's run failing at its third team file leaves the calendar and every
    dialler file as the first week wrote them, and no temporary file."""
    import solver.core.writers as writers

    book, alloc = _calls(tmp_path)
    dial, out = tmp_path / "dial", tmp_path / "cal.csv"
    code, _, err = _calendar(book, alloc, out, "--start", START, "--dialler-dir", dial)
    assert code == 0, err
    before = _folder(tmp_path)
    real, calls = writers.write_table, []

    def failing(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(writers, "write_table", failing)
    code, _, err = _calendar(book, alloc, out, "--start", NEXT_WEEK, "--dialler-dir", dial)
    assert code != 0 and len(calls) == 3
    assert _folder(tmp_path) == before  # nothing new, nothing left behind
    monkeypatch.setattr(writers, "write_table", real)
    code, _, err = _calendar(book, alloc, out, "--start", NEXT_WEEK, "--dialler-dir", dial)
    assert code == 0, err
    assert _folder(dial) != {k: v for k, v in before.items() if k.startswith("dial/")}


def test_calendar_is_renamed_after_the_team_files(tmp_path, monkeypatch):
    """The calendar --out is the last file put in place (a dialler file never is older than
    the calendar beside it)."""
    book, alloc = _calls(tmp_path)
    dial, out = tmp_path / "dial", tmp_path / "cal.csv"
    real, moved = os.replace, []

    def recording(src, dst, *args, **kwargs):
        moved.append(Path(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", recording)
    code, _, err = _calendar(book, alloc, out, "--start", START, "--dialler-dir", dial)
    monkeypatch.setattr(os, "replace", real)
    assert code == 0, err
    final = [p for p in moved if p.parent in (dial, tmp_path)]  # not the staged renames
    assert final[-1] == out
    assert {p.name for p in final[:-1]} == {p.name for p in dial.glob("*.csv")}


def test_out_that_is_a_team_file_is_refused(tmp_path):
    """--out DIR/TEAM.csv with --dialler-dir DIR is exit 2 before any work (one file would
    replace the other)."""
    book, alloc = _calls(tmp_path)
    dial = tmp_path / "dial"
    code, _, err = _calendar(book, alloc, dial / "agent-chengdu.csv", "--start", START,
                             "--dialler-dir", dial)  # fmt: skip
    assert code == 2 and "agent-chengdu" in err and "--dialler-dir" in err, err
    assert not dial.exists() or not any(dial.iterdir())


# 3. team names are file names


def _teams_file(tmp_path: Path, old: str, new: str) -> Path:
    """The bundled teams file with team ``old`` renamed ``new``."""
    text = default_teams_path().read_text(encoding="utf-8")
    assert f'name = "{old}"' in text
    path = tmp_path / "teams.toml"
    path.write_text(text.replace(f'name = "{old}"', f"name = {json.dumps(new)}"), "utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("robot/voice", "'/'"),
        ("../x", "'/'"),
        ("..", "'.'"),
        ("a\\b", "'\\\\'"),
        ("x:y", "':'"),
        ("tab\there", "'\\t'"),
        ("  ", "empty"),
        ("dot.", "end with"),
        ("con", "device name"),
        ("x" * 201, "200 bytes"),
    ],
)
def test_team_name_that_is_no_file_name_is_refused(tmp_path, name, rule):
    """A team named with a path separator, '..', a character Windows refuses, a control
    character, a trailing dot, a device name or too long is exit 2 naming the file, the
    team and the rule; nothing is written."""
    book, alloc = _calls(tmp_path)
    teams = _teams_file(tmp_path, "robot-voice", name)
    dial = tmp_path / "dial"
    code, _, err = _calendar(book, alloc, tmp_path / "cal.csv", "--start", START,
                             "--teams", teams, "--dialler-dir", dial)  # fmt: skip
    assert code == 2, err
    assert str(teams) in err and "[[teams]] entry 1" in err and "name:" in err
    assert rule in err, err
    assert not dial.exists() and not (tmp_path / "cal.csv").exists()
    assert not (tmp_path / "x.csv").exists()


def test_plain_names_are_accepted():
    """Names with spaces, dots inside, dashes and Chinese text are file names: accepted."""
    data = tomllib.loads(default_teams_path().read_text(encoding="utf-8"))
    for name in ("robot voice", "团队.北京", "a-b_c.1", "console"):
        data["teams"][0]["name"] = name
        assert Teams.from_mapping(data).teams[0].name == name


# 4. legal referrals are no blocked attempts


def test_blocked_legal_referral_is_not_told_as_zero_attempts(tmp_path):
    """A cease_contact account allocated a legal referral is no entry of `blocked` and no
    '0 attempts not scheduled' warning; a cease_contact account allocated a call still is."""
    book, ids = flagged_book(tmp_path, {0: ["cease_contact"]})
    alloc = allocation_file(tmp_path / "alloc.csv", ids, {
        ids[0]: ("legal", "legal-inhouse"), ids[5]: ("agent_call", "agent-chengdu")})  # fmt: skip
    code, stdout, err = _calendar(book, alloc, tmp_path / "cal.csv", "--start", START,
                                  "--format", "json")  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["blocked"] == [] and summary["attempts_blocked"] == 0
    assert "0 attempts" not in err and ids[0] not in err
    called = allocation_file(
        tmp_path / "called.csv", ids, {ids[0]: ("agent_call", "agent-chengdu")}
    )
    code, stdout, err = _calendar(book, called, tmp_path / "c2.csv", "--start", START,
                                  "--format", "json")  # fmt: skip
    assert code == 0, err
    assert [b["account_id"] for b in json.loads(stdout)["blocked"]] == [ids[0]]
    assert "protected (cease_contact)" in err and ids[0] in err
