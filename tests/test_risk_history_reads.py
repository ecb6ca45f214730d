"""Each risk table is read (and its months parsed) once; --book's name stays in commands/.

Review mends of issue 14/18: ``validate_history`` parses the month column once (and the
roll-rate panel of a history does not parse it again), ``read_history_or_uci`` reads a
table of unknown layout once, the ``--behaviour-out`` refusal reads only the column
names, and ``calibrate_table`` raises :class:`~solver.risk.transitions.BookError` (no
command-line option in its message) that ``workout risk calibrate`` names ``--book`` in.
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from risk_data import DATA

import solver.risk.history as history_module
import solver.risk.history_fit as history_fit
import solver.risk.panel as panel_module
from cli import workout
from commands.common import run_cli
from solver.core.sources import BookSource
from solver.errors import InputError
from solver.risk.panel import read_panel
from solver.risk.transitions import BookError, calibrate_table

COLUMNS = ["account_id", "month", "amount_due", "amount_paid", "dpd", "status"]


def _history() -> pd.DataFrame:
    """Two accounts over three months; b rolls to 30 dpd, then to 90 dpd (default)."""
    rows = [
        ("a", "2024-01", 100.0, 100.0, 0, "open"),
        ("a", "2024-02", 100.0, 100.0, 0, "open"),
        ("a", "2024-03", 100.0, 100.0, 0, "paid"),
        ("b", "2024-01", 100.0, 100.0, 0, "open"),
        ("b", "2024-02", 100.0, 0.0, 30, "open"),
        ("b", "2024-03", 200.0, 0.0, 90, "open"),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _counting(monkeypatch, module, name: str) -> list[int]:
    """Replace ``module.name`` by a wrapper that counts its calls."""
    calls: list[int] = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_history_months_are_parsed_once(tmp_path, monkeypatch):
    """validate_history and the roll-rate panel of a history parse the months once, and the
    panel's month ordinals are the calendar months (2024-01 = 2024 * 12)."""
    path = tmp_path / "history.csv"
    _history().to_csv(path, index=False)
    parsed = _counting(monkeypatch, history_module, "month_ordinal")
    monkeypatch.setattr(panel_module, "month_ordinal", history_module.month_ordinal)
    panel = read_panel(path)
    assert len(parsed) == 1
    assert panel["month_index"].tolist() == [2024 * 12 + m for m in (0, 1, 2)] * 2
    assert panel["dpd_bucket"].tolist() == ["M0", "M0", "paid", "M0", "M1", "M3"]


def test_a_bad_month_is_still_reported_with_its_value():
    """With the months parsed once, a month that does not parse is listed with its text."""
    bad = _history()
    bad.loc[4, "month"] = "03/02/2024"
    with pytest.raises(InputError) as caught:
        history_module.validate_history(bad, "h.csv")
    assert "row 5 (account_id b): month: not a month" in str(caught.value)
    assert "'03/02/2024'" in str(caught.value)


def test_a_table_of_unknown_layout_is_read_once(tmp_path, monkeypatch):
    """read_history_or_uci: one read, then the history's missing-columns error."""
    path = tmp_path / "other.csv"
    pd.DataFrame({"account_id": ["a"], "balance": [1.0]}).to_csv(path, index=False)
    reads = _counting(monkeypatch, history_fit, "read_table")
    with pytest.raises(InputError, match="missing required history columns: month"):
        history_fit.read_history_or_uci(path)
    assert len(reads) == 1


def _written(tmp_path, frame: pd.DataFrame, name: str, suffix: str):
    """``frame`` as the file ``name + suffix``, or (``.db``) as the table ``name`` of a
    SQLite database."""
    if suffix == ".db":
        with sqlite3.connect(tmp_path / "book.db") as connection:
            frame.to_sql(name, connection, index=False)
        return BookSource(url=f"sqlite:///{tmp_path / 'book.db'}", table=name)
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".db"])
def test_the_layout_is_told_by_the_header_alone(tmp_path, monkeypatch, suffix):
    """table_layout reads column names only (read_table is never called) in every format."""

    def whole_table(path):
        raise AssertionError(f"the whole table was read: {path}")

    uci = pd.read_csv(DATA / "uci_tiny.csv")
    tables = {"history": _history(), "uci": uci, "unknown": uci.drop(columns=["X6"])}
    sources = {name: _written(tmp_path, frame, name, suffix) for name, frame in tables.items()}
    monkeypatch.setattr(history_fit, "read_table", whole_table)
    for layout, source in sources.items():
        assert history_fit.table_layout(source) == layout


def test_the_layout_of_a_missing_file_is_the_readers_error(tmp_path):
    """A file that is not there: read_table's message, not a layout."""
    with pytest.raises(InputError, match="file not found"):
        history_fit.table_layout(tmp_path / "none.csv")


def _run(args: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    rc = run_cli(workout, ["risk", *map(str, args)])
    return rc, capsys.readouterr().err


def test_behaviour_out_is_refused_from_the_header(tmp_path, monkeypatch, capsys):
    """fit --behaviour-out on a history: exit 2 with the reason, the table never read."""
    path = tmp_path / "history.csv"
    _history().to_csv(path, index=False)
    monkeypatch.setattr(history_fit, "read_table", None)  # any full read would fail
    rc, err = _run(
        ["fit", path, "--out", tmp_path / "m.toml", "--behaviour-out", tmp_path / "b.toml"], capsys
    )
    assert rc == 2 and "workout risk calibrate" in err and "--horizon" in err
    assert not (tmp_path / "m.toml").exists() and not (tmp_path / "b.toml").exists()


def test_book_errors_name_no_option_in_solver(tmp_path):
    """calibrate_table raises BookError naming the table; its message names no
    command-line option, and naming() words it with the caller's."""
    history = tmp_path / "history.csv"
    _history().to_csv(history, index=False)
    outcomes = DATA / "outcomes_small.csv"
    with pytest.raises(BookError) as caught:
        calibrate_table(outcomes, book=history)
    assert not caught.value.needed and caught.value.source == str(outcomes)
    assert str(caught.value) == (
        f"{outcomes}: the book goes only with a payment history, not an outcome table"
    )
    assert caught.value.naming("the book (-b)").startswith(f"{outcomes}: the book (-b) goes")
    with pytest.raises(BookError) as caught:
        calibrate_table(history)
    assert caught.value.needed and caught.value.source == str(history)
    assert str(caught.value).startswith(f"{history}: the history has no tier column: give the book")
    assert "--" not in str(caught.value)


def test_calibrate_names_book_in_its_messages(tmp_path, capsys):
    """The command adds --book to the solver's words: with an outcome table, and for a
    history without tiers."""
    history = tmp_path / "history.csv"
    _history().to_csv(history, index=False)
    out = tmp_path / "b.toml"
    outcomes = DATA / "outcomes_small.csv"
    rc, err = _run(["calibrate", outcomes, "--book", history, "--out", out], capsys)
    assert rc == 2
    assert (
        f"{outcomes}: the book (--book) goes only with a payment history, not an outcome table"
        in err
    )
    rc, err = _run(["calibrate", history, "--out", out], capsys)
    assert rc == 2 and f"{history}: the history has no tier column: give the book (--book)" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["score", "--ew-model", DATA / "uci_tiny.csv", "--out", "s.csv"], "missing PORTFOLIO"),
        (["calibrate", "--out", "b.toml"], "missing OUTCOMES"),
        (["fit", "--out", "m.toml"], "or --uci to use the shared UCI"),
        (["rollrates", "--uci", DATA / "panel_small.csv"], "give either PANEL or --uci"),
    ],
)
def test_the_table_argument_is_checked_by_one_helper(args, expected, capsys):
    """A missing table (or one given twice) is a usage error (exit 2) naming it."""
    rc, err = _run(args, capsys)
    assert rc == 2 and expected in err
