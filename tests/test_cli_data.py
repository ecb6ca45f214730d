"""CLI tests for `workout validate` and `workout generate portfolio` (SPEC §11 exit codes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import cli
from commands.common import run_cli

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
BROKEN = DATA / "broken"

# file -> (row or None, column or None, what the message must also say)
BROKEN_CASES: dict[str, tuple[str | None, str | None, str]] = {
    "empty.csv": (None, None, "file is empty (0 bytes)"),
    "blank_lines.csv": (None, None, "only blank lines"),
    "header_only.csv": (None, None, "header only, no data rows"),
    "semicolon.csv": (None, "header", "expected comma-separated columns; found one column"),
    "gbk_encoded.csv": ("row 2 (account_id B002)", "region", "not valid UTF-8"),
    "missing_column.csv": (None, "principal", "required column is missing"),
    "no_header.csv": (None, "header", "no known column found"),
    "typo_column.csv": (None, "hardshp", "did you mean 'hardship'"),
    "text_in_number.csv": ("row 2 (account_id B002)", "principal", "not a number"),
    "blank_required.csv": ("row 3 (account_id B003)", "annual_rate", "missing value"),
    "nan_required.csv": ("row 1 (account_id B001)", "income", "missing value"),
    "infinite.csv": ("row 2 (account_id B002)", "principal", "infinite value"),
    "negative_money.csv": ("row 1 (account_id B001)", "arrears", "negative amount"),
    "absurd_money.csv": ("row 3 (account_id B003)", "principal", "implausibly large"),
    "rate_too_high.csv": ("row 2 (account_id B002)", "annual_rate", "[0, 0.36], got 0.45"),
    "rate_in_percent.csv": ("row 1 (account_id B001)", "annual_rate", "7.2 % is 0.072"),
    "term_fraction.csv": ("row 3 (account_id B003)", "remaining_term", "whole number"),
    "term_zero.csv": ("row 1 (account_id B001)", "remaining_term", "[1, 600], got 0"),
    "negative_dpd.csv": ("row 2 (account_id B002)", "dpd", "got -3"),
    "duplicate_id.csv": ("row 3 (account_id B001)", "account_id", "first in row 1"),
    "missing_id.csv": ("row 2 (account_id missing)", "account_id", "missing value"),
    "unknown_product.csv": ("row 2 (account_id B002)", "product", "unknown product 'mortgage'"),
    "unknown_tier.csv": ("row 3 (account_id B003)", "tier", "unknown tier 'F'"),
    "unknown_channel.csv": ("row 1 (account_id B001)", "preferred_channel", "'fax'"),
    "bool_junk.csv": ("row 2 (account_id B002)", "hardship", "expected true/false"),
    "score_out_of_range.csv": ("row 1 (account_id B001)", "credit_score", "[300, 850]"),
    "arrears_exceed_balance.csv": ("row 2 (account_id B002)", "arrears", "exceeds principal"),
    "ragged_row.csv": ("row 2", None, "expected 16 comma-separated values, found 17"),
    "many_errors.csv": ("row 50 (account_id M050)", "annual_rate", "and 10 more problems"),
    "legacy.xls": (None, None, "not supported"),
    "formula.xlsx": ("row 2 (account_id B002)", "principal", "cell C3 holds a formula"),
    "merged_cells.xlsx": ("row 2 (account_id B002)", "income", "cells L3:L4 are merged"),
    "text_in_number.xlsx": ("row 1 (account_id B001)", "principal", "not a number: 'lots'"),
    "empty_sheet.xlsx": (None, None, "sheet 'portfolio' is empty"),
    "bad_account.toml": ("row 1 (account_id T1)", "annual_rate", "must be in [0, 0.36]"),
    "bad_syntax.json": (None, None, "line 2 column 17: not valid JSON"),
}


def invoke(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process like the `workout` entry point; return (code, stdout, stderr)."""
    code = run_cli(cli.workout, list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_broken_manifest_covers_every_file():
    """Every file in tests/data/broken is checked below, and there are at least 18 kinds."""
    files = {p.name for p in BROKEN.iterdir() if p.suffix != ".py" and p.name != "README.md"}
    assert files == set(BROKEN_CASES)
    assert len(files) >= 18


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_validate_broken_file(capsys, tmp_path, monkeypatch, name):
    """Each broken file: exit 2, message names file, row and column, no traceback, no output."""
    monkeypatch.chdir(tmp_path)  # anything written would land here
    path = BROKEN / name
    code, out, err = invoke(capsys, "validate", str(path))
    row, column, phrase = BROKEN_CASES[name]
    assert code == 2, err
    assert str(path) in err
    assert phrase in err
    if row is not None:
        assert f"{path}: {row}" in err
    if column is not None:
        assert f": {column}: " in err or f"{column}: " in err
    assert "Traceback" not in err and "Traceback" not in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["semicolon.csv", "formula.xlsx", "gbk_encoded.csv"])
def test_validate_broken_file_subprocess(name):
    """Through a real process: exit code 2 and no traceback on stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", "validate", str(BROKEN / name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert name in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_validate_tiny_portfolio_summary(capsys):
    """A valid portfolio: exit 0 and a summary with counts, tiers, buckets and totals."""
    code, out, err = invoke(capsys, "validate", str(DATA / "portfolio" / "tiny.csv"))
    assert code == 0, err
    assert "8 accounts valid" in out
    for text in ("By product", "By tier", "By dpd bucket", "Flags", "418,000.00", "28,420.00"):
        assert text in out
    assert "M4+" in out and "hardship" in out


def test_validate_single_account_toml(capsys):
    """A single-account TOML validates (exit 0) and shows the account's fields."""
    code, out, err = invoke(capsys, "validate", str(DATA / "portfolio" / "one_account.toml"))
    assert code == 0, err
    assert "1 account valid" in out and "Account ONE001" in out


def test_validate_unknown_column_warns_and_strict_fails(capsys, tmp_path):
    """An extra column is a warning (exit 0); with --strict it is an error (exit 2)."""
    path = tmp_path / "p.csv"
    path.write_text(
        "account_id,principal,annual_rate,remaining_term,income,expenses,branch\n"
        "A,1000,0.1,12,5000,2000,SZ\n"
    )
    code, _, err = invoke(capsys, "validate", str(path))
    assert code == 0 and "warning:" in err and "branch: unknown column ignored" in err
    code, _, err = invoke(capsys, "validate", "--strict", str(path))
    assert code == 2 and "branch: unknown column" in err


def test_generate_then_validate(capsys, tmp_path):
    """generate portfolio writes a file that validate accepts; same seed, same bytes."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    code, out, err = invoke(
        capsys, "generate", "portfolio", "--n", "300", "--seed", "5", "--out", str(first)
    )
    assert code == 0, err
    assert f"wrote {first}: 300 accounts" in out
    invoke(capsys, "generate", "portfolio", "--n", "300", "--seed", "5", "--out", str(second))
    assert first.read_bytes() == second.read_bytes()
    code, out, _ = invoke(capsys, "validate", str(first))
    assert code == 0 and "300 accounts valid" in out


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_generate_other_formats(capsys, tmp_path, suffix):
    """--out picks Parquet or Excel from the extension; the result validates."""
    out_path = tmp_path / f"p{suffix}"
    code, _, err = invoke(capsys, "generate", "portfolio", "--n", "50", "--out", str(out_path))
    assert code == 0, err
    code, out, _ = invoke(capsys, "validate", str(out_path))
    assert code == 0 and "50 accounts valid" in out


@pytest.mark.parametrize(
    "args", [["--out", "x.txt"], ["--out", "x"], ["--n", "0", "--out", "x.csv"]]
)
def test_generate_bad_arguments_exit_2_and_write_nothing(capsys, tmp_path, args):
    """A bad --out extension or --n exits 2 and leaves the directory empty."""
    args = [a if not a.startswith("x") else str(tmp_path / a) for a in args]
    code, _, err = invoke(capsys, "generate", "portfolio", *args)
    assert code == 2
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
