"""``workout validate`` and ``workout generate portfolio``: data commands (parse, call, format).

The book's check is :func:`solver.core.book_check.check_book`; validate's tables and report
are formatted by :mod:`commands.validate_report`.

The solver modules (numpy, and pandas when they read) are imported inside the functions, as
in every command module, so that ``workout --help`` and a command's ``--help`` start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.common import console, echo_error
from commands.options import file_option, quiet_option, seed_option
from commands.output import check_out, emit, format_option, out_option, write_out, wrote
from commands.sizes import (
    GENERATE_BYTES_PER_ACCOUNT,
    MAX_GENERATED_ACCOUNTS,
    MAX_XLSX_ROWS,
    check_count,
    check_memory,
)
from commands.sources import (
    book_options,
    columns_option,
    encoding_option,
    input_path,
    prefixed_db_options,
)
from solver.domain import DEFAULT_CURRENCY
from solver.errors import InputError

#: ``--policy FILE`` of the commands whose output labels amounts (validate, generate).
_POLICY_OPTION = file_option(
    "--policy", "Policy TOML: its currency labels the amounts (default CNY).", dest="policy_path"
)


def _policy_currency(policy_path: Path | None) -> str:
    """The currency of the ``--policy`` file (the default, CNY, without one)."""
    if policy_path is None:
        return DEFAULT_CURRENCY
    from solver.core.policy import Policy

    return Policy.from_toml(policy_path).currency


def _money(value: float, currency: str) -> str:
    """An amount in ``currency``'s decimals (:func:`solver.core.currency.format_amount`),
    labelled with the currency."""
    from solver.core.currency import format_amount

    return f"{format_amount(value, currency)} {currency}"


@click.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@book_options("path")
@click.option(
    "--strict",
    is_flag=True,
    help="Treat unknown columns as errors instead of warnings.",
)
@file_option(
    "--tiering", "Tiering rules TOML for blank tiers (default: the built-in SPEC §5 rules)."
)
@click.option(
    "--sheet", default=None, help="Excel sheet to read (default: 'portfolio' or the first)."
)
@file_option(
    "--forecast",
    "Also check an income forecast table (.csv, .parquet, .xlsx: account_id, month, "
    "income and/or inflow) against the portfolio.",
    dest="forecast_path",
)
@prefixed_db_options("forecast_path", "forecast-", "forecast")
@_POLICY_OPTION
@format_option(
    "Here json is the report (valid, counts, every issue with file, row, account_id, "
    "column and message, and the summary tables); csv is one row per issue and a last "
    "summary row."
)
@out_option(
    "the report",
    "One row per issue (severity, file, row, account_id, column, message) and a summary "
    "row; .json holds the whole report, .xlsx also a sheet of the summary tables. The "
    "report is written for an invalid file too (the exit code is then 2).",
    dest="out_path",
)
def validate(
    path: Any,
    strict: bool,
    tiering: Path | None,
    sheet: str | None,
    forecast_path: Any,
    policy_path: Path | None,
    fmt: str,
    out_path: Path | None,
) -> int:
    """Check a portfolio (CSV, Parquet, Excel, a database table) or one account (TOML, JSON)
    and summarise it.

    Exit code 0 when every row is valid; 2 with every problem listed (file, row,
    account_id, column) otherwise. With --format json|csv or --out the problems are also
    a machine-readable report (one record per issue); stderr then has one line.

    \b
    Examples:
      workout validate tests/data/portfolio/tiny.csv
      workout validate out/small.xlsx --sheet portfolio --strict
      workout validate tests/data/forecast/portfolio.csv --forecast tests/data/forecast/long.csv
      workout validate out/portfolio.csv --format json --out out/report.json
      workout validate out/cn_export.csv --columns scenarios/layouts/cn_core_banking.toml
      workout validate --db sqlite:///bank.db --table accounts
    """
    import time

    from commands.validate_report import print_summary, summary_long, validation_report
    from solver.core.book_check import check_book

    inputs = {
        "PATH": input_path(path),
        "--tiering": tiering,
        "--forecast": input_path(forecast_path),
        "--policy": policy_path,
    }
    check_out(out_path, inputs=inputs)
    currency = _policy_currency(policy_path)
    report = fmt != "table" or out_path is not None
    started = time.perf_counter()
    book = check_book(path, tiering=tiering, strict=strict, sheet=sheet, forecast=forecast_path)
    elapsed = time.perf_counter() - started
    error, seen, summary, n = book.error, book.warnings, book.summary, book.accounts
    if error is not None and not report:
        raise error
    err = console(stderr=True)
    if fmt == "table" or error is None:
        for message in seen:
            err.print(f"[yellow]warning:[/] {message}", highlight=False)
    if report:
        sources = [str(p) for p in (path, *inputs.values()) if p is not None]
        payload, table = validation_report(
            path, error, seen, n if error is None else 0, summary, sources
        )
        if out_path is not None:
            sheets = {"issues": table}
            if summary is not None:
                sheets["summary"] = summary_long(summary)
            write_out(out_path, table, sheet_name="issues", payload=payload, sheets=sheets)
        if emit(fmt, table=table, payload=payload):
            if error is not None:
                echo_error(f"{error.args[0]} (see the report)")
                return 2
            wrote(out_path, fmt)
            return 0
        if error is not None:
            raise error
    assert summary is not None
    out = console(min_width=120)
    out.print(
        f"[bold green]OK[/] {path}: {n:,} account{'s' if n != 1 else ''} valid ({elapsed:.2f} s)",
        highlight=False,
    )
    print_summary(out, summary, book.first if n == 1 else None, currency)
    wrote(out_path, fmt, out)
    return 0


@click.group("generate")
def generate() -> None:
    """Generate synthetic sample data.

    \b
    Example:
      workout generate portfolio --n 2000 --seed 7 --out out/portfolio.csv
    """


@generate.command("portfolio")
@click.option(
    "--n",
    "n",
    type=click.IntRange(1, MAX_GENERATED_ACCOUNTS),
    default=1000,
    show_default=True,
    help=f"Number of accounts (at most {MAX_GENERATED_ACCOUNTS:,}, and what fits in memory: "
    f"about {GENERATE_BYTES_PER_ACCOUNT / 1024:.1f} kB per account).",
)
@seed_option()
@out_option("the portfolio", required=True)
@quiet_option()
@format_option(
    "Here json is what was written (accounts by product, totals, seed); csv the portfolio."
)
@click.option(
    "--auto-share",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Share of auto loans (the rest are card instalments); default 0.45.",
)
@click.option(
    "--history",
    "history_months",
    type=click.IntRange(1, 120),
    default=None,
    help="Also write MONTHS of monthly payment history drawn from the behaviour model "
    "(docs/history.md) beside the book, as <out stem>_history<ext>.",
)
@columns_option(
    "Write the book in a bank's layout (a column-mapping TOML, e.g. "
    "scenarios/layouts/cn_core_banking.toml): its column names, values and scales."
)
@encoding_option(
    "Text encoding of a CSV --out (default UTF-8), e.g. GB18030 like a Chinese export."
)
@_POLICY_OPTION
def generate_portfolio_command(
    n: int,
    seed: int,
    out: Path,
    quiet: bool,
    fmt: str,
    auto_share: float | None,
    history_months: int | None,
    columns_path: Path | None,
    encoding: str | None,
    policy_path: Path | None,
) -> int:
    """A synthetic delinquent auto-loan / card-instalment portfolio (same seed, same bytes).

    The distributions are documented in the solver.core.generate module.

    \b
    Examples:
      workout generate portfolio --n 2000 --seed 7 --out out/portfolio.csv
      workout generate portfolio --n 100000 --auto-share 0.6 --out out/big.parquet
      workout generate portfolio --n 50 --out out/small.xlsx --format json
      workout generate portfolio --n 2000 --seed 7 --history 12 --out out/portfolio.csv
      workout generate portfolio --n 200 --columns scenarios/layouts/cn_core_banking.toml \\
          --encoding GB18030 --out out/cn_export.csv
    """
    import contextlib
    import time

    from solver.core.files import text_codec
    from solver.core.writers import output_format

    # a bad extension, a bad --encoding, a size that cannot fit or an unwritable --out fail
    # here, before any work or output
    out_format = output_format(out, option="--out")
    if encoding is not None:
        if out_format != "csv":
            raise InputError(f"--encoding applies to a CSV --out, not {out}")
        text_codec(encoding)
    if out_format == "excel":
        check_count("--n", n, MAX_XLSX_ROWS, "accounts in an .xlsx sheet (use .csv or .parquet)")
    check_memory("--n", n, GENERATE_BYTES_PER_ACCOUNT, "generating the portfolio")
    check_out(out)
    currency = _policy_currency(policy_path)  # a bad policy fails here, before any work
    from solver.core.history_sim import history_path

    months = history_months or 0
    history_out = history_path(str(out)) if months else None
    if history_out is not None:
        if output_format(history_out, option="--history") == "excel":
            check_count(
                "--history",
                n * (months + 1),
                MAX_XLSX_ROWS,
                "history rows in an .xlsx sheet (use .csv or .parquet)",
            )
        check_out(Path(history_out))
    from solver.core.layouts import read_layout
    from solver.core.sample_book import write_sample_book

    layout = read_layout(columns_path) if columns_path is not None else None
    mix = (
        None if auto_share is None else {"auto_loan": auto_share, "card_instalment": 1 - auto_share}
    )
    err = console(stderr=True)
    started = time.perf_counter()
    spinner: Any = (
        contextlib.nullcontext(None)
        if quiet
        else err.status(f"generating {n:,} accounts (seed {seed})...")
    )
    with spinner as status:
        frame, history = write_sample_book(
            n,
            seed,
            out,
            product_mix=mix,
            layout=layout,
            encoding=encoding,
            history_out=history_out,
            months=months,
            on_step=None if status is None else status.update,
        )
    elapsed = time.perf_counter() - started
    counts = frame["product"].value_counts()
    payload = {
        "out": str(out),
        "accounts": n,
        "by_product": {p: int(counts.get(p, 0)) for p in ("auto_loan", "card_instalment")},
        "principal": round(float(frame["principal"].sum()), 2),
        "arrears": round(float(frame["arrears"].sum()), 2),
        "seed": seed,
    }
    if history is not None:
        payload["history"] = {"out": history_out, "months": history_months, "rows": len(history)}
    if emit(fmt, table=frame, payload=payload):
        return 0
    mix_text = ", ".join(f"{p} {counts.get(p, 0):,}" for p in ("auto_loan", "card_instalment"))
    stdout = console(min_width=160)
    stdout.print(
        f"wrote {out}: {n:,} accounts ({mix_text}); principal "
        f"{_money(frame['principal'].sum(), currency)}, arrears "
        f"{_money(frame['arrears'].sum(), currency)}; seed {seed}; {elapsed:.1f} s",
        highlight=False,
    )
    if history is not None:
        stdout.print(
            f"wrote {history_out}: {len(history):,} account-months over {history_months} months "
            f"(behaviour model, seed {seed})",
            highlight=False,
        )
    return 0
