"""`workout risk`: roll rates, early-warning fit and scoring, hazard calibration (SPEC §7).

Parse options, call :mod:`solver.risk`, format (:mod:`commands.risk_output`). This module has
the group and ``rollrates``; ``fit`` is in :mod:`commands.risk_fit`, ``score`` and ``calibrate``
in :mod:`commands.risk_score`, their shared options in :mod:`commands.risk_options`. The analytics
(:mod:`solver.risk`, with pandas and scipy), :mod:`solver.core.readers`, numpy and rich are
imported inside the commands and the helpers that format: ``workout risk --help`` and a
usage error import only this module and the light ones it names at the top (start-up time).
"""

from __future__ import annotations

import click

from commands.options import choice_option
from commands.output import emit, out_help, write_out
from commands.risk_fit import fit
from commands.risk_options import (
    DATA_DIR_OPTION,
    chart_options,
    chart_path,
    check_outputs,
    confidence_option,
    table_source,
)
from commands.risk_output import echo_json, print_rollrates, rollrates_payload
from commands.risk_score import calibrate, score
from commands.sources import history_options, input_path


@click.group(name="risk")
def risk() -> None:
    """Roll rates, early-warning scores and behaviour-model calibration (SPEC §7).

    UCI's event is a delinquency transition, not default: fit and score on it, but calibrate
    the behaviour model from a payment history (here a generated one).

    \b
    Examples:
      workout risk rollrates --uci --no-png
      workout risk fit --uci --out out/ew.toml --no-png
      workout generate portfolio --n 4000 --history 9 --out out/book.csv
      workout risk fit out/book_history.csv --out out/ew_history.toml --no-png
      workout risk score out/book_history.csv --ew-model out/ew_history.toml \\
          --out out/scores.csv --no-png
      workout risk calibrate out/book_history.csv --book out/book.csv \\
          --out out/behaviour.toml --no-png
    """


# --------------------------------------------------------------------------- rollrates


for _command in (fit, score, calibrate):  # defined in their own modules (size)
    risk.add_command(_command)


@risk.command("rollrates")
@click.argument("panel", required=False, type=click.Path(dir_okay=False))
@history_options("panel")
@click.option(
    "--uci",
    is_flag=True,
    help="Use ../shared/data/credit/UCI_Credit_Card.csv (adapted to a panel).",
)
@DATA_DIR_OPTION
@click.option("--segment", help="Segment column (value at the start month), e.g. limit_band.")
@click.option("--weight", help="Balance column for balance-weighted roll rates, e.g. balance.")
@choice_option(
    "--interval", ["wilson", "goodman"], "Per-cell Wilson or simultaneous Goodman intervals."
)
@confidence_option
@click.option(
    "--lgd",
    type=float,
    default=1.0,
    show_default=True,
    help="Loss given charge-off for the expected loss.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help=out_help("the long transition table (segment, from_state, to_state, count, ...)"),
)
@chart_options(
    "Heatmap path (default: next to --out, else rollrates.png).",
    "Do not write the heatmap.",
    "Here json is the matrices with counts and intervals and the absorbing-chain summary; "
    "csv the long transition table.",
)
def rollrates(
    panel, uci, data_dir, segment, weight, interval, confidence, lgd, out, png, no_png, fmt
) -> None:
    """Monthly roll-rate matrices (with intervals) from a status PANEL.

    PANEL has account_id, month, dpd_bucket (M0..M4+, paid, charged_off) or dpd, and
    optional balance and segment columns. A UCI credit-card file is adapted
    automatically. With paid/charged_off states the absorbing-chain summary and the
    expected loss of the latest month's balances are shown too.

    \b
    Examples:
      workout risk rollrates tests/data/risk/panel_small.csv --out out/rollrates.csv
      workout risk rollrates --uci --segment limit_band --interval goodman --no-png
      workout risk rollrates tests/data/risk/panel_small.csv --no-png --format csv
      workout risk rollrates --db sqlite:///bank.db --table history --no-png
    """
    from solver.core.writers import output_format
    from solver.risk.panel import read_panel
    from solver.risk.reports import rollrate_report

    source = table_source(panel, "PANEL", uci=uci, data_dir=data_dir)
    if out:
        output_format(out, option="--out")
    png_path = chart_path(png, no_png, out, "rollrates.png")
    check_outputs({"PANEL": input_path(source)}, ("--out", out, False), ("--png", png_path, False))
    report = rollrate_report(
        read_panel(source),
        source=str(source),
        segment=segment,
        weight=weight,
        method=interval,
        confidence=confidence,
        lgd=lgd,
    )
    if out:
        notes = report.notes()
        table = report.result.to_frame()
        # a workbook carries the data's warnings on a sheet; CSV and Parquet have no place
        sheets = {"rollrates": table, "notes": _notes_frame(notes)} if notes else None
        write_out(out, table, sheet_name="rollrates", sheets=sheets)
    if png_path is not None:
        from solver.risk.plots import roll_rate_heatmap

        roll_rate_heatmap(report.result.overall, png_path)
    if fmt == "csv":
        emit(fmt, table=report.result.to_frame())
        if report.chain_note:  # stdout holds the table alone
            click.echo(f"note: {report.chain_note}", err=True)
    elif fmt == "json":
        echo_json(rollrates_payload(report, interval, confidence, weight, out, png_path))
    else:
        print_rollrates(report, segment, weight, (out, png_path))


def _notes_frame(notes: tuple[str, ...]) -> object:
    """The ``notes`` sheet of a workbook ``--out``: one note a row."""
    import pandas as pd

    return pd.DataFrame({"note": list(notes)})


# --------------------------------------------------------------------------- fit
