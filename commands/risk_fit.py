"""``workout risk fit``: the early-warning model, fitted on UCI or a payment history (SPEC §7);
registered on the ``risk`` group by :mod:`commands.risk`, whose start-up rule it keeps (the
analytics and numpy are imported inside the command)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from commands.common import console
from commands.options import choice_option, int_option, quiet_option, seed_option
from commands.output import emit
from commands.risk_options import (
    DATA_DIR_OPTION,
    chart_options,
    chart_path,
    check_outputs,
    default_dpd_option,
    table_source,
)
from commands.risk_output import echo_json, fit_tables
from commands.risk_tables import print_table
from commands.sources import history_options, input_path
from solver.errors import InputError


def _parse_bands(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated PDs, got {text!r}") from exc


@click.command("fit")
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@history_options("data")
@click.option("--uci", is_flag=True, help="Use ../shared/data/credit/UCI_Credit_Card.csv.")
@DATA_DIR_OPTION
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
@default_dpd_option("History fits: dpd at which an account is in default (as is a charge-off).")
@click.option(
    "--behaviour-out",
    type=click.Path(dir_okay=False),
    help="Refused (exit 2, nothing written) with the reason: UCI's event is a delinquency "
    "transition and a history fit's tiers are PD bands; use `workout risk calibrate HISTORY`.",
)
# Decision (s24): --base is hidden and refused. It was the base of --behaviour-out's TOML,
# whose "other parameters are kept"; --behaviour-out is refused (a fit gives no monthly
# hazards by the book's tiers), so --base was read, checked and ignored (review s24). It
# stays as an option only to say where it belongs: risk calibrate --base.
@click.option("--base", type=click.Path(dir_okay=False), hidden=True)
@chart_options(
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
    from solver.risk.early_warning_fit import EarlyWarningParams
    from solver.risk.history import DefaultDefinition
    from solver.risk.history_fit import fit_table

    source = table_source(data, "DATA", uci=uci, data_dir=data_dir)
    if Path(out).suffix.lower() != ".toml":
        raise click.BadParameter("the model file must end in .toml", param_hint="--out")
    if behaviour_out:
        _refuse_behaviour_out(source)
    if base:
        raise click.UsageError(
            "--base is an option of `workout risk calibrate` (the behaviour TOML whose other "
            "parameters a calibration keeps); `risk fit` writes an early-warning model and "
            "takes no behaviour TOML"
        )
    png_path = chart_path(png, no_png, out, "risk_fit.png")
    check_outputs(
        {"DATA": input_path(source)},
        ("--out", out, False),
        ("--png", png_path, False),
    )
    params = EarlyWarningParams(
        seed=seed, test_size=test_size, pd_bands=_parse_bands(pd_bands), baseline=not no_baseline
    )
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
    weak = result.weak_model()
    if weak is not None:
        click.echo(f"warning: {weak}", err=True)
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
        print_table(con, table)
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
