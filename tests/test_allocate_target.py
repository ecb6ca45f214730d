"""Where `workout allocate` writes its assignment table (commands/allocate_output.py `Target`): the
file and the --out-db table, and the database's line on stderr as plan-portfolio prints it
(both through commands.sources.write_table_outputs)."""

from __future__ import annotations

import pandas as pd
import pytest
from cli_inprocess import run_workout
from sqlalchemy import create_engine

from commands.allocate_output import Target


@pytest.mark.parametrize("quiet", [False, True])
def test_write_says_where_the_table_went_in_the_database(tmp_path, capsys, quiet):
    """Both the file and the table hold the rows; the database's line names the table and
    the row count on stderr, not with --quiet; stdout stays the result's."""
    table = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "treatment": ["sms", "none", "app"]})
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    out = tmp_path / "allocation.csv"
    Target(out, (url, "allocation", False), "table", quiet, "CNY").write(table, "allocation")
    assert pd.read_csv(out).equals(table)
    engine = create_engine(url)
    assert pd.read_sql("select * from allocation", engine).equals(table)
    engine.dispose()
    captured = capsys.readouterr()
    assert captured.out == ""
    if quiet:
        assert captured.err == ""
    else:
        assert "wrote 3 rows to table allocation of sqlite:///" in captured.err


def test_write_without_a_database_prints_nothing(tmp_path, capsys):
    """Without --out-db only the file is written and nothing is printed here (the file's
    line is the readable output's)."""
    table = pd.DataFrame({"account_id": ["A1"], "treatment": ["sms"]})
    out = tmp_path / "allocation.csv"
    Target(out, None, "table", False, "CNY").write(table, "allocation")
    assert pd.read_csv(out).equals(table)
    assert capsys.readouterr() == ("", "")


def test_plan_portfolio_prints_a_long_database_url_on_one_line(tmp_path):
    """``plan-portfolio --out-db`` says where the plans went as ``allocate`` does: one
    unwrapped line on stderr however long the URL (rich used to wrap it), none with
    --quiet; the table holds one row per account."""
    deep = tmp_path / ("a_rather_long_directory_name_for_the_bank_database_" * 3)
    deep.mkdir()
    url = f"sqlite:///{deep / 'bank.db'}"
    assert len(url) > 200
    book = tmp_path / "book.csv"
    assert run_workout("generate", "portfolio", "--n", "12", "--seed", "3", "--out", book)[0] == 0
    for quiet in (False, True):
        out = tmp_path / f"plans_{quiet}.csv"
        args = ["plan-portfolio", book, "--out", out, "--out-db", url, "--out-table", f"p{quiet:d}"]
        code, _, err = run_workout(*args, *(["--quiet"] if quiet else []))
        assert code == 0, err
        line = f"wrote 12 rows to table p{quiet:d} of {url}"
        assert (line + "\n" in err) is not quiet
        assert ("wrote 12 rows" in err) is not quiet
    engine = create_engine(url)
    assert len(pd.read_sql("select * from p0", engine)) == 12
    engine.dispose()
