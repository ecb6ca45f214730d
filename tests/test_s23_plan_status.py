"""A plans table's ``status`` (session 23 review): a word that is not a plan status --
misspelt, or in lower case -- is refused naming the file, row and column, where it used to
be read silently as "no plan to offer"; blank stays "no plan"."""

from __future__ import annotations

import pandas as pd
from cli_inprocess import run_workout


def test_a_misspelt_plan_status_is_refused_naming_file_row_and_column(tmp_path) -> None:
    """`allocate --plans` with status RECOMENDED on row 2 and 'recommended' on row 3 exits 2
    naming the file, each row and the column, suggests RECOMMENDED, and writes nothing; the
    same table with those fixed (and a blank status) runs."""
    book = tmp_path / "book.csv"
    code, _, err = run_workout("generate", "portfolio", "--n", 12, "--seed", 3, "--out", book)
    assert code == 0, err
    ids = pd.read_csv(book, dtype={"account_id": str})["account_id"].tolist()
    plans = pd.DataFrame(
        {
            "account_id": ids[:4],
            "status": ["RECOMMENDED", "RECOMENDED", "recommended", ""],
            "npv_vs_status_quo": [100.0, 200.0, 300.0, None],
        }
    )
    bad = tmp_path / "plans.csv"
    plans.to_csv(bad, index=False)
    out = tmp_path / "a.csv"
    code, _, err = run_workout("allocate", book, "--plans", bad, "--out", out, "--quiet")
    assert code == 2, err
    assert "Traceback" not in err and not out.exists()
    for row, word in ((2, "'RECOMENDED'"), (3, "'recommended'")):
        line = next(text for text in err.splitlines() if f"row {row}" in text)
        assert str(bad) in err and "status" in line and word in line, err
        assert "did you mean RECOMMENDED?" in line, line
    assert "row 4" not in err  # blank: no plan, no problem
    plans["status"] = ["RECOMMENDED", "RECOMMENDED", "NPV_TEST_FAILED", ""]
    good = tmp_path / "good.csv"
    plans.to_csv(good, index=False)
    code, _, err = run_workout("allocate", book, "--plans", good, "--out", out, "--quiet")
    assert code == 0, err
    assert out.exists()
