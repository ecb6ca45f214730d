"""``workout risk score`` and ``workout risk calibrate``: score accounts with an
early-warning model; calibrate the behaviour model's hazards (SPEC §7).

The analytics and numpy are imported inside the commands (start-up time, as in
:mod:`commands.risk`).
"""

from __future__ import annotations

from typing import Any

import click

from commands.common import console
from commands.engine_opts import (
    DATASET_OUT_HELP,
    DatasetOrFile,
    check_dataset_output,
    engine_options,
    is_dataset_output,
    progress_bar,
)
from commands.options import choice_option, file_option, quiet_option
from commands.output import emit, out_help, write_out
from commands.risk_options import (
    chart_options,
    chart_path,
    check_outputs,
    confidence_option,
    default_dpd_option,
    table_source,
)
from commands.risk_output import echo_json, hazard_table, score_table, transition_table
from commands.risk_tables import print_table
from commands.sources import history_options, input_path
from solver.errors import InputError


@click.command("score")
@click.argument("portfolio", required=False, type=click.Path())
@history_options("portfolio")
@file_option(
    "--ew-model",
    "Early-warning model TOML written by `workout risk fit` (required).",
    dest="model_path",
)
@click.option(
    "--model",
    "model",
    type=click.Path(dir_okay=False),
    default=None,
    hidden=True,
    deprecated="Use --ew-model (--model is the behaviour model in every other command).",
    help="Deprecated spelling of --ew-model.",
)
@click.option(
    "--out",
    required=True,
    type=DatasetOrFile(),
    help=out_help(
        "the scores",
        DATASET_OUT_HELP,
    ),
)
@chart_options(
    format_detail="Here json is the summary by tier; csv the scores (not with a dataset --out)."
)
@quiet_option()
@engine_options
def score(portfolio, model_path, model, out, png, no_png, fmt, quiet, engine) -> None:
    """Score PORTFOLIO (a UCI-layout table or a payment history): PD, tier, hazard.

    The model decides which: a UCI model scores UCI tables, a history model (history-v1)
    payment histories (and UCI tables through their history adapter). The output has
    account_id, the PD, tier and base_hazard (the tier's monthly hazard). The PD column is
    named by the model's horizon: pd_next_month for a UCI model (and a history model of
    --horizon 1), pd_3m for default within 3 months (a history model's default horizon).
    When PORTFOLIO has the default flag it also has exposure_months and defaults,
    so it can be passed to `workout risk calibrate`. PORTFOLIO may be a Parquet dataset
    directory and --out a directory: the partitions are then read and written by the
    workers (--engine dask) and no chart is drawn. A history-v1 model (fitted on a payment
    history) scores in this process, an account's months together; the workers then only
    write a dataset --out.

    \b
    Examples:
      workout risk score tests/data/risk/uci_tiny.csv --ew-model out/ew.toml --out out/scores.csv
      workout risk score --db sqlite:///bank.db --query "SELECT * FROM history" \\
          --ew-model out/ew_history.toml --out out/scores.csv
      workout risk score book_dataset/ --ew-model out/ew.toml --out out/scores/ \\
          --engine dask --workers 4
    """
    if model is not None:  # the deprecated spelling --model
        if model_path is not None:
            raise click.UsageError("give --ew-model once (--model is its deprecated spelling)")
        model_path = model
    if model_path is None:
        raise click.UsageError("Missing option '--ew-model' (the model of `workout risk fit`).")
    portfolio = table_source(portfolio, "PORTFOLIO")
    from solver.core.writers import output_format
    from solver.risk.early_warning import EarlyWarningModel
    from solver.risk.scoring import score_book

    dataset_out = is_dataset_output(out)
    if not dataset_out:
        output_format(out, option="--out")
    elif fmt == "csv":
        raise InputError(
            f"--format csv prints the scores, and --out {out} is a dataset directory written "
            "in parts by the workers: give a file (--out scores.csv) or use --format json"
        )
    png_path = None if dataset_out else chart_path(png, no_png, out, "risk_score.png")
    inputs = {"PORTFOLIO": input_path(portfolio), "--ew-model": model_path}
    checked = None  # the dataset --out as checked: the engine does not check it again
    if dataset_out:
        checked = check_dataset_output(out, inputs=inputs)
    else:
        check_outputs(inputs, ("--out", out, False), ("--png", png_path, False))
    model = EarlyWarningModel.read(model_path)
    # which scoring applies (history model, engine, this process): solver.risk.scoring
    run = score_book(
        model,
        portfolio,
        open_engine=engine.open,
        distributed=engine.distributed,
        out=checked,
        partitions=engine.partitions,
        progress=lambda: progress_bar("scoring", fmt == "table" and not quiet),
    )
    if not dataset_out:
        write_out(out, run.scores, sheet_name="scores")
        if png_path is not None:
            from solver.risk.plots import score_chart

            score_chart(run.scores, model.pd_bands, png_path)
    if fmt == "csv":
        emit(fmt, table=run.scores)
        return
    if fmt == "json":
        echo_json(
            {
                "n_accounts": run.n_scored,
                "pd_column": run.pd_column,
                "out": out,
                "png": str(png_path) if png_path else None,
                "tiers": [{"tier": t, **row} for t, row in run.summary.iterrows()],
            }
        )
        return
    con = console()
    print_table(con, score_table(run))
    con.print(f"wrote {out}" + (f" and {png_path}" if png_path else ""))


# --------------------------------------------------------------------------- calibrate


@click.command("calibrate")
@click.argument("outcomes", required=False, type=click.Path(dir_okay=False))
@history_options("outcomes")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Behaviour-model TOML to write."
)
@file_option(
    "--base", "Behaviour TOML whose other parameters are kept (default: built-in defaults)."
)
@click.option(
    "--kappa/--no-kappa",
    "estimate_kappa",
    default=None,
    help="Estimate kappa (needs account-month rows with afford_prob; default: when the data allow).",
)
@choice_option(
    "--interval",
    ["binomial", "poisson"],
    "Exact interval of each tier's hazard: binomial (Clopper-Pearson) or Poisson "
    "(Garwood, also valid for fractional exposure months).",
)
@confidence_option
@file_option(
    "--book",
    "History OUTCOMES: the book (SPEC §3) giving each account's tier and income; "
    "with it kappa is estimated from the affordability of each month's amount due.",
)
@default_dpd_option("History OUTCOMES: dpd at which a month is in default (as is a charge-off).")
@chart_options(
    format_detail="Here json is the calibration (hazards, intervals, kappa); csv the hazard "
    "table by tier."
)
def calibrate(
    outcomes,
    out,
    base,
    estimate_kappa,
    interval,
    confidence,
    book,
    default_dpd,
    png,
    no_png,
    fmt,
) -> None:
    """Calibrate base monthly hazards by tier (and kappa) from OUTCOMES; write a behaviour TOML.

    OUTCOMES has tier (A-E), defaults and exposure_months (default 1, also for a blank
    cell). The written hazards never decrease from A to E: tiers whose estimates invert are
    pooled (PAVA weighted by exposure months) and the output says which. Account-month rows
    may carry afford_prob, which lets kappa be estimated. `workout risk score` output of a
    file with outcomes is a valid OUTCOMES table, but scores of the UCI file fail the sanity
    check below (UCI's event is a delinquency transition, not default). OUTCOMES may also be
    a payment history
    (docs/history.md): hazards are then calibrated on its default events (charge-off or
    --default-dpd), kept apart from delinquency transitions, with --book for tiers and kappa.

    The model is written only if it passes the sanity check: on
    scenarios/sample_account.toml the status quo's PD within 12 months is within 2-85 % and
    some plan passes the NPV test; otherwise exit 2 with the reasons and nothing written.

    \b
    Examples:
      workout risk calibrate --db sqlite:///bank.db --table history --book out/portfolio.csv \\
          --out out/behaviour.toml --no-png
      workout risk calibrate tests/data/risk/outcomes_small.csv --base scenarios/behaviour.toml --interval poisson \\
          --out out/behaviour.toml --no-png
      workout risk calibrate out/portfolio_history.csv --book out/portfolio.csv \\
          --out out/behaviour.toml --no-png
    """
    from solver.risk.behaviour_toml import (
        calibrated_params,
        read_behaviour_toml,
        write_behaviour_toml,
    )
    from solver.risk.history import DefaultDefinition
    from solver.risk.sanity import check_behaviour
    from solver.risk.transitions import BookError, calibrate_table

    outcomes = table_source(outcomes, "OUTCOMES")
    png_path = chart_path(png, no_png, out, "risk_calibrate.png")
    check_outputs(
        {"OUTCOMES": input_path(outcomes), "--base": base, "--book": book},
        ("--out", out, False),
        ("--png", png_path, False),
    )
    base_params = read_behaviour_toml(base) if base else None
    try:
        result, history_result = calibrate_table(
            outcomes,
            base_params,
            book=book,
            definition=DefaultDefinition(dpd_threshold=default_dpd),
            estimate_kappa=estimate_kappa,
            confidence=confidence,
            interval=interval,
        )
    except BookError as exc:  # the option's name belongs here, not in solver/
        raise InputError(exc.naming("the book (--book)")) from None
    params = calibrated_params(result, base_params)
    check = check_behaviour(params)
    if not check.passed:
        raise InputError(
            f"{outcomes}: the calibrated model fails the sanity check; nothing written",
            [*check.reasons, result.summary().splitlines()[-1]],
        )
    write_behaviour_toml(out, result, base_params, source=_source_name(outcomes))
    if png_path is not None:
        from solver.risk.plots import hazard_chart

        hazard_chart(result, png_path)
    fallback = (base_params or {}).get("base_hazard")
    if fmt == "csv":
        emit(fmt, table=result.written_frame(fallback))
        return
    if fmt == "json":
        # each tier's "written" is the TOML's base_hazard (the same fallback, so the same numbers)
        payload = (history_result or result).to_dict(fallback)
        payload.update(
            {"out": out, "png": str(png_path) if png_path else None, "sanity": check.to_dict()}
        )
        echo_json(payload)
        return
    con = console()
    if history_result is not None:
        print_table(con, transition_table(history_result))
    print_table(con, hazard_table(result, fallback, confidence))
    pooling = result.pooling_note(fallback)
    if pooling is not None:
        con.print(f"note: {pooling}", highlight=False)
    con.print(result.summary().splitlines()[-1])
    con.print(check.summary())
    con.print(f"wrote {out}" + (f" and {png_path}" if png_path else ""))


def _source_name(outcomes: Any) -> str:
    """The ``source`` a behaviour TOML records: the file's name, or ``TABLE@URL``."""
    path = input_path(outcomes)
    return path.name if path is not None else str(outcomes)
