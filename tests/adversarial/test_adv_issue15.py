"""Hardening II (issue 15): the failures a new user found, each one a case here.

* Hexadecimal literals in number columns (``0x10`` as ``remaining_term``, ``0x3DAC`` as
  income or principal) are "not a number" with file, row (account_id) and column, in CSV
  (which pyarrow's integer inference read as 16 and 15788), Excel and forecast tables;
  Python-only spellings (``1_000``) are refused by ``--set`` as by the table readers.
* An output that is one of the inputs, or that cannot be written (its parent is a file,
  its directory is read-only), is refused with exit 2 naming the path *before* the work
  (``solver.core.atomic.check_writable``, called by every command that writes).
* ``--seed`` is a whole number in [0, 2**31 - 1] everywhere; ``--time-limit`` refuses
  ``inf`` and ``nan`` (there is no "no limit" setting, documented in the option help);
  ``--budget nan`` is refused too (``commands.options.FiniteFloat``).
* Sizes are refused up front, naming the key and the limit: ``generate --n``, a scenario's
  ``portfolio.n`` (file or ``--set``), ``--paths``, a sweep grid; and work whose memory
  estimate exceeds the available memory (``commands.sizes.check_memory``).
* ``allocate --plans`` of another book (no account id in common) is exit 2; a partial
  match runs with a warning giving both counts.

Every case runs the CLI in-process (``run_cli``, the entry point's exit-code mapping).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from adv_helpers import (
    GOOD_ROWS,
    HEADER,
    SCENARIOS,
    assert_rejected,
    csv_text,
    quick_scenario,
    rows_with,
    typed_rows,
    write,
    xlsx_with,
)

from solver.errors import InputError

# -- 1. hexadecimal literals -------------------------------------------------------------

HEX_CELLS = [
    ("remaining_term", "0x10", 1),
    ("income", "0x3DAC", 2),
    ("principal", "0x3DAC", 3),
    ("expenses", "0X1f", 1),
    ("credit_score", "0x2BC", 2),
]


@pytest.mark.parametrize(("column", "value", "row"), HEX_CELLS)
def test_hex_literal_in_csv_is_not_a_number(workout, tmp_path, column, value, row) -> None:
    """A hexadecimal literal in a CSV number column: exit 2 naming file, row and column."""
    path = write(tmp_path / "hex.csv", csv_text(rows_with(row, column, value)))
    result = workout("validate", path)
    assert_rejected(result, ["hex.csv", f"row {row}", f"ADV00{row}", column, "not a number"])


def test_hex_literal_in_csv_column_of_whole_numbers(workout, tmp_path) -> None:
    """Hex among whole numbers (the column pyarrow inferred as int64) is still refused."""
    rows = [list(r) for r in GOOD_ROWS]
    for r in rows:  # every other cell of the column a plain whole number
        r[HEADER.index("income")] = "5000"
    rows[1][HEADER.index("income")] = "0x3DAC"
    path = write(tmp_path / "ints.csv", csv_text(rows))
    out = tmp_path / "plans.csv"
    result = workout("plan-portfolio", path, "--out", out)
    assert_rejected(result, ["ints.csv", "ADV002", "income", "not a number"], absent=[out])


def test_valid_whole_numbers_still_read(workout, tmp_path) -> None:
    """Reading number columns as floats keeps plain whole numbers valid."""
    path = write(tmp_path / "good.csv", csv_text(GOOD_ROWS))
    result = workout("validate", path)
    assert result.code == 0, result.text


@pytest.mark.parametrize(("column", "value", "row"), HEX_CELLS[:3])
def test_hex_literal_in_excel_is_not_a_number(workout, tmp_path, column, value, row) -> None:
    """A hexadecimal text cell in an .xlsx number column: exit 2 naming row and column."""
    rows = typed_rows()
    rows[row - 1][HEADER.index(column)] = value
    path = xlsx_with(tmp_path / "hex.xlsx", rows)
    result = workout("validate", path)
    assert_rejected(result, ["hex.xlsx", f"row {row}", f"ADV00{row}", column, "not a number"])


def test_hex_literal_in_forecast_csv(workout, tmp_path) -> None:
    """A forecast table's month and inflow columns refuse hexadecimal too."""
    book = write(tmp_path / "book.csv", csv_text(GOOD_ROWS))
    forecast = write(
        tmp_path / "fc.csv",
        "account_id,month,income,inflow\nADV001,1,5000,\nADV001,0x2,5000,0x10\n",
    )
    result = workout("validate", book, "--forecast", forecast)
    assert_rejected(result, ["fc.csv", "row 2", "ADV001", "month", "inflow", "not a number"])


def test_hex_and_underscores_refused_by_set(workout) -> None:
    """--set refuses what the table readers refuse (0x10, 1_000), naming --set FIELD."""
    account = SCENARIOS / "sample_account.toml"
    for value in ("0x3DAC", "1_000"):
        result = workout("plan", account, "--set", f"income={value}", "--format", "json")
        assert_rejected(result, ["--set income", "not a number"])


# -- 2. outputs: not an input, writable, checked before the work --------------------------


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write(tmp_path / "book.csv", csv_text(GOOD_ROWS))


def _forbid(monkeypatch, module: str, name: str) -> None:
    """Make ``module.name`` fail loudly: the command must stop before calling it."""
    import importlib

    def boom(*args, **kwargs):
        raise AssertionError(f"{module}.{name} was called: the check came after the work")

    monkeypatch.setattr(importlib.import_module(module), name, boom)


def test_allocate_out_equal_to_portfolio_refused(workout, book, monkeypatch) -> None:
    """allocate book.csv --out book.csv: exit 2, the book unchanged, no work done."""
    before = book.read_bytes()
    _forbid(monkeypatch, "solver.allocation.portfolio", "allocate")
    result = workout("allocate", book, "--out", book)
    assert_rejected(result, ["--out", "book.csv", "also the input PORTFOLIO"])
    assert book.read_bytes() == before


def test_out_through_a_symlink_to_the_input_refused(workout, book, tmp_path) -> None:
    """A link to the input is the input: experiment split link.csv --out book.csv."""
    link = tmp_path / "link.csv"
    link.symlink_to(book)
    before = book.read_bytes()
    result = workout("experiment", "split", link, "--out", book)
    assert_rejected(result, ["--out", "book.csv", "also the input"])
    assert book.read_bytes() == before


def test_allocate_out_equal_to_plans_refused(workout, book, tmp_path) -> None:
    """--out equal to the --plans input is refused too."""
    plans = write(tmp_path / "plans.csv", "account_id,status,npv_vs_status_quo\nADV001,OK,1\n")
    result = workout("allocate", book, "--plans", plans, "--out", plans)
    assert_rejected(result, ["--out", "plans.csv", "also the input --plans"])


def test_plan_portfolio_out_equal_to_input_refused(workout, book) -> None:
    """plan-portfolio book.csv --out book.csv: exit 2 and the book unchanged (issue 15)."""
    before = book.read_bytes()
    result = workout("plan-portfolio", book, "--out", book)
    assert_rejected(result, ["--out", "book.csv", "also the input PORTFOLIO"])
    assert book.read_bytes() == before


def test_generate_out_under_a_file_refused_before_work(workout, tmp_path, monkeypatch) -> None:
    """--out whose parent is a file: exit 2 naming the path, before generating anything."""
    blocker = write(tmp_path / "afile", "x")
    _forbid(monkeypatch, "solver.core.generate", "generate_portfolio")
    result = workout("generate", "portfolio", "--n", 10, "--out", blocker / "sub" / "p.csv")
    assert_rejected(result, ["--out", str(blocker), "is a file, not a directory"])


def test_allocate_out_under_a_file_refused_before_work(workout, book, monkeypatch) -> None:
    """allocate with --out under a file: exit 2 (was exit 1 after all the work)."""
    blocker = write(book.parent / "afile", "x")
    _forbid(monkeypatch, "solver.allocation.portfolio", "allocate")
    result = workout("allocate", book, "--out", blocker / "a.csv")
    assert_rejected(result, ["--out", "afile", "not a directory"])


def test_scenario_out_dir_under_a_file_refused_before_work(workout, tmp_path, monkeypatch) -> None:
    """scenario run --out-dir below a file: exit 2 before loading the scenario."""
    blocker = write(tmp_path / "afile", "x")
    _forbid(monkeypatch, "solver.scenarios.spec", "load_scenario")
    scenario = write(tmp_path / "s.toml", quick_scenario("s", "n = 5\nseed = 1\n"))
    result = workout("scenario", "run", scenario, "--out-dir", blocker / "out", "--quiet")
    assert_rejected(result, ["--out-dir", "afile", "not a directory"])


def test_unwritable_directory_refused_before_work(workout, book, monkeypatch) -> None:
    """A directory this process cannot write in: exit 2 naming it, before the work.

    Simulated through ``os.access`` (the suite may run as root, who can write anywhere);
    the next test uses a real read-only directory when not root.
    """
    target = book.parent / "ro"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == target else real_access(p, mode)
    )
    _forbid(monkeypatch, "solver.allocation.portfolio", "allocate")
    result = workout("allocate", book, "--out", target / "a.csv")
    assert_rejected(result, ["--out", "ro", "permission denied"])


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_directory_refused(workout, tmp_path) -> None:
    """A real read-only directory: generate refuses at once with exit 2."""
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o555)
    try:
        result = workout("generate", "portfolio", "--n", 10, "--out", target / "p.csv")
        assert_rejected(result, ["--out", "ro", "cannot write"])
    finally:
        target.chmod(0o755)


def test_two_outputs_on_one_file_refused(workout, tmp_path) -> None:
    """risk calibrate --out c.toml --png c.toml: the chart would replace the model."""
    outcomes = write(tmp_path / "oc.csv", "tier,defaults,exposure_months\nA,1,10\nB,2,10\n")
    out = tmp_path / "c.toml"
    result = workout("risk", "calibrate", outcomes, "--out", out, "--png", out)
    assert_rejected(result, ["--png", "c.toml", "same file as --out"], absent=[out])


def test_check_writable_unit(tmp_path) -> None:
    """check_writable: accepts a new file (leaving no probe), refuses inputs and kinds."""
    from solver.core.atomic import check_writable

    out = tmp_path / "new" / "deeper" / "x.csv"
    assert check_writable(out) == out
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    source = write(tmp_path / "in.csv", "a\n")
    hard = tmp_path / "hard.csv"
    os.link(source, hard)
    with pytest.raises(InputError, match="also the input"):
        check_writable(hard, inputs=[source])
    with pytest.raises(InputError, match="is a directory"):
        check_writable(tmp_path)
    with pytest.raises(InputError, match="is a file, not a directory"):
        check_writable(source, option="--out-dir", directory=True)
    assert check_writable(tmp_path / "d", option="--out-dir", directory=True) == tmp_path / "d"


# -- 3. --seed and --time-limit ----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "portfolio", "--out", "{tmp}/p.csv", "--seed", "-3"],
        ["allocate", "{book}", "--out", "{tmp}/a.csv", "--seed", "-1"],
        ["allocate", "{book}", "--out", "{tmp}/a.csv", "--seed", str(2**31)],
        ["bench", "gap", "--seed", "-1"],
        ["risk", "fit", "{book}", "--out", "{tmp}/m.toml", "--seed", "-2"],
        ["experiment", "split", "{book}", "--out", "{tmp}/s.csv", "--seed", "-1"],
        ["scenario", "run", "x.toml", "--out-dir", "{tmp}/o", "--seed", "-1"],
    ],
    ids=["generate", "allocate", "allocate-2^31", "bench", "risk-fit", "split", "scenario"],
)
def test_negative_seed_refused_everywhere(workout, tmp_path, book, args) -> None:
    """Every --seed is a whole number in [0, 2**31 - 1]: exit 2 naming --seed."""
    argv = [a.format(tmp=tmp_path, book=book) for a in args]
    assert_rejected(workout(*argv), ["--seed"])


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "-1", "1e9"])
@pytest.mark.parametrize("command", ["allocate", "bench"])
def test_time_limit_must_be_finite(workout, tmp_path, book, command, value) -> None:
    """--time-limit inf/nan/negative/beyond a week: exit 2 naming --time-limit."""
    if command == "allocate":
        argv = ["allocate", book, "--out", tmp_path / "a.csv", "--time-limit", value]
    else:
        argv = ["bench", "gap", "--time-limit", value]
    assert_rejected(workout(*argv), ["--time-limit"], absent=[tmp_path / "a.csv"])


def test_time_limit_help_documents_inf(workout) -> None:
    """The option help says that 'inf' is refused (no 'no limit' setting)."""
    result = workout("allocate", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "'inf' and 'nan' are refused" in text


def test_budget_nan_refused(workout, tmp_path, book) -> None:
    """--budget nan (which click.FloatRange lets through) is exit 2."""
    result = workout("allocate", book, "--out", tmp_path / "a.csv", "--budget", "nan")
    assert_rejected(result, ["--budget"], absent=[tmp_path / "a.csv"])


# -- 4. sizes ----------------------------------------------------------------------------


def _small_memory(monkeypatch, gigabytes: float = 1.0) -> None:
    import commands.sizes

    monkeypatch.setattr(commands.sizes, "available_memory", lambda: int(gigabytes * 2**30))


def test_generate_n_above_the_limit(workout, tmp_path) -> None:
    """generate --n 10**12: exit 2 naming --n and the limit 100,000,000."""
    out = tmp_path / "p.csv"
    result = workout("generate", "portfolio", "--n", 10**12, "--out", out)
    assert_rejected(result, ["--n", "100000000"], absent=[out])


def test_generate_n_beyond_memory(workout, tmp_path, monkeypatch) -> None:
    """generate --n 50,000,000 on a 1 GB machine: refused before allocating anything."""
    _small_memory(monkeypatch)
    _forbid(monkeypatch, "solver.core.generate", "generate_portfolio")
    out = tmp_path / "p.parquet"
    result = workout("generate", "portfolio", "--n", 50_000_000, "--out", out)
    assert_rejected(result, ["--n = 50,000,000", "memory", "at most about"], absent=[out])


def test_generate_xlsx_beyond_a_sheet(workout, tmp_path, monkeypatch) -> None:
    """An .xlsx sheet holds 1,048,575 data rows: more is refused up front."""
    _forbid(monkeypatch, "solver.core.generate", "generate_portfolio")
    out = tmp_path / "p.xlsx"
    result = workout("generate", "portfolio", "--n", 2_000_000, "--out", out)
    assert_rejected(result, ["--n", "1,048,575", ".xlsx"], absent=[out])


def test_scenario_portfolio_n_in_file_above_the_limit(workout, tmp_path, monkeypatch) -> None:
    """portfolio.n = 10**12 in a scenario file: exit 2 naming portfolio.n and the limit."""
    _forbid(monkeypatch, "solver.scenarios.run", "run_scenario")
    scenario = write(tmp_path / "big.toml", quick_scenario("big", f"n = {10**12}\nseed = 1\n"))
    result = workout("scenario", "run", scenario, "--out-dir", tmp_path / "o", "--quiet")
    assert_rejected(result, ["portfolio.n", "100,000,000"], absent=[tmp_path / "o"])


def test_scenario_set_portfolio_n_beyond_memory(workout, tmp_path, monkeypatch) -> None:
    """--set portfolio.n=50000000 (6.5 GB before anyone stopped it): refused up front."""
    _small_memory(monkeypatch)
    _forbid(monkeypatch, "solver.scenarios.run", "run_scenario")
    scenario = write(tmp_path / "s.toml", quick_scenario("s", "n = 5\nseed = 1\n"))
    result = workout(
        "scenario", "run", scenario, "--out-dir", tmp_path / "o", "--quiet",
        "--set", "portfolio.n=50000000",
    )  # fmt: skip
    assert_rejected(result, ["portfolio.n = 50,000,000", "memory"], absent=[tmp_path / "o"])


def test_scenario_paths_above_the_limit(workout, tmp_path) -> None:
    """scenario run --paths 10**12: exit 2 naming --paths and 1,000,000 (the file's range)."""
    scenario = write(tmp_path / "s.toml", quick_scenario("s", "n = 5\nseed = 1\n"))
    result = workout("scenario", "run", scenario, "--out-dir", tmp_path / "o", "--paths", 10**12)
    assert_rejected(result, ["--paths", "1000000"], absent=[tmp_path / "o"])


def test_sweep_grid_too_large(workout, tmp_path, monkeypatch) -> None:
    """A sweep grid of 10,000 runs is refused up front naming the limit."""
    _forbid(monkeypatch, "solver.scenarios.sweep", "run_sweep")
    scenario = write(tmp_path / "s.toml", quick_scenario("s", "n = 5\nseed = 1\n"))
    values = ",".join(str(k) for k in range(100))
    result = workout(
        "scenario", "sweep", scenario, "--out-dir", tmp_path / "o",
        "--set", f"simulation.seed={values}", "--set", f"portfolio.seed={values}",
    )  # fmt: skip
    assert_rejected(result, ["--set", "10,000 runs", "1,000"])


def test_sweep_portfolio_n_value_too_large(workout, tmp_path, monkeypatch) -> None:
    """One swept portfolio.n value above the limit refuses the whole sweep before running."""
    _forbid(monkeypatch, "solver.scenarios.sweep", "run_sweep")
    scenario = write(tmp_path / "s.toml", quick_scenario("s", "n = 5\nseed = 1\n"))
    result = workout(
        "scenario", "sweep", scenario, "--out-dir", tmp_path / "o",
        "--set", f"portfolio.n=5,{10**12}",
    )  # fmt: skip
    assert_rejected(result, ["portfolio.n", "100,000,000"])


# -- 5. allocate --plans of another book -------------------------------------------------

PLANS_HEADER = "account_id,status,npv_vs_status_quo\n"


def test_allocate_plans_of_another_book_refused(workout, book, tmp_path) -> None:
    """--plans without one account id of the portfolio: exit 2 naming the file."""
    plans = write(tmp_path / "other_plans.csv", PLANS_HEADER + "ZZ1,RECOMMENDED,100\n")
    out = tmp_path / "a.csv"
    result = workout("allocate", book, "--plans", plans, "--out", out, "--time-limit", 5)
    assert_rejected(
        result, ["--plans", "other_plans.csv", "none of its 1 account ids"], absent=[out]
    )


def test_allocate_plans_partial_match_warns(workout, book, tmp_path) -> None:
    """Some ids match: the run goes on (exit 0) with a warning giving both counts."""
    plans = write(
        tmp_path / "plans.csv", PLANS_HEADER + "ADV001,RECOMMENDED,100\nZZ9,RECOMMENDED,5\n"
    )
    out = tmp_path / "a.csv"
    result = workout(
        "allocate", book, "--plans", plans, "--out", out, "--time-limit", 5, "--format", "json"
    )
    assert result.code == 0, result.text
    assert "warning: --plans" in result.err
    assert "2 of the 3 accounts" in result.err
    assert "1 plan rows are for accounts not in" in result.err
    assert out.exists()
