"""Where `workout allocate` writes its assignment table (commands/allocate.py `_Target`): the
file and the --out-db table, and the database's line on stderr as plan-portfolio prints it."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import create_engine

from commands.allocate import _Target


@pytest.mark.parametrize("quiet", [False, True])
def test_write_says_where_the_table_went_in_the_database(tmp_path, capsys, quiet):
    """Both the file and the table hold the rows; the database's line names the table and
    the row count on stderr, not with --quiet; stdout stays the result's."""
    table = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "treatment": ["sms", "none", "app"]})
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    out = tmp_path / "allocation.csv"
    _Target(out, (url, "allocation", False), "table", quiet, "CNY").write(table, "allocation")
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
    _Target(out, None, "table", False, "CNY").write(table, "allocation")
    assert pd.read_csv(out).equals(table)
    assert capsys.readouterr() == ("", "")
