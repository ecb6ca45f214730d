"""Malformed portfolios given to every command that reads one (issue 8, SPEC §3, §11).

Each case plants one problem in a small valid portfolio (CSV, Excel, Parquet, TOML, JSON)
and checks, for ``validate``, ``plan-portfolio``, ``allocate``, ``experiment split`` and
``scenario run`` (a scenario whose [portfolio] path is the file): exit code 2, a message
naming the file, the row/account and the column, no traceback, and no output written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from adv_helpers import (
    BIG_BYTES,
    GOOD_ROWS,
    HEADER,
    Case,
    assert_rejected,
    big,
    build_case,
    const,
    csv_text,
    garbage,
    quick_scenario,
    rows_with,
    toml_text,
    typed_rows,
    write,
    xlsx_with,
)


def _drop(column: str) -> str:
    keep = [i for i, c in enumerate(HEADER) if c != column]
    return csv_text([[r[i] for i in keep] for r in GOOD_ROWS], [HEADER[i] for i in keep])


def _rename(old: str, new: str) -> str:
    return csv_text(GOOD_ROWS, [new if c == old else c for c in HEADER])


def _xlsx_formula(path: Path) -> None:
    rows = typed_rows()
    rows[1][HEADER.index("principal")] = "=C2*0.25"
    xlsx_with(path, rows)


def _xlsx_merged(path: Path) -> None:
    # income is column L; rows 3-4 of the sheet are data rows 2-3
    xlsx_with(path, typed_rows(), merge="L3:L4")


def _parquet_text_in_number(path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(GOOD_ROWS, columns=HEADER)  # every column text
    frame.loc[1, "principal"] = "abc"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


def _parquet_nan_required(path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(typed_rows(), columns=HEADER)
    frame.loc[2, "annual_rate"] = float("nan")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


def _toml_accounts(path: Path) -> str:
    accounts = [dict(zip(HEADER, r, strict=True)) for r in GOOD_ROWS]
    for a in accounts:
        for key in ("principal", "interest_due", "fees_due", "arrears", "annual_rate"):
            a[key] = float(a[key])
        for key in ("remaining_term", "dpd", "credit_score"):
            a[key] = int(a[key])
        for key in ("income", "expenses", "other_debt", "vehicle_value"):
            a[key] = float(a[key])
        a["hardship"] = a["hardship"] == "true"
        if not a["tier"]:
            del a["tier"]
    accounts[1]["remaining_term"] = "twelve"
    return toml_text({"accounts": accounts})


CASES: list[Case] = [
    Case("text_in_number", "p.csv", const(csv_text(rows_with(2, "principal", "abc"))),
         ("row 2", "ADV002", "principal", "not a number")),
    Case("missing_required_column", "p.csv", const(_drop("annual_rate")),
         ("header", "annual_rate", "required column is missing")),
    Case("misspelt_extra_column", "p.csv", const(_rename("hardship", "hardshp")),
         ("hardshp", "did you mean 'hardship'")),
    Case("nan_in_required", "p.csv", const(csv_text(rows_with(1, "annual_rate", "NaN"))),
         ("row 1", "ADV001", "annual_rate", "missing value")),
    Case("inf_money", "p.csv", const(csv_text(rows_with(3, "principal", "inf"))),
         ("row 3", "ADV003", "principal", "infinite")),
    Case("negative_money", "p.csv", const(csv_text(rows_with(1, "fees_due", "-60"))),
         ("row 1", "ADV001", "fees_due", "negative")),
    Case("absurd_money_1e15", "p.csv", const(csv_text(rows_with(2, "principal", "1e15"))),
         ("row 2", "ADV002", "principal", "implausibly large")),
    Case("rate_above_1", "p.csv", const(csv_text(rows_with(1, "annual_rate", "1.5"))),
         ("row 1", "ADV001", "annual_rate", "[0, 0.36]")),
    Case("rate_in_percent", "p.csv", const(csv_text(rows_with(2, "annual_rate", "7.2"))),
         ("row 2", "ADV002", "annual_rate", "7.2 % is 0.072")),
    Case("duplicate_id", "p.csv", const(csv_text(rows_with(3, "account_id", "ADV001"))),
         ("row 3", "account_id", "duplicate account_id 'ADV001'")),
    Case("blank_id", "p.csv", const(csv_text(rows_with(2, "account_id", ""))),
         ("row 2", "account_id", "missing value")),
    Case("date_instead_of_number", "p.csv", const(csv_text(rows_with(1, "dpd", "2024-01-15"))),
         ("row 1", "ADV001", "dpd", "not a number")),
    Case("negative_dpd", "p.csv", const(csv_text(rows_with(2, "dpd", "-3"))),
         ("row 2", "ADV002", "dpd")),
    Case("fractional_term", "p.csv", const(csv_text(rows_with(3, "remaining_term", "12.5"))),
         ("row 3", "ADV003", "remaining_term", "whole number")),
    Case("bool_junk", "p.csv", const(csv_text(rows_with(1, "hardship", "maybe"))),
         ("row 1", "ADV001", "hardship", "true/false")),
    Case("unknown_product", "p.csv", const(csv_text(rows_with(2, "product", "lease"))),
         ("row 2", "ADV002", "product", "lease")),
    Case("unknown_tier", "p.csv", const(csv_text(rows_with(3, "tier", "F"))),
         ("row 3", "ADV003", "tier", "'F'")),
    Case("arrears_exceed_balance", "p.csv", const(csv_text(rows_with(2, "arrears", "99999"))),
         ("row 2", "ADV002", "arrears", "exceeds")),
    Case("ragged_row", "p.csv", const(csv_text(GOOD_ROWS).replace("ADV002,", "ADV002,x,", 1)),
         ("row 2", "comma-separated values")),
    Case("semicolon_separated", "p.csv", const(csv_text(GOOD_ROWS).replace(",", ";")),
         ("header", "semicolon")),
    Case("gbk_encoded", "p.csv",
         const(csv_text(rows_with(2, "region", "广东")).encode("gb18030")),
         ("row 2", "ADV002", "region", "not valid UTF-8")),
    Case("empty_file", "p.csv", const(b""), ("empty",)),
    Case("header_only", "p.csv", const(",".join(HEADER) + "\n"), ("no data rows",)),
    Case("binary_garbage", "p.csv", const(garbage()), ("binary data",)),
    Case("binary_garbage_no_nul", "p.csv", const(garbage().replace(b"\x00", b"\x01")),
         ("not UTF-8",)),
    Case("big_200mb_binary", "p.csv", big(), ("binary data", "NUL byte")),
    # a valid header and rows, then 200 MB of NUL bytes (a truncated disk image, say)
    Case("big_200mb_after_rows", "p.csv", big(csv_text(GOOD_ROWS).encode()), ("binary data", "NUL byte")),
    Case("excel_formula", "p.xlsx", _xlsx_formula, ("row 2", "principal", "formula", "C3")),
    Case("excel_merged_cells", "p.xlsx", _xlsx_merged, ("row 2", "income", "merged", "L3:L4")),
    Case("excel_garbage", "p.xlsx", const(garbage()), ("not an .xlsx workbook",)),
    Case("excel_200mb", "p.xlsx", big(b"PK\x03\x04"), ("too large", "MB")),
    Case("excel_legacy_xls", "p.xls", const(garbage()), (".xls", "not supported")),
    Case("parquet_garbage", "p.parquet", const(garbage()), ("Parquet",)),
    Case("parquet_text_in_number", "p.parquet", _parquet_text_in_number,
         ("row 2", "ADV002", "principal", "not a number")),
    Case("parquet_nan_required", "p.parquet", _parquet_nan_required,
         ("row 3", "ADV003", "annual_rate", "missing value")),
    Case("toml_wrong_type", "p.toml", _toml_accounts,
         ("row 2", "ADV002", "remaining_term", "not a number")),
    Case("json_not_objects", "p.json", const('[{"account_id": "A"}, 5]'),
         ("row 2", "expected an object")),
    Case("json_syntax", "p.json", const('[{"account_id": "A",]'), ("line 1", "not valid JSON")),
    Case("unknown_extension", "p.txt", const(csv_text(GOOD_ROWS)), ("unsupported file type",)),
]  # fmt: skip

#: The cases also run through the other commands (representative: types, columns, values,
#: ids, empty, binary, Excel).
CROSS = [
    "text_in_number",
    "missing_required_column",
    "rate_above_1",
    "duplicate_id",
    "empty_file",
    "binary_garbage",
    "excel_formula",
    "parquet_nan_required",
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_rejects(case: Case, tmp_path: Path, workout) -> None:
    """validate: exit 2, message names file, row/account and column; no traceback."""
    path = build_case(case, tmp_path)
    started = time.perf_counter()
    result = workout("validate", path)
    elapsed = time.perf_counter() - started
    assert_rejected(result, (path.name, *case.fragments))
    if path.stat().st_size >= BIG_BYTES:
        assert elapsed < 20, f"a 200 MB file took {elapsed:.1f} s to refuse"


def _scenario_for(portfolio: Path, tmp_path: Path) -> Path:
    text = quick_scenario("adversarial", f"path = {str(portfolio)!r}\n", model=False)
    return write(tmp_path / "scenario.toml", text)


COMMANDS: dict[str, Callable[[Path, Path, Path], list[object]]] = {
    "plan-portfolio": lambda p, out, tmp: ["plan-portfolio", p, "--out", out / "plans.csv"],
    "allocate": lambda p, out, tmp: ["allocate", p, "--out", out / "alloc.csv"],
    "experiment-split": lambda p, out, tmp: ["experiment", "split", p, "--out", out / "s.csv"],
    "scenario-run": lambda p, out, tmp: [
        "scenario",
        "run",
        _scenario_for(p, tmp),
        "--out-dir",
        out,
        "--no-cache",
        "--quiet",
    ],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("name", CROSS)
def test_commands_reject_and_write_nothing(name: str, command: str, tmp_path: Path, workout):
    """Every portfolio-reading command: exit 2, file/row/column named, nothing written."""
    case = next(c for c in CASES if c.name == name)
    path = build_case(case, tmp_path)
    out = tmp_path / "out"
    result = workout(*COMMANDS[command](path, out, tmp_path))
    assert_rejected(result, (path.name, *case.fragments), absent=[out])
