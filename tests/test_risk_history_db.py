"""Payment histories read from a database (issue 18 item 3): `risk ... --db URL --table/--query`.

The oracle is the same history read from a CSV file: a database must give the same output,
the same row-numbered messages and the same exit codes. SQLite and DuckDB always; PostgreSQL through
WORKOUT_TEST_PG_URL (skipped locally without it, a failure under CI: tests/pg_helpers.py).
"""

from __future__ import annotations

import json

import pytest
from pg_helpers import postgres_schema
from sqlalchemy import create_engine

from cli import workout
from commands.common import run_cli
from solver.core.generate import generate_portfolio
from solver.core.history_sim import simulate_history

ORDERED = "SELECT * FROM history ORDER BY account_id, month"


def _run(capsys, *args: object) -> tuple[int, str, str]:
    """``workout ARGS`` in-process: exit code, stdout and stderr."""
    capsys.readouterr()
    rc = run_cli(workout, [str(a) for a in args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(scope="module")
def history():
    """A small generated book and its 9-month history (seed 5, not tuned)."""
    book = generate_portfolio(300, 5)
    return book, simulate_history(book, 9, 5)


@pytest.fixture(params=["sqlite", "duckdb", "postgresql"])
def history_db(request, tmp_path, history):
    """A database whose table ``history`` holds the generated history."""

    def load(url: str) -> str:
        engine = create_engine(url)
        history[1].to_sql("history", engine, index=False)
        engine.dispose()
        return url

    if request.param in ("sqlite", "duckdb"):
        yield load(f"{request.param}:///{tmp_path / 'bank.db'}")
        return
    with postgres_schema("histories", "history-from-database") as url:
        yield load(url)


def test_database_history_gives_the_file_output(history_db, history, tmp_path, capsys):
    """rollrates (JSON) and calibrate (JSON and the model written) are the same from the CSV
    file, the table and an ordered query; only the source's name differs."""
    book, frame = history
    csv, book_csv = tmp_path / "history.csv", tmp_path / "book.csv"
    frame.to_csv(csv, index=False)
    book.to_csv(book_csv, index=False)
    sources = {
        "file": (csv,),
        "table": ("--db", history_db, "--table", "history"),
        "query": ("--db", history_db, "--query", ORDERED),
    }
    outputs = {}
    for name, source in sources.items():
        rc, rollrates, err = _run(
            capsys, "risk", "rollrates", *source, "--no-png", "--format", "json"
        )
        assert rc == 0, err
        model = tmp_path / f"behaviour_{name}.toml"
        rc, calibration, err = _run(
            capsys, "risk", "calibrate", *source, "--book", book_csv, "--out", model,
            "--no-png", "--format", "json",
        )  # fmt: skip
        assert rc == 0, err
        calibrated = json.loads(calibration)
        assert calibrated.pop("out") == str(model)
        written = model.read_text().splitlines()
        assert written[0].startswith("# Behaviour model calibrated by workout risk from ")
        outputs[name] = (json.loads(rollrates), calibrated, written[1:])
    assert outputs["file"][0]["n_accounts"] == frame["account_id"].nunique()
    assert outputs["table"] == outputs["file"]
    assert outputs["query"] == outputs["file"]


def test_database_history_problems_keep_row_numbers_and_exit_2(history, tmp_path, capsys):
    """A bad cell is reported at its row in the query's order (as a file's row after the
    header); a missing table is named with the tables there; nothing is written."""
    _, frame = history
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    bad = frame.copy()
    bad.loc[2, "dpd"] = -1  # the 3rd row
    engine = create_engine(url)
    bad.to_sql("history", engine, index=False)
    engine.dispose()
    csv = tmp_path / "bad.csv"
    bad.to_csv(csv, index=False)
    out = tmp_path / "m.toml"
    row = f"row 3 (account_id {bad.loc[2, 'account_id']}): dpd: must be a whole number >= 0"
    for source in ((csv,), ("--db", url, "--query", "SELECT * FROM history ORDER BY rowid")):
        rc, _, err = _run(capsys, "risk", "calibrate", *source, "--out", out, "--no-png")
        assert rc == 2 and row in err and not out.exists(), err
    rc, _, err = _run(capsys, "risk", "rollrates", "--db", url, "--table", "nope", "--no-png")
    assert rc == 2 and "--table nope: no such table" in err and "tables: history" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("risk", "calibrate"), "missing OUTCOMES (a file, or --db URL"),
        (("risk", "score", "--ew-model", "ew.toml"), "missing PORTFOLIO (a file, or --db URL"),
        (("risk", "calibrate", "h.csv", "--db", "sqlite:///x.db", "--table", "history"),
         "h.csv: give a history file or --db URL, not both"),
        (("risk", "rollrates", "--db", "sqlite:///x.db"), "give either --table NAME or --query"),
        (("risk", "fit", "--table", "history"), "--table needs --db URL"),
        (("risk", "rollrates", "--uci", "--db", "sqlite:///x.db", "--table", "history"),
         "give either PANEL or --uci, not both"),
    ],
)  # fmt: skip
def test_history_source_usage_errors(args, message, tmp_path, capsys, monkeypatch):
    """Neither or both of a file and --db, or a half-given --db: exit 2 with the reason."""
    monkeypatch.chdir(tmp_path)
    rc, _, err = _run(capsys, *args, "--out", tmp_path / "out.toml", "--no-png")
    assert rc == 2 and message in err, err
    assert not (tmp_path / "out.toml").exists()
