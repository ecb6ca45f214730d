"""``workout validate`` and ``workout generate portfolio``: data commands (parse, call, format)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.common import GENERATE_BYTES_PER_ACCOUNT, MAX_GENERATED_ACCOUNTS, SEED, shared_help


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _field_text(name: str, value: object) -> str:
    """One field of a validated account for the detail table."""
    from solver.account import sequence_text

    if name == "income_normal" and isinstance(value, float) and value != value:
        return "= income (not given)"
    if name in ("income_forecast", "inflows"):
        text = sequence_text(value)
        if text is None:
            return "—"
        count = len(value)  # type: ignore[arg-type]
        what = "month" if name == "income_forecast" else "inflow"
        shown = text if len(text) <= 60 else text[:57] + "..."
        return f"{shown} ({count} {what}{'s' if count != 1 else ''})"
    return str(value)


@click.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--strict",
    is_flag=True,
    help="Treat unknown columns as errors instead of warnings.",
)
@click.option(
    "--tiering",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tiering rules TOML for blank tiers (default: the built-in SPEC §5 rules).",
)
@click.option(
    "--sheet", default=None, help="Excel sheet to read (default: 'portfolio' or the first)."
)
@click.option(
    "--forecast",
    "forecast_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also check an income forecast table (.csv, .parquet, .xlsx: account_id, month, "
    "income and/or inflow) against the portfolio.",
)
def validate(
    path: Path, strict: bool, tiering: Path | None, sheet: str | None, forecast_path: Path | None
) -> int:
    """Check a portfolio (CSV, Parquet, Excel) or one account (TOML, JSON) and summarise it.

    Exit code 0 when every row is valid; 2 with every problem listed (file, row,
    account_id, column) otherwise.

    \b
    Examples:
      workout validate tests/data/portfolio/tiny.csv
      workout validate book.xlsx --sheet portfolio --strict
      workout validate out/portfolio.csv --forecast forecast.csv
    """
    import time
    import warnings

    from rich.table import Table

    from commands.common import console
    from solver.account import InputWarning, merge_summaries, summarize_portfolio
    from solver.io import iter_portfolio

    started = time.perf_counter()
    # large CSV/Parquet files are validated in chunks (bounded memory); only the summary of
    # each chunk is kept (docs/reliability.md, limits)
    parts = []
    n = 0
    first = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        for chunk in iter_portfolio(
            path,
            tiering=tiering,
            unknown_columns="error" if strict else None,
            sheet=sheet,
            forecast=forecast_path,
        ):
            parts.append(summarize_portfolio(chunk))
            n += len(chunk)
            first = chunk if first is None else first
    elapsed = time.perf_counter() - started
    err = console(stderr=True)
    for w in caught:
        if issubclass(w.category, InputWarning):
            err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    out = console(min_width=120)
    out.print(
        f"[bold green]OK[/] {path}: {n:,} account{'s' if n != 1 else ''} valid ({elapsed:.2f} s)",
        highlight=False,
    )
    summary = merge_summaries(parts)
    money_columns = ["principal", "arrears", "interest_due", "fees_due", "vehicle_value"]
    for key, title in (
        ("by_product", "By product"),
        ("by_tier", "By tier"),
        ("by_dpd_bucket", "By dpd bucket"),
    ):
        table = Table(title=f"{title} (amounts in CNY)", title_justify="left")
        table.add_column(key.removeprefix("by_"))
        table.add_column("accounts", justify="right")
        table.add_column("share", justify="right")
        for m in money_columns:
            table.add_column(m, justify="right")
        rows = summary[key]
        for label, row in rows.iterrows():
            style = "bold" if label == "total" else None
            table.add_row(
                str(label),
                f"{int(row['accounts']):,}",
                f"{row['share']:.1%}",
                *(_money(row[m]) for m in money_columns),
                style=style,
            )
        out.print(table)
    flags = Table(title="Flags", title_justify="left")
    flags.add_column("flag")
    flags.add_column("accounts", justify="right")
    flags.add_column("share", justify="right")
    for label, row in summary["flags"].iterrows():
        flags.add_row(str(label), f"{int(row['accounts']):,}", f"{row['share']:.1%}")
    out.print(flags)
    if n == 1 and first is not None:
        record = first.iloc[0]
        detail = Table(title=f"Account {record['account_id']}", title_justify="left")
        detail.add_column("field")
        detail.add_column("value")
        for name, value in record.items():
            detail.add_row(str(name), _field_text(str(name), value))
        out.print(detail)
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
@click.option("--seed", type=SEED, default=0, show_default=True, help=shared_help("--seed"))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output file; the format comes from the extension: .csv, .parquet or .xlsx.",
)
@click.option("--quiet", is_flag=True, help=shared_help("--quiet"))
@click.option(
    "--auto-share",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Share of auto loans (the rest are card instalments); default 0.45.",
)
def generate_portfolio_command(
    n: int, seed: int, out: Path, quiet: bool, auto_share: float | None
) -> int:
    """A synthetic delinquent auto-loan / card-instalment portfolio (same seed, same bytes).

    The distributions are documented in the solver.generate module.

    \b
    Examples:
      workout generate portfolio --n 2000 --seed 7 --out out/portfolio.csv
      workout generate portfolio --n 100000 --auto-share 0.6 --out out/big.parquet
    """
    import contextlib
    import time

    from commands.common import MAX_XLSX_ROWS, check_count, check_memory, console
    from solver.atomic import check_writable
    from solver.io import output_format, write_table

    # a bad extension, a size that cannot fit or an unwritable --out fail here, before any
    # work or output
    if output_format(out) == "excel":
        check_count("--n", n, MAX_XLSX_ROWS, "accounts in an .xlsx sheet (use .csv or .parquet)")
    check_memory("--n", n, GENERATE_BYTES_PER_ACCOUNT, "generating the portfolio")
    check_writable(out)
    from solver.generate import generate_portfolio

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
        frame = generate_portfolio(n, seed, product_mix=mix)
        if status is not None:
            status.update(f"writing {out}...")
        write_table(frame, out)
    elapsed = time.perf_counter() - started
    counts = frame["product"].value_counts()
    mix_text = ", ".join(f"{p} {counts.get(p, 0):,}" for p in ("auto_loan", "card_instalment"))
    stdout = console(min_width=160)
    stdout.print(
        f"wrote {out}: {n:,} accounts ({mix_text}); principal {_money(frame['principal'].sum())} "
        f"CNY, arrears {_money(frame['arrears'].sum())} CNY; seed {seed}; {elapsed:.1f} s",
        highlight=False,
    )
    return 0
