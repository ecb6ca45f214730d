"""Safety (issue 8; SECURITY.md, docs/reliability.md).

* Input files are data only: no pickle, eval/exec, YAML or shell in the code that reads
  them (a grep of the code base), and hostile-looking text is just text.
* Output paths come from the command line only, never from input contents: account ids and
  scenario names with path separators do not create files anywhere else.
* Account ids are written as given; Excel outputs store them as text, never as formulas.
* Messages do not echo personal-financial values (income, income_normal, expenses,
  other_debt, credit_score; the UCI demographics and amounts) unless ``workout --verbose``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from adv_helpers import (
    ROOT,
    assert_rejected,
    csv_text,
    quick_scenario,
    rows_with,
    write,
)

CODE = [ROOT / "cli.py", *sorted((ROOT / "solver").rglob("*.py"))]
CODE += sorted((ROOT / "commands").rglob("*.py"))

FORBIDDEN = {
    r"\bpickle\.loads?\(": "pickle can execute code while loading",
    r"\bread_pickle\(": "pandas read_pickle unpickles",
    r"\bcloudpickle\.loads?\(": "cloudpickle can execute code",
    r"\bdill\.loads?\(": "dill can execute code",
    r"\bmarshal\.loads?\(": "marshal loads code objects",
    r"\bshelve\.open\(": "shelve unpickles",
    r"\byaml\.(unsafe_)?load\(": "YAML tags can construct objects",
    r"(?<![\w.])eval\(": "eval runs text as code",
    r"(?<![\w.])exec\(": "exec runs text as code",
    r"allow_pickle\s*=\s*True": "numpy object arrays unpickle",
    r"shell\s*=\s*True": "a shell would interpret input text",
    r"\bos\.system\(": "a shell would interpret input text",
}


def test_no_code_execution_when_reading_inputs() -> None:
    """grep: no pickle/eval/exec/YAML/shell anywhere in the package, the commands or the CLI."""
    hits = []
    for path in CODE:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            for pattern, why in FORBIDDEN.items():
                if re.search(pattern, code):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {why}: {line.strip()}")
    assert not hits, "\n".join(hits)


HOSTILE_IDS = [
    "../../escape",
    "/etc/passwd",
    '=HYPERLINK("http://x")',
    "$(touch pwned)",
    "__import__('os').system('x')",
    "{{7*7}}",
]


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_hostile_ids_are_text_and_written_as_given(tmp_path: Path, workout) -> None:
    """Ids that look like paths, formulas or code are validated and written back verbatim; no
    file appears outside --out, and Excel stores them as text cells."""
    rows = [rows_with(1, "account_id", value)[0] for value in HOSTILE_IDS]
    for k, row in enumerate(rows):
        row[0] = HOSTILE_IDS[k]
    portfolio = write(tmp_path / "in" / "p.csv", csv_text(rows))
    before = _tree(tmp_path)
    out = tmp_path / "out" / "plans.xlsx"
    result = workout("plan-portfolio", portfolio, "--out", out)
    assert result.code == 0, result.text
    assert _tree(tmp_path) - before == {out.parent, out}
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    from openpyxl import load_workbook

    workbook = load_workbook(out, read_only=False)
    sheet = workbook["plans"]
    header = [c.value for c in sheet[1]]
    column = header.index("account_id") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert sorted(c.value for c in cells) == sorted(HOSTILE_IDS)
    assert all(c.data_type == "s" for c in cells)  # text, never a formula


def test_scenario_name_never_becomes_a_path(tmp_path: Path, workout) -> None:
    """A scenario named like a path writes only the fixed report names inside --out-dir."""
    scenario = write(
        tmp_path / "in" / "s.toml",
        quick_scenario("../../escape/report", "n = 30\nseed = 1\n"),
    )
    before = _tree(tmp_path)
    out = tmp_path / "out"
    result = workout("scenario", "run", scenario, "--out-dir", out, "--no-cache", "--quiet")
    assert result.code == 0, result.text
    created = _tree(tmp_path) - before
    assert created and all(p == out or p.parent == out for p in created), created
    assert {p.name for p in created if p != out} <= {
        "kpis.csv", "monthly.csv", "roll_rates.csv", "accounts.parquet", "report.xlsx",
        "report.html", "cash_collected.png", "npl_ratio.png", "recovery_by_tier.png",
        ".workout-outputs.json",  # the folder's manifest (solver.scenarios.report.MANIFEST)
    }  # fmt: skip


# -- personal values are withheld unless --verbose -------------------------------------------

PERSONAL_CASES = [
    ("income", "-5000", "negative amount"),
    ("expenses", "abc", "not a number"),
    ("other_debt", "1e15", "implausibly large"),
    ("credit_score", "999", "must be in"),
]


@pytest.mark.parametrize("column, value, rule", PERSONAL_CASES)
def test_personal_values_withheld_unless_verbose(tmp_path, workout, column, value, rule):
    """A bad personal field names file, row, account, column and rule, not the value; with
    `workout --verbose` the value is shown."""
    path = write(tmp_path / "p.csv", csv_text(rows_with(2, column, value)))
    quiet = workout("validate", path)
    assert_rejected(quiet, ("p.csv", "row 2", "ADV002", column, rule, "<withheld>", "--verbose"))
    assert value not in quiet.text.replace(str(path), "")
    loud = workout("--verbose", "validate", path)
    assert_rejected(loud, ("p.csv", "row 2", "ADV002", column, rule))
    assert "<withheld>" not in loud.text
    shown = value if column != "other_debt" else "1000000000000000"
    assert shown in loud.text


def test_non_personal_values_still_shown(tmp_path: Path, workout) -> None:
    """Values of non-personal fields (rates, terms, ids) stay in messages: they help fix files."""
    path = write(tmp_path / "p.csv", csv_text(rows_with(2, "annual_rate", "7.2")))
    result = workout("validate", path)
    assert_rejected(result, ("annual_rate", "got 7.2", "7.2 % is 0.072"))
    assert "<withheld>" not in result.text


def test_account_file_personal_values_withheld(tmp_path: Path, workout) -> None:
    """workout plan on a TOML account with a negative income withholds the value."""
    text = (ROOT / "tests" / "data" / "portfolio" / "one_account.toml").read_text()
    path = write(tmp_path / "a.toml", text.replace("income = 5000.00", "income = -4321.0"))
    result = workout("plan", path)
    assert_rejected(result, ("a.toml", "ONE001", "income", "<withheld>"))
    assert "4321" not in result.text


def test_uci_personal_values_withheld(tmp_path: Path, workout) -> None:
    """A UCI-layout file with a bad credit limit and age: values withheld, statuses shown."""
    text = (ROOT / "tests" / "data" / "risk" / "uci_tiny.csv").read_text()
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[1] = "-77777"  # X1 LIMIT_BAL
    cells[6] = "12"  # X6 PAY_0 (a status code: not personal)
    lines[1] = ",".join(cells)
    path = write(tmp_path / "uci.csv", "\n".join(lines) + "\n")
    result = workout("risk", "fit", path, "--out", tmp_path / "m.toml", "--no-png")
    assert_rejected(result, ("uci.csv", "X1 (LIMIT_BAL)", "<withheld>", "X6 (PAY_0)", "got 12"))
    assert "77777" not in result.text


def test_excel_writer_stores_formula_like_text_as_text(tmp_path: Path) -> None:
    """The Excel writer of every table (portfolios, plans and the risk commands') stores
    '=...' as text."""
    import pandas as pd
    from openpyxl import load_workbook

    from solver.core.writers import write_table

    frame = pd.DataFrame({"account_id": ["=1+1", "+SUM(A1:A2)", "@cmd"], "pd": [0.1, 0.2, 0.3]})
    path = tmp_path / "t.xlsx"
    write_table(frame, path)
    sheet = load_workbook(path).worksheets[0]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 5)]
    assert [c.value for c in cells] == ["=1+1", "+SUM(A1:A2)", "@cmd"]
    assert all(c.data_type == "s" for c in cells)
