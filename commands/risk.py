"""`workout risk`: roll rates, early-warning fit and scoring, hazard calibration (SPEC §7).

Parse options, call :mod:`solver.risk`, format (:mod:`commands.risk_output`). The analytics
(:mod:`solver.risk`, with pandas and scipy), :mod:`solver.core.readers`, numpy and rich are
imported inside the commands and the helpers that format: ``workout risk --help`` and a
usage error import only this module and the light ones it names at the top (start-up time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from commands.common import (
    choice_option,
    console,
    file_option,
    int_option,
    quiet_option,
    seed_option,
    stack_options,
)
from commands.engine_opts import engine_options, is_dataset_output, progress_bar
from commands.output import emit, format_option, out_help, write_out
from commands.risk_output import (
    echo_json,
    fit_tables,
    hazard_table,
    print_rollrates,
    rollrates_payload,
    score_table,
    transition_table,
)
from commands.sources import history_options, input_path
from solver.core.atomic import check_writable
from solver.domain import DEFAULT_DPD
from solver.errors import InputError


def _png_path(png: str | None, no_png: bool, out: str | None, default: str) -> Path | None:
    """Where the chart goes: ``--png``, else next to ``--out``, else ``default`` in the cwd."""
    if no_png:
        return None
    if png:
        return Path(png)
    if out:
        return Path(out).with_suffix(".png")
    return Path(default)


def _check_outputs(inputs: dict[str, Any], *outputs: tuple[str, Any, bool]) -> None:
    """Refuse, before any work, outputs that cannot be written or that are inputs.

    ``outputs`` are (option, path or None, is a directory) in the order checked; two
    outputs may not be one file either (issue 15).
    """
    seen: dict[str, Any] = {}
    for option, path, directory in outputs:
        if path is None:
            continue
        check_writable(path, option=option, inputs=inputs, outputs=seen, directory=directory)
        seen[option] = path


def _table_source(
    path: Any, what: str, *, uci: bool | None = None, data_dir: str | None = None
) -> Any:
    """The table a command reads: ``path`` (a file, as a ``Path``, or a database's
    ``BookSource`` from :func:`~commands.sources.history_options`) or, in the commands
    with ``--uci`` (``uci`` not ``None``), the shared UCI file when it is set."""
    from solver.core.sources import BookSource

    if uci:
        from solver.risk.uci import require_uci_csv

        if path:
            raise click.UsageError(f"give either {what} or --uci, not both")
        return require_uci_csv(data_dir)
    if not path:
        shared = "" if uci is None else "; or --uci to use the shared UCI credit-card data"
        raise click.UsageError(
            f"missing {what} (a file, or --db URL with --table or --query{shared})"
        )
    return path if isinstance(path, BookSource) else Path(path)


def _default_dpd_option(text: str) -> Any:
    """``--default-dpd``: the dpd at which a history's account is in default (issue 18)."""
    return int_option("--default-dpd", 1, 720, DEFAULT_DPD, text)


_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Shared data directory (default $WORKOUT_DATA_DIR or ../shared/data).",
)


def _chart_options(
    png_help: str = "Chart path (default: next to --out, with the extension .png).",
    no_png_help: str = "Do not draw the chart.",
    format_detail: str = "",
) -> Callable[[Any], Any]:
    """``--png PATH``, ``--no-png`` and ``--format table|json|csv`` (the last options of a
    command; ``format_detail`` says what json and csv hold here)."""
    return stack_options(
        click.option("--png", type=click.Path(dir_okay=False), help=png_help),
        click.option("--no-png", is_flag=True, help=no_png_help),
        format_option(format_detail),
    )


# confidence level of interval estimates, shared by the commands that report intervals
_confidence_option = click.option(
    "--confidence",
    type=float,
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals, in (0, 1).",
)


@click.group(name="risk")
def risk() -> None:
    """Roll rates, early-warning scores and behaviour-model calibration (SPEC §7).

    \b
    Examples:
      workout risk rollrates --uci --no-png
      workout risk fit --uci --out out/ew.toml --behaviour-out out/behaviour.toml
      workout risk score portfolio_uci.csv --ew-model out/ew.toml --out out/scores.csv
      workout risk calibrate out/scores.csv --out out/behaviour.toml
    """


# --------------------------------------------------------------------------- rollrates


@risk.command("rollrates")
@click.argument("panel", required=False, type=click.Path(dir_okay=False))
@history_options("panel")
@click.option(
    "--uci",
    is_flag=True,
    help="Use ../shared/data/credit/UCI_Credit_Card.csv (adapted to a panel).",
)
@_DATA_DIR
@click.option("--segment", help="Segment column (value at the start month), e.g. limit_band.")
@click.option("--weight", help="Balance column for balance-weighted roll rates, e.g. balance.")
@choice_option(
    "--interval", ["wilson", "goodman"], "Per-cell Wilson or simultaneous Goodman intervals."
)
@_confidence_option
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
@_chart_options(
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
      workout risk rollrates panel.csv --out out/rollrates.csv
      workout risk rollrates --uci --segment limit_band --interval goodman --no-png
      workout risk rollrates panel.csv --no-png --format csv
      workout risk rollrates --db sqlite:///bank.db --table history --no-png
    """
    from solver.core.writers import output_format
    from solver.risk.reports import rollrate_report
    from solver.risk.rollrates import read_panel

    source = _table_source(panel, "PANEL", uci=uci, data_dir=data_dir)
    if out:
        output_format(out, option="--out")
    png_path = _png_path(png, no_png, out, "rollrates.png")
    _check_outputs({"PANEL": input_path(source)}, ("--out", out, False), ("--png", png_path, False))
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
        write_out(out, report.result.to_frame(), sheet_name="rollrates")
    if png_path is not None:
        from solver.risk.plots import roll_rate_heatmap

        roll_rate_heatmap(report.result.overall, png_path)
    if fmt == "csv":
        emit(fmt, table=report.result.to_frame())
    elif fmt == "json":
        echo_json(rollrates_payload(report, interval, confidence, weight, out, png_path))
    else:
        print_rollrates(report, segment, weight, (out, png_path))


# --------------------------------------------------------------------------- fit


def _parse_bands(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated PDs, got {text!r}") from exc


@risk.command("fit")
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@history_options("data")
@click.option("--uci", is_flag=True, help="Use ../shared/data/credit/UCI_Credit_Card.csv.")
@_DATA_DIR
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Model file to write (.toml)."
)
@seed_option("Here: the stratified split and the models.")
@click.option(
    "--test-size",
    type=float,
    default=0.3,
    show_default=True,
    help="Share of the accounts held out for the AUC, KS and calibration figures.",
)
@click.option(
    "--pd-bands",
    default="0.10,0.20,0.35,0.55",
    show_default=True,
    help="Upper PD bounds of tiers A-D.",
)
@click.option("--no-baseline", is_flag=True, help="Skip the baseline model.")
@choice_option(
    "--layout",
    ["auto", "uci", "history"],
    "auto: a UCI file is fitted on its own features, a payment history (docs/history.md) "
    "on history-v1; history: a UCI file through its history adapter (history-v1).",
)
@int_option("--window", 2, 60, 6, "History months used as features.")
@int_option("--horizon", 1, 24, 3, "History fits: predict default within this many months.")
@_default_dpd_option("History fits: dpd at which an account is in default (as is a charge-off).")
@click.option(
    "--behaviour-out",
    type=click.Path(dir_okay=False),
    help="Refused (exit 2, nothing written) with the reason: UCI's event is a delinquency "
    "transition and a history fit's tiers are PD bands; use `workout risk calibrate HISTORY`.",
)
@file_option("--base", "Behaviour TOML whose other parameters are kept.")
@_chart_options(
    format_detail="Here json is the fit (metrics, calibration, tiers); csv the tier table of "
    "the held-out set."
)
@quiet_option()
def fit(
    data,
    uci,
    data_dir,
    out,
    seed,
    test_size,
    pd_bands,
    no_baseline,
    behaviour_out,
    base,
    layout,
    window,
    horizon,
    default_dpd,
    png,
    no_png,
    fmt,
    quiet,
) -> None:
    """Fit the early-warning score on DATA: a payment history or the UCI layout.

    A payment history (account_id, month, amount_due, amount_paid, dpd, status; see
    docs/history.md) is fitted on its history-v1 features to predict default within
    --horizon months, against a logistic baseline in the same run. A UCI file keeps its
    own features and baseline (--layout history: through the history adapter).

    Seeded stratified split; AUC, KS and the calibration table on the held-out share, with
    an off-the-shelf HistGradientBoostingClassifier on the raw columns as baseline. The
    model is written as TOML (trees as data, no pickle); `workout risk score` reads it
    with --ew-model.

    \b
    Examples:
      workout risk fit --uci --out out/ew.toml
      workout risk fit out/portfolio_history.csv --out out/ew_history.toml
      workout risk fit --uci --layout history --out out/ew_uci_history.toml
      workout risk fit --db sqlite:///bank.db --table history --out out/ew_history.toml
    """
    from solver.risk.calibration import read_behaviour_toml
    from solver.risk.early_warning import EarlyWarningParams
    from solver.risk.history import DefaultDefinition
    from solver.risk.history_fit import fit_table

    source = _table_source(data, "DATA", uci=uci, data_dir=data_dir)
    if Path(out).suffix.lower() != ".toml":
        raise click.BadParameter("the model file must end in .toml", param_hint="--out")
    if behaviour_out:
        _refuse_behaviour_out(source)
    png_path = _png_path(png, no_png, out, "risk_fit.png")
    _check_outputs(
        {"DATA": input_path(source), "--base": base},
        ("--out", out, False),
        ("--png", png_path, False),
    )
    params = EarlyWarningParams(
        seed=seed, test_size=test_size, pd_bands=_parse_bands(pd_bands), baseline=not no_baseline
    )
    if base:
        read_behaviour_toml(base)  # still validated: a bad --base is an error (exit 2)
    spinner: Any = (
        contextlib.nullcontext()
        if quiet
        else console(stderr=True).status("fitting the early-warning model ...")
    )
    with spinner:
        result = fit_table(
            source,
            params,
            layout=layout,
            window=window,
            horizon=horizon,
            definition=DefaultDefinition(dpd_threshold=default_dpd),
        )
    result.model.write(out)
    if png_path is not None:
        from solver.risk.plots import fit_chart

        fit_chart(result, png_path)

    if fmt == "csv":
        emit(fmt, table=result.tiers)
        return
    if fmt == "json":
        payload = result.to_dict()
        payload.update(
            {"data": str(source), "model": out, "png": str(png_path) if png_path else None}
        )
        echo_json(payload)
        return
    con = console()
    for table in fit_tables(result):
        con.print(table)
    con.print(result.summary())
    for path in (out, png_path):
        if path:
            con.print(f"wrote {path}")


def _refuse_behaviour_out(source: Any) -> None:
    """--behaviour-out needs monthly default hazards by the book's tiers; an early-warning
    fit has neither (UCI: a delinquency event; a history: default within the horizon, by PD
    band). Refuse before any work, with the reason and the command that does it (exit 2)."""
    from solver.risk.history_fit import table_layout

    if table_layout(source) != "uci":  # the header tells; the table is not read
        raise InputError(
            f"{source}: --behaviour-out: an early-warning fit on a history predicts default "
            "within --horizon months of the accounts it scores, not the monthly hazards of the "
            "behaviour model by tier; calibrate those from the history's transitions: "
            f"workout risk calibrate {source} --book BOOK --out behaviour.toml"
        )
    raise InputError(
        f"{source}: --behaviour-out refused: the data's event is UCI's 'late next month' (a "
        "delinquency transition: any payment one month late), not default (charge-off or 90+ "
        "dpd); hazards calibrated on it are 6-70 % a month and make every plan fail the NPV "
        "test. Calibrate from a payment history instead: workout risk calibrate HISTORY "
        "(docs/history.md)"
    )


# --------------------------------------------------------------------------- score


@risk.command("score")
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
    type=click.Path(),
    help=out_help(
        "the scores",
        "A directory (a path without extension) is a partitioned Parquet dataset written by "
        "the workers.",
    ),
)
@_chart_options(
    format_detail="Here json is the summary by tier; csv the scores (not with a dataset --out)."
)
@quiet_option()
@engine_options
def score(portfolio, model_path, model, out, png, no_png, fmt, quiet, engine) -> None:
    """Score PORTFOLIO (behaviour history in the UCI layout): PD next month, tier, hazard.

    The output has account_id, pd_next_month, tier and base_hazard (the tier's monthly
    hazard); when PORTFOLIO has the default flag it also has exposure_months and defaults,
    so it can be passed to `workout risk calibrate`. PORTFOLIO may be a Parquet dataset
    directory and --out a directory: the partitions are then read and written by the
    workers (--engine dask) and no chart is drawn.

    \b
    Examples:
      workout risk score portfolio_uci.csv --ew-model out/ew.toml --out out/scores.csv
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
    portfolio = _table_source(portfolio, "PORTFOLIO")
    from solver.core.writers import output_format
    from solver.risk.early_warning import EarlyWarningModel
    from solver.risk.scoring import score_file, score_on_engine, scoring_source

    dataset_out = is_dataset_output(out)
    if not dataset_out:
        output_format(out, option="--out")
    elif fmt == "csv":
        raise InputError(
            f"--format csv prints the scores, and --out {out} is a dataset directory written "
            "in parts by the workers: give a file (--out scores.csv) or use --format json"
        )
    png_path = None if dataset_out else _png_path(png, no_png, out, "risk_score.png")
    _check_outputs(
        {"PORTFOLIO": input_path(portfolio), "--ew-model": model_path},
        ("--out", out, dataset_out),
        ("--png", png_path, False),
    )
    model = EarlyWarningModel.read(model_path)
    file = input_path(portfolio)
    if engine.distributed or dataset_out or (file is not None and file.is_dir()):
        source = scoring_source(portfolio)
        shown = fmt == "table" and not quiet
        with engine.open() as runner, progress_bar("scoring", shown) as bar:
            run = score_on_engine(
                runner,
                model,
                source,
                out=out if dataset_out else None,
                partitions=engine.partitions,
                progress=bar,
            )
    else:
        run = score_file(model, portfolio)
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
                "out": out,
                "png": str(png_path) if png_path else None,
                "tiers": [{"tier": t, **row} for t, row in run.summary.iterrows()],
            }
        )
        return
    con = console()
    con.print(score_table(run))
    con.print(f"wrote {out}" + (f" and {png_path}" if png_path else ""))


# --------------------------------------------------------------------------- calibrate


@risk.command("calibrate")
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
@_confidence_option
@file_option(
    "--book",
    "History OUTCOMES: the book (SPEC §3) giving each account's tier and income; "
    "with it kappa is estimated from the affordability of each month's amount due.",
)
@_default_dpd_option("History OUTCOMES: dpd at which a month is in default (as is a charge-off).")
@_chart_options(
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

    OUTCOMES has tier (A-E), defaults and exposure_months (default 1); account-month rows
    may carry afford_prob, which lets kappa be estimated. `workout risk score` output of a
    file with outcomes is a valid OUTCOMES table. OUTCOMES may also be a payment history
    (docs/history.md): hazards are then calibrated on its default events (charge-off or
    --default-dpd), kept apart from delinquency transitions, with --book for tiers and kappa.

    The model is written only if it passes the sanity check: on
    scenarios/sample_account.toml the status quo's PD within 12 months is within 2-85 % and
    some plan passes the NPV test; otherwise exit 2 with the reasons and nothing written.

    \b
    Examples:
      workout risk calibrate out/scores.csv --out out/behaviour.toml
      workout risk calibrate --db sqlite:///bank.db --table history --book out/portfolio.csv \\
          --out out/behaviour.toml --no-png
      workout risk calibrate outcomes.csv --base scenarios/behaviour.toml --interval poisson \\
          --out out/behaviour.toml --no-png
      workout risk calibrate out/portfolio_history.csv --book out/portfolio.csv \\
          --out out/behaviour.toml --no-png
    """
    from solver.risk.calibration import (
        calibrated_params,
        read_behaviour_toml,
        write_behaviour_toml,
    )
    from solver.risk.history import DefaultDefinition
    from solver.risk.sanity import check_behaviour
    from solver.risk.transitions import BookError, calibrate_table

    outcomes = _table_source(outcomes, "OUTCOMES")
    png_path = _png_path(png, no_png, out, "risk_calibrate.png")
    _check_outputs(
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
    check = check_behaviour(calibrated_params(result, base_params))
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
        payload = history_result.to_dict() if history_result else result.to_dict()
        payload.update(
            {"out": out, "png": str(png_path) if png_path else None, "sanity": check.to_dict()}
        )
        echo_json(payload)
        return
    con = console()
    if history_result is not None:
        con.print(transition_table(history_result))
    con.print(hazard_table(result, fallback, confidence))
    con.print(result.summary().splitlines()[-1])
    con.print(check.summary())
    con.print(f"wrote {out}" + (f" and {png_path}" if png_path else ""))


def _source_name(outcomes: Any) -> str:
    """The ``source`` a behaviour TOML records: the file's name, or ``TABLE@URL``."""
    path = input_path(outcomes)
    return path.name if path is not None else str(outcomes)
