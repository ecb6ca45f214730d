"""``workout experiment split|evaluate``: champion/challenger splits and their evaluation.

The ``solver`` modules and rich are imported inside the commands, so that ``workout --help``
and the other commands start without loading pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.options import seed_option
from commands.output import check_out, emit, format_option, out_option, write_out, wrote
from commands.tables import Column, print_fitted


@click.group("experiment")
def experiment() -> None:
    """Champion/challenger: stratified splits and the evaluation of their outcomes.

    \b
    Examples:
      workout generate portfolio --n 2000 --seed 7 --out out/portfolio.csv
      workout experiment split out/portfolio.csv --share 0.1 --out out/split.csv
      workout experiment evaluate tests/data/scenario/outcomes.csv --out-dir out/experiment
    """


@experiment.command("split")
@click.argument("portfolio", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--share",
    type=float,
    default=0.1,
    show_default=True,
    help="Share of accounts in the challenger group.",
)
@seed_option("Here: the random draw within each stratum.")
@click.option(
    "--strata",
    default="tier,dpd_bucket",
    show_default=True,
    help="Comma-separated columns to stratify by ('' for none).",
)
@out_option(
    "the assignment",
    "Its columns are account_id, group and the --strata columns (by default: account_id, "
    "group, tier, dpd_bucket).",
    required=True,
)
@format_option("Here json is the summary by stratum; csv the assignment.")
def split(portfolio: Path, share: float, seed: int, strata: str, out: Path, fmt: str) -> int:
    """Split PORTFOLIO into champion and challenger groups, stratified and seeded.

    \b
    Examples:
      workout experiment split out/portfolio.csv --out out/split.csv
      workout experiment split out/portfolio.csv --share 0.2 --strata tier --seed 3 \\
          --out out/split.parquet
    """
    from rich.table import Table

    from commands.common import console
    from solver.core.readers import read_portfolio
    from solver.scenarios.experiment import split_portfolio

    check_out(out, inputs={"PORTFOLIO": portfolio})
    frame = read_portfolio(portfolio)
    columns = [c.strip() for c in strata.split(",") if c.strip()]
    result = split_portfolio(frame, share, seed=seed, strata=columns, source=str(portfolio))
    write_out(out, result.table, sheet_name="split")
    payload = {"portfolio": str(portfolio), "share": share, "seed": seed, "strata": columns}
    payload["summary"] = result.summary
    if emit(fmt, table=result.table, payload=payload):
        wrote(out, fmt)
        return 0
    stdout = console(min_width=120)
    table = Table(
        title=f"Champion/challenger split of {portfolio} (share {share:g}, seed {seed})",
        title_justify="left",
    )
    for column in ("stratum", "accounts", "challenger", "challenger share"):
        table.add_column(column, justify="left" if column == "stratum" else "right")
    for row in result.summary.itertuples(index=False):
        table.add_row(
            str(row.stratum),
            f"{row.accounts:,}",
            f"{row.challenger:,}",
            f"{row.challenger_share:.1%}",
        )
    n = len(result.table)
    k = int((result.table["group"] == "challenger").sum())
    table.add_row("total", f"{n:,}", f"{k:,}", f"{k / n:.1%}", style="bold")
    stdout.print(table)
    stdout.print(f"wrote {out}", highlight=False)
    return 0


@experiment.command("evaluate")
@click.argument("outcomes", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for uplift.csv, groups.csv, report.xlsx and report.html.",
)
@format_option("Here json is the uplift table with the notes; csv the uplift table.")
def evaluate(outcomes: Path, out_dir: Path, fmt: str) -> int:
    """Uplift of the challenger over the champion in OUTCOMES, with intervals and tests.

    OUTCOMES has columns account_id, group (champion/challenger), balance, collected,
    cured and optionally cost, tier, dpd_bucket, product (see solver.scenarios.experiment_outcomes).

    \b
    Example:
      workout experiment evaluate tests/data/scenario/outcomes.csv --out-dir out/experiment
    """
    from commands.common import console
    from solver.core.atomic import check_writable
    from solver.scenarios.experiment_eval import evaluate_outcomes, write_evaluation
    from solver.scenarios.experiment_outcomes import read_outcomes

    check_writable(out_dir, option="--out-dir", directory=True)
    frame = read_outcomes(outcomes)
    result = evaluate_outcomes(frame)
    written = write_evaluation(result, out_dir)
    payload = {
        "outcomes": str(outcomes),
        "uplift": result.uplift,
        "notes": list(result.notes),
        "files": [str(p) for p in written],
    }
    if emit(fmt, table=result.uplift, payload=payload):
        return 0
    stdout = console(min_width=140)
    columns = (
        Column("metric", "left", 0),
        Column("champion", "right", 4),
        Column("challenger", "right", 5),
        Column("uplift", "right", 1),
        Column("95% CI", "right", 3, wraps=True),
        Column("test", "left", 7),
        Column("p-value", "right", 2),
        Column("significant", "right", 6, short="signif-\nicant"),
    )
    rows = [(_uplift_cells(row), None) for row in result.uplift.itertuples(index=False)]
    print_fitted(stdout, f"Champion/challenger evaluation of {outcomes}", columns, rows)
    for note in result.notes:
        stdout.print(f"- {note}", highlight=False)
    stdout.print(f"wrote {len(written)} files to {out_dir}", highlight=False)
    return 0


def _uplift_cells(row: Any) -> list[str]:
    """The terminal cells of one uplift row; a metric without variance has no interval,
    p-value or verdict ("n/a": its note says it is not testable)."""
    from solver.scenarios.experiment_stats import is_testable

    testable = is_testable(row.p_value)
    return [
        row.metric,
        f"{row.champion:.4f}",
        f"{row.challenger:.4f}",
        f"{row.uplift:+.4f}",
        f"{row.ci_low:+.4f} .. {row.ci_high:+.4f}" if testable else "n/a",
        row.test,
        f"{row.p_value:.4f}" if testable else "n/a",
        ("yes" if row.significant else "no") if testable else "n/a",
    ]
