"""Malformed panels, behaviour data and outcome tables for ``workout risk`` and
``workout experiment evaluate`` (issue 8, SPEC §7, §9, §11).

Each case writes one broken table and runs the command that reads it: exit code 2, a
message naming the file, the row (account) and the column, no traceback, and none of
the command's outputs written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from adv_helpers import (
    DATA,
    Case,
    assert_rejected,
    big,
    big_file,
    const,
    garbage,
    write,
    write_uci_sample,
)

PANEL = (DATA / "risk" / "panel_small.csv").read_text(encoding="utf-8")
UCI = (DATA / "risk" / "uci_tiny.csv").read_text(encoding="utf-8")
OUTCOMES = (DATA / "risk" / "outcomes_small.csv").read_text(encoding="utf-8")
EXPERIMENT = (DATA / "scenario" / "outcomes.csv").read_text(encoding="utf-8")


def replace_line(text: str, line: int, old: str, new: str) -> Callable[[Path], str]:
    """``text`` with ``old`` replaced by ``new`` on 1-based ``line`` (the change must apply)."""
    lines = text.splitlines(keepends=True)
    assert old in lines[line - 1], (old, lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    changed = "".join(lines)
    return lambda path: changed


def drop_column(text: str, column: str) -> Callable[[Path], str]:
    rows = [r.split(",") for r in text.splitlines()]
    k = rows[0].index(column)
    changed = "\n".join(",".join(r[:k] + r[k + 1 :]) for r in rows) + "\n"
    return lambda path: changed


def xlsx(text: str, *, formula: str | None = None, merge: str | None = None):
    """The CSV ``text`` as a workbook, with a formula in one cell or merged cells."""

    def build(path: Path) -> None:
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        for row in text.splitlines():
            sheet.append([_number(v) for v in row.split(",")])
        if formula:
            cell, value = formula.split("=", 1)
            sheet[cell] = "=" + value
        if merge:
            sheet.merge_cells(merge)
        path.parent.mkdir(parents=True, exist_ok=True)
        workbook.save(path)

    return build


def _number(value: str) -> object:
    try:
        return float(value)
    except ValueError:
        return value


# panel_small.csv: account_id,month,dpd_bucket,balance,product (line 2 = data row 1, A1)
PANEL_CASES = [
    Case("bad_bucket", "panel.csv", replace_line(PANEL, 3, "M0", "M9"),
         ("row 2", "A1", "dpd_bucket", "M9")),
    Case("month_wrong_format", "panel.csv", replace_line(PANEL, 3, "2024-02", "02/03/2024"),
         ("row 2", "A1", "month", "YYYY-MM")),
    Case("month_13", "panel.csv", replace_line(PANEL, 3, "2024-02", "2024-13"),
         ("row 2", "A1", "month")),
    Case("balance_text", "panel.csv", replace_line(PANEL, 2, "1000", "abc"),
         ("row 1", "A1", "balance", "not a number")),
    Case("duplicate_month", "panel.csv", replace_line(PANEL, 3, "2024-02", "2024-01"),
         ("A1", "month", "duplicate month")),
    Case("missing_column", "panel.csv", drop_column(PANEL, "month"), ("missing", "month")),
    Case("header_only", "panel.csv", const(PANEL.splitlines()[0] + "\n"), ("no rows",)),
    Case("empty", "panel.csv", const(b""), ("empty",)),
    Case("binary_garbage", "panel.csv", const(garbage()), ("binary data",)),
    Case("big_200mb", "panel.csv", big(PANEL.encode()), ("binary data",)),
    Case("excel_formula", "panel.xlsx", xlsx(PANEL, formula="D2=D3*2"), ("D2", "formula")),
    Case("excel_merged", "panel.xlsx", xlsx(PANEL, merge="C2:C3"), ("C2:C3", "merged")),
    Case("excel_garbage", "panel.xlsx", const(garbage()), ("not an .xlsx workbook",)),
    Case("parquet_garbage", "panel.parquet", const(garbage()), ("Parquet",)),
]  # fmt: skip


@pytest.mark.parametrize("case", PANEL_CASES, ids=[c.name for c in PANEL_CASES])
def test_rollrates_rejects_bad_panel(case: Case, rejects) -> None:
    """risk rollrates PANEL: exit 2 naming file, row/account and column; nothing written."""

    def command(path: Path, out: Path) -> list[object]:
        return ["risk", "rollrates", path, "--out", out / "r.csv", "--png", out / "r.png"]

    rejects(case, command)


# uci_tiny.csv: ID,X1..X23,Y (X1 LIMIT_BAL, X5 AGE, X6 PAY_0, X18 PAY_AMT1)
UCI_CASES = [
    Case("status_text", "uci.csv", replace_line(UCI, 2, ",30,-2,", ",30,x,"),
         ("row 1", "account_id 1", "X6 (PAY_0)", "not a number")),
    Case("status_out_of_range", "uci.csv", replace_line(UCI, 2, ",30,-2,", ",30,12,"),
         ("row 1", "X6 (PAY_0)", "-2..9")),
    Case("limit_zero", "uci.csv", replace_line(UCI, 2, "1,50000,", "1,0,"),
         ("row 1", "X1 (LIMIT_BAL)", "> 0")),
    Case("target_not_flag", "uci.csv", replace_line(UCI, 2, ",100,0\n", ",100,2\n"),
         ("row 1", "Y", "0 or 1")),
    Case("nan_cell", "uci.csv", replace_line(UCI, 3, "2,100000,", "2,NaN,"),
         ("row 2", "X1 (LIMIT_BAL)", "missing value")),  # a NaN word is blank (s24)
    Case("missing_column", "uci.csv", drop_column(UCI, "X12"), ("missing", "columns")),
    Case("empty", "uci.csv", const(b""), ("empty",)),
    Case("binary_garbage", "uci.csv", const(garbage()), ("binary data",)),
    Case("big_200mb", "uci.csv", big(UCI.encode()), ("binary data",)),
]  # fmt: skip


@pytest.mark.parametrize("command", ["fit", "score", "rollrates"])
@pytest.mark.parametrize("case", UCI_CASES, ids=[c.name for c in UCI_CASES])
def test_risk_rejects_bad_behaviour_data(case: Case, command: str, tmp_path: Path, rejects):
    """risk fit / score / rollrates on UCI-layout data: exit 2, row and column named."""

    def args(path: Path, out: Path) -> list[object]:
        if command == "fit":
            return ["risk", "fit", path, "--out", out / "m.toml", "--no-png", "--no-baseline"]
        if command == "score":
            model = _model_file(tmp_path)
            return ["risk", "score", path, "--model", model, "--out", out / "s.csv", "--no-png"]
        return ["risk", "rollrates", path, "--out", out / "r.csv", "--no-png"]

    rejects(case, args)


OUTCOME_CASES = [
    Case("unknown_tier", "o.csv", replace_line(OUTCOMES, 2, "O1,A,", "O1,Z,"),
         ("row 1", "O1", "tier", "'Z'")),
    Case("negative_defaults", "o.csv", replace_line(OUTCOMES, 3, ",80,1", ",80,-1"),
         ("row 2", "O2", "defaults", ">= 0")),
    Case("more_defaults_than_exposure", "o.csv", replace_line(OUTCOMES, 3, ",80,1", ",80,100"),
         ("row 2", "O2", "defaults", "more defaults")),
    Case("exposure_text", "o.csv", replace_line(OUTCOMES, 2, ",120,", ",many,"),
         ("row 1", "O1", "exposure_months")),
    Case("missing_column", "o.csv", drop_column(OUTCOMES, "defaults"), ("missing", "defaults")),
    Case("empty", "o.csv", const(b""), ("empty",)),
    Case("binary_garbage", "o.csv", const(garbage()), ("binary data",)),
]  # fmt: skip


@pytest.mark.parametrize("case", OUTCOME_CASES, ids=[c.name for c in OUTCOME_CASES])
def test_calibrate_rejects_bad_outcomes(case: Case, rejects) -> None:
    """risk calibrate OUTCOMES: exit 2 naming file, row/account and column; nothing written."""
    rejects(
        case,
        lambda path, out: ["risk", "calibrate", path, "--out", out / "b.toml", "--no-png"],
    )


def test_score_rejects_bad_model_files(tmp_path: Path, workout) -> None:
    """risk score --model: garbage, a policy file, a 200 MB file: exit 2, nothing written."""
    uci = write(tmp_path / "in" / "uci.csv", UCI)
    out = tmp_path / "out"
    bad = {
        "garbage.toml": (garbage(), "binary data"),
        "policy.toml": ("max_dti = 0.5\n", "not an early-warning model"),
        "truncated.toml": ('format = "workout-early-warning"\n[ensemble\n', "TOML"),
    }
    for name, (content, fragment) in bad.items():
        model = write(tmp_path / "in" / name, content)
        result = workout("risk", "score", uci, "--model", model, "--out", out / "s.csv")
        assert_rejected(result, (name, fragment), absent=[out])
    model = big_file(tmp_path / "in" / "big.toml", b"format = 1\n")
    result = workout("risk", "score", uci, "--model", model, "--out", out / "s.csv")
    assert_rejected(result, ("big.toml", "too large"), absent=[out])


def test_calibrate_rejects_bad_base_model(tmp_path: Path, workout) -> None:
    """risk calibrate --base: wrong types, unknown keys, out-of-range values: exit 2."""
    outcomes = write(tmp_path / "in" / "o.csv", OUTCOMES)
    out = tmp_path / "out"
    bad = {
        "type.toml": ('kappa = "x"\n', "kappa"),
        "unknown.toml": ("kapa = 0.2\n", "kapa"),
        "range.toml": ("[base_hazard]\nA = 1.5\n", "base_hazard.A"),
        "table.toml": ("base_hazard = 0.01\n", "base_hazard"),
        "garbage.toml": (garbage(), "binary data"),
    }
    for name, (content, fragment) in bad.items():
        base = write(tmp_path / "in" / name, content)
        result = workout(
            "risk", "calibrate", outcomes, "--base", base, "--out", out / "b.toml", "--no-png"
        )
        assert_rejected(result, (name, fragment), absent=[out])


# experiment evaluate OUTCOMES: account_id,group,balance,collected,cured,...
EXPERIMENT_CASES = [
    Case("bad_group", "e.csv", replace_line(EXPERIMENT, 2, "champion", "champ"),
         ("row 1", "group", "champ")),
    Case("negative_balance", "e.csv", lambda p: _experiment_cell(2, "balance", "-5"),
         ("row 1", "balance")),
    Case("text_in_number", "e.csv", lambda p: _experiment_cell(3, "collected", "abc"),
         ("row 2", "collected")),
    Case("bad_flag", "e.csv", lambda p: _experiment_cell(4, "cured", "maybe"),
         ("row 3", "cured")),
    Case("empty", "e.csv", const(b""), ("empty",)),
    Case("binary_garbage", "e.csv", const(garbage()), ("e.csv",)),
]  # fmt: skip


def _experiment_cell(line: int, column: str, value: str) -> str:
    rows = [r.split(",") for r in EXPERIMENT.splitlines()]
    rows[line - 1][rows[0].index(column)] = value
    return "\n".join(",".join(r) for r in rows) + "\n"


@pytest.mark.parametrize("case", EXPERIMENT_CASES, ids=[c.name for c in EXPERIMENT_CASES])
def test_experiment_evaluate_rejects(case: Case, rejects) -> None:
    """experiment evaluate OUTCOMES: exit 2 naming file, row and column; no --out-dir."""
    rejects(
        case,
        lambda path, out: ["experiment", "evaluate", path, "--out-dir", out],
    )


_MODEL_CACHE: dict[str, bytes] = {}


def _model_file(tmp_path: Path) -> Path:
    """An early-warning model fitted on a small valid UCI-layout sample (cached per run)."""
    if "model" not in _MODEL_CACHE:
        from solver.risk.early_warning import fit_uci
        from solver.risk.early_warning_fit import EarlyWarningParams

        source = write_uci_sample(tmp_path / "fit" / "uci_fit.csv", seed=5)
        result = fit_uci(source, EarlyWarningParams(seed=0, baseline=False))
        target = tmp_path / "fit" / "model.toml"
        result.model.write(target)
        _MODEL_CACHE["model"] = target.read_bytes()
    path = tmp_path / "fit" / "model.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_MODEL_CACHE["model"])
    return path


def test_rollrates_text_weight_column_rejected(tmp_path: Path, workout) -> None:
    """--weight naming a text column: exit 2 naming the column, account and value."""
    path = write(tmp_path / "in" / "panel.csv", PANEL)
    out = tmp_path / "out"
    result = workout("risk", "rollrates", path, "--weight", "product", "--out", out / "r.csv")
    assert_rejected(result, ("panel.csv", "account_id A1", "product", "numbers"), absent=[out])
