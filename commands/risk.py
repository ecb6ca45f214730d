"""`workout risk`: roll rates, early-warning fit and scoring, hazard calibration (SPEC §7).

Parse options, call :mod:`solver.risk`, format. Heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from commands.common import SEED, console, shared_help
from commands.engine_opts import engine_options, is_dataset_output, progress_bar
from commands.output import emit, format_option, out_help, write_out
from solver.domain import TIERS


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
    from solver.core.atomic import check_writable

    seen: dict[str, Any] = {}
    for option, path, directory in outputs:
        if path is None:
            continue
        check_writable(path, option=option, inputs=inputs, outputs=seen, directory=directory)
        seen[option] = path


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars and arrays -> Python."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _echo_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(_clean(payload), indent=2))


def _fmt(value: float, digits: int = 4) -> str:
    return (
        "—"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def _uci_source(path: str | None, uci: bool, data_dir: str | None, what: str) -> Path:
    from solver.risk.uci import require_uci_csv

    if path and uci:
        raise click.UsageError(f"give either {what} or --uci, not both")
    if uci:
        return require_uci_csv(data_dir)
    if not path:
        raise click.UsageError(f"missing {what} (or --uci to use the shared UCI credit-card data)")
    return Path(path)


def _stack(*options: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One decorator applying ``options`` in the order written (as if stacked)."""

    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


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
    return _stack(
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


_SHORT = {"charged_off": "CO"}


def _matrix_tables(matrix, title: str) -> list:
    """Two rich tables: probabilities with counts, then the interval of every cell."""
    from rich.table import Table

    states = [_SHORT.get(s, s) for s in matrix.states]
    caption = "CO = charged off" if "charged_off" in matrix.states else None
    probs = Table(title=title, show_lines=True, caption=caption)
    bounds = Table(
        title=f"{title}: {matrix.confidence:.0%} {matrix.method} intervals", show_lines=True
    )
    for table in (probs, bounds):
        table.add_column("from \\ to", style="bold")
        for state in states:
            table.add_column(state, justify="right")
    probs.add_column("n", justify="right")
    probs.add_column("row sum", justify="right")
    for i, state in enumerate(states):
        p_cells, b_cells = [], []
        for j in range(len(states)):
            p = matrix.probabilities[i, j]
            if math.isnan(p):
                p_cells.append("—")
                b_cells.append("—")
            else:
                p_cells.append(f"{p:.3f}\n({matrix.counts[i, j]:,})")
                b_cells.append(f"{matrix.lower[i, j]:.3f} – {matrix.upper[i, j]:.3f}")
        probs.add_row(
            state, *p_cells, f"{matrix.n_from[i]:,}", _fmt(matrix.probabilities[i].sum(), 3)
        )
        bounds.add_row(state, *b_cells)
    return [probs, bounds]


@risk.command("rollrates")
@click.argument("panel", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--uci",
    is_flag=True,
    help="Use ../shared/data/credit/UCI_Credit_Card.csv (adapted to a panel).",
)
@_DATA_DIR
@click.option("--segment", help="Segment column (value at the start month), e.g. limit_band.")
@click.option("--weight", help="Balance column for balance-weighted roll rates, e.g. balance.")
@click.option(
    "--interval",
    type=click.Choice(["wilson", "goodman"]),
    default="wilson",
    show_default=True,
    help="Per-cell Wilson or simultaneous Goodman intervals.",
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
    """
    from solver.core.io import output_format
    from solver.risk.absorption import absorbing_summary, expected_loss
    from solver.risk.rollrates import read_panel, roll_rates

    source = _uci_source(panel, uci, data_dir, "PANEL")
    if out:
        output_format(out, option="--out")
    _check_outputs(
        {"PANEL": source},
        ("--out", out, False),
        ("--png", _png_path(png, no_png, out, "rollrates.png"), False),
    )
    frame = read_panel(source)
    result = roll_rates(
        frame,
        segment=segment,
        weight=weight,
        method=interval,
        confidence=confidence,
        source=str(source),
    )
    chain = loss = None
    if any(s in result.overall.states for s in ("paid", "charged_off")):
        q, r, transient, absorbing = result.overall.chain(source=str(source))
        chain = absorbing_summary(q, r, transient, absorbing, source=str(source))
        if "balance" in frame.columns and "charged_off" in absorbing:
            latest = frame[frame["month_index"] == frame["month_index"].max()]
            balances = (
                latest.groupby("dpd_bucket")["balance"]
                .sum()
                .reindex(list(transient), fill_value=0.0)
            )
            loss = expected_loss(
                balances.clip(lower=0).to_numpy(),
                chain.absorption_probabilities,
                lgd,
                charge_off=absorbing.index("charged_off"),
            )
    png_path = _png_path(png, no_png, out, "rollrates.png")
    if out:
        write_out(out, result.to_frame(), sheet_name="rollrates")
    if png_path is not None:
        from solver.risk.plots import roll_rate_heatmap

        roll_rate_heatmap(result.overall, png_path)
    if fmt == "csv":
        emit(fmt, table=result.to_frame())
        return

    if fmt == "json":
        payload: dict[str, Any] = {
            "summary": result.summary(),
            "states": list(result.overall.states),
            "n_accounts": result.n_accounts,
            "n_transitions": result.n_transitions,
            "interval": interval,
            "confidence": confidence,
            "weighted": weight is not None,
            "overall": _matrix_payload(result.overall),
            "segments": {k: _matrix_payload(m) for k, m in result.by_segment.items()},
            "out": out,
            "png": str(png_path) if png_path else None,
        }
        if chain is not None:
            payload["absorption"] = {
                "transient": list(chain.transient),
                "absorbing": list(chain.absorbing),
                "fundamental": chain.fundamental,
                "absorption_probabilities": chain.absorption_probabilities,
                "expected_months": chain.expected_months,
            }
        if loss is not None:
            payload["expected_loss"] = {
                "by_bucket": loss.by_bucket,
                "total": loss.total,
                "lgd": lgd,
            }
        _echo_json(payload)
        return
    con = console()
    weighted = " (balance-weighted)" if weight else ""
    for table in _matrix_tables(result.overall, f"Monthly roll rates{weighted}, all accounts"):
        con.print(table)
    for value, matrix in result.by_segment.items():
        for table in _matrix_tables(matrix, f"Roll rates{weighted}, {segment} = {value}"):
            con.print(table)
    if chain is not None:
        from rich.table import Table

        table = Table(title="Absorbing chain: N = (I - Q)^-1, B = N R")
        table.add_column("bucket", style="bold")
        table.add_column("expected months to absorption", justify="right")
        for state in chain.absorbing:
            table.add_column(f"P(end {state})", justify="right")
        if loss is not None:
            table.add_column("balance (latest month)", justify="right")
            table.add_column(f"expected loss (LGD {lgd:g})", justify="right")
        for i, state in enumerate(chain.transient):
            row = [state, f"{chain.expected_months[i]:.2f}"]
            row += [
                f"{chain.absorption_probabilities[i, a]:.4f}" for a in range(len(chain.absorbing))
            ]
            if loss is not None:
                row += [f"{loss.balances[i]:,.2f}", f"{loss.by_bucket[i]:,.2f}"]
            table.add_row(*row)
        if loss is not None:
            table.add_row(
                "total",
                "",
                *[""] * len(chain.absorbing),
                f"{loss.balances.sum():,.2f}",
                f"{loss.total:,.2f}",
            )
        con.print(table)
    con.print(result.summary())
    for path in (out, png_path):
        if path:
            con.print(f"wrote {path}")


def _matrix_payload(matrix) -> dict[str, Any]:
    return {
        "counts": matrix.counts,
        "probabilities": matrix.probabilities,
        "lower": matrix.lower,
        "upper": matrix.upper,
        "n_from": matrix.n_from,
        "row_sums": matrix.row_sums(),
    }


# --------------------------------------------------------------------------- fit


def _parse_bands(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated PDs, got {text!r}") from exc


@risk.command("fit")
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@click.option("--uci", is_flag=True, help="Use ../shared/data/credit/UCI_Credit_Card.csv.")
@_DATA_DIR
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Model file to write (.toml)."
)
@click.option(
    "--seed",
    type=SEED,
    default=0,
    show_default=True,
    help=shared_help("--seed", "Here: the stratified split and the models."),
)
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
@click.option("--no-baseline", is_flag=True, help="Skip the raw-column HGB baseline.")
@click.option(
    "--behaviour-out",
    type=click.Path(dir_okay=False),
    help="Also write a behaviour-model TOML with base_hazard per tier from the held-out outcomes.",
)
@click.option(
    "--base",
    type=click.Path(dir_okay=False),
    help="Behaviour TOML whose other parameters are kept.",
)
@_chart_options(
    format_detail="Here json is the fit (metrics, calibration, tiers); csv the tier table of "
    "the held-out set."
)
@click.option("--quiet", is_flag=True, help=shared_help("--quiet"))
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
    png,
    no_png,
    fmt,
    quiet,
) -> None:
    """Fit the early-warning score on DATA (UCI layout with the default flag Y).

    Seeded stratified split; AUC, KS and the calibration table on the held-out share, with
    an off-the-shelf HistGradientBoostingClassifier on the raw columns as baseline. The
    model is written as TOML (trees as data, no pickle); `workout risk score` reads it
    with --ew-model.

    \b
    Examples:
      workout risk fit --uci --out out/ew.toml
      workout risk fit ../shared/data/credit/UCI_Credit_Card.csv --out out/ew.toml \\
          --behaviour-out out/behaviour.toml --seed 1 --format json
    """
    from solver.risk.calibration import read_behaviour_toml, write_behaviour_toml
    from solver.risk.early_warning import EarlyWarningParams, fit_uci
    from solver.risk.scoring import held_out_hazards

    source = _uci_source(data, uci, data_dir, "DATA")
    if Path(out).suffix.lower() != ".toml":
        raise click.BadParameter("the model file must end in .toml", param_hint="--out")
    _check_outputs(
        {"DATA": source, "--base": base},
        ("--out", out, False),
        ("--behaviour-out", behaviour_out, False),
        ("--png", _png_path(png, no_png, out, "risk_fit.png"), False),
    )
    params = EarlyWarningParams(
        seed=seed, test_size=test_size, pd_bands=_parse_bands(pd_bands), baseline=not no_baseline
    )
    base_params = read_behaviour_toml(base) if base else None
    import contextlib

    spinner: Any = (
        contextlib.nullcontext()
        if quiet
        else console(stderr=True).status("fitting the early-warning model ...")
    )
    with spinner:
        result = fit_uci(source, params)
    calibration = held_out_hazards(result) if behaviour_out else None
    png_path = _png_path(png, no_png, out, "risk_fit.png")
    result.model.write(out)
    if calibration is not None:
        write_behaviour_toml(
            behaviour_out,
            calibration,
            base_params,
            source=f"{source.name} (held-out split, seed {seed})",
        )
    if png_path is not None:
        from solver.risk.plots import fit_chart

        fit_chart(result, png_path)

    if fmt == "csv":
        emit(fmt, table=result.tiers)
        return
    if fmt == "json":
        payload = result.to_dict()
        payload.update(
            {
                "data": str(source),
                "model": out,
                "png": str(png_path) if png_path else None,
                "behaviour_out": behaviour_out,
            }
        )
        _echo_json(payload)
        return
    from rich.table import Table

    con = console()
    metrics = Table(title="Early-warning model: default next month (held-out set)")
    for column in ("model", "AUC", "KS", "n_train", "n_test"):
        metrics.add_column(column, justify="right" if column != "model" else "left")
    metrics.add_row(
        "behaviour features + HGB",
        _fmt(result.auc),
        _fmt(result.ks),
        f"{result.n_train:,}",
        f"{result.n_test:,}",
    )
    if not math.isnan(result.baseline_auc):
        metrics.add_row(
            "raw columns, off-the-shelf HGB",
            _fmt(result.baseline_auc),
            _fmt(result.baseline_ks),
            f"{result.n_train:,}",
            f"{result.n_test:,}",
        )
    con.print(metrics)
    calib = Table(
        title=f"Calibration by decile (Brier {result.brier:.4f}, Hosmer-Lemeshow {result.hosmer_lemeshow:.1f}, "
        f"p = {result.hosmer_lemeshow_p:.3f})"
    )
    for column in ("decile", "n", "PD range", "mean predicted", "observed", "95 % interval"):
        calib.add_column(column, justify="right")
    for row in result.calibration.itertuples():
        calib.add_row(
            str(row.decile),
            f"{row.n:,}",
            f"{row.pd_min:.3f}–{row.pd_max:.3f}",
            f"{row.mean_predicted:.4f}",
            f"{row.observed_rate:.4f}",
            f"[{row.lower:.4f}, {row.upper:.4f}]",
        )
    con.print(calib)
    tiers_table = Table(title="Tiers (fixed PD bands) on the held-out set")
    for column in (
        "tier",
        "PD band",
        "accounts",
        "defaults",
        "observed rate",
        "95 % interval",
        "mean predicted",
    ):
        tiers_table.add_column(column, justify="right")
    for row in result.tiers.itertuples():
        tiers_table.add_row(
            row.tier,
            f"{row.pd_from:.2f}–{row.pd_to:.2f}",
            f"{row.n:,}",
            f"{row.defaults:,}",
            _fmt(row.observed_rate),
            f"{_fmt(row.lower)}–{_fmt(row.upper)}",
            _fmt(row.mean_predicted),
        )
    con.print(tiers_table)
    con.print(result.summary())
    for path in (out, behaviour_out, png_path):
        if path:
            con.print(f"wrote {path}")


# --------------------------------------------------------------------------- score


@risk.command("score")
@click.argument("portfolio", type=click.Path())
@click.option(
    "--ew-model",
    "model_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Early-warning model TOML written by `workout risk fit` (required).",
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
@click.option("--quiet", is_flag=True, help=shared_help("--quiet"))
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
      workout risk score book_dataset/ --ew-model out/ew.toml --out out/scores/ \\
          --engine dask --workers 4
    """
    if model is not None:  # the deprecated spelling --model
        if model_path is not None:
            raise click.UsageError("give --ew-model once (--model is its deprecated spelling)")
        model_path = model
    if model_path is None:
        raise click.UsageError("Missing option '--ew-model' (the model of `workout risk fit`).")
    from solver.core.io import output_format
    from solver.errors import InputError
    from solver.risk.early_warning import EarlyWarningModel, score_uci
    from solver.risk.uci import read_uci

    dataset_out = is_dataset_output(out)
    if not dataset_out:
        output_format(out, option="--out")
    elif fmt == "csv":
        raise InputError(
            f"--format csv prints the scores, and --out {out} is a dataset directory written "
            "in parts by the workers: give a file (--out scores.csv) or use --format json"
        )
    _check_outputs(
        {"PORTFOLIO": portfolio, "--ew-model": model_path},
        ("--out", out, dataset_out),
        ("--png", None if dataset_out else _png_path(png, no_png, out, "risk_score.png"), False),
    )
    model = EarlyWarningModel.read(model_path)
    if engine.distributed or dataset_out or Path(portfolio).is_dir():
        from solver.engines.partitions import is_dataset
        from solver.risk.scoring import prepare_uci, score_partition, score_summary

        source = portfolio if is_dataset(portfolio) else read_uci(portfolio)
        shown = fmt == "table" and not quiet
        with engine.open() as runner, progress_bar("scoring", shown) as bar:
            result = runner.map_partitions(
                score_partition,
                source,
                model,
                out=out if dataset_out else None,
                partitions=engine.partitions,
                prepare=prepare_uci,
                unique="account_id",
                summary=score_summary if dataset_out else None,
                progress=bar,
            )
        scores = result.frame
    else:
        scores = score_uci(model, read_uci(portfolio))
    png_path = None if dataset_out else _png_path(png, no_png, out, "risk_score.png")
    if dataset_out:
        from solver.risk.scoring import combine_score_summaries

        summary = combine_score_summaries(result.summaries)
        n_scored = result.rows
    else:
        write_out(out, scores, sheet_name="scores")
        n_scored = len(scores)
        if png_path is not None:
            from solver.risk.plots import score_chart

            score_chart(scores, model.pd_bands, png_path)
        from solver.risk.scoring import tier_summary

        summary = tier_summary(scores)
    summary = summary.reindex(list(TIERS))
    if fmt == "csv":
        emit(fmt, table=scores)
        return
    if fmt == "json":
        _echo_json(
            {
                "n_accounts": n_scored,
                "out": out,
                "png": str(png_path) if png_path else None,
                "tiers": [
                    {"tier": t, **{k: _clean(v) for k, v in row.items()}}
                    for t, row in summary.iterrows()
                ],
            }
        )
        return
    from rich.table import Table

    con = console()
    table = Table(title=f"Early-warning scores: {n_scored:,} accounts")
    for column in ["tier", "accounts", "mean PD", "base hazard"] + (
        ["observed rate"] if "observed_rate" in summary else []
    ):
        table.add_column(column, justify="right")
    for tier, row in summary.iterrows():
        cells = [
            str(tier),
            f"{0 if math.isnan(row.accounts) else int(row.accounts):,}",
            _fmt(row.mean_pd),
            _fmt(row.base_hazard),
        ]
        if "observed_rate" in summary:
            cells.append(_fmt(row.observed_rate))
        table.add_row(*cells)
    con.print(table)
    con.print(f"wrote {out}" + (f" and {png_path}" if png_path else ""))


# --------------------------------------------------------------------------- calibrate


@risk.command("calibrate")
@click.argument("outcomes", type=click.Path(dir_okay=False))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="Behaviour-model TOML to write."
)
@click.option(
    "--base",
    type=click.Path(dir_okay=False),
    help="Behaviour TOML whose other parameters are kept (default: built-in defaults).",
)
@click.option(
    "--kappa/--no-kappa",
    "estimate_kappa",
    default=None,
    help="Estimate kappa (needs account-month rows with afford_prob; default: when the data allow).",
)
@click.option(
    "--interval",
    type=click.Choice(["binomial", "poisson"]),
    default="binomial",
    show_default=True,
    help="Exact interval of each tier's hazard: binomial (Clopper-Pearson) or Poisson "
    "(Garwood, also valid for fractional exposure months).",
)
@_confidence_option
@_chart_options(
    format_detail="Here json is the calibration (hazards, intervals, kappa); csv the hazard "
    "table by tier."
)
def calibrate(outcomes, out, base, estimate_kappa, interval, confidence, png, no_png, fmt) -> None:
    """Calibrate base monthly hazards by tier (and kappa) from OUTCOMES; write a behaviour TOML.

    OUTCOMES has tier (A-E), defaults and exposure_months (default 1); account-month rows
    may carry afford_prob, which lets kappa be estimated. `workout risk score` output of a
    file with outcomes is a valid OUTCOMES table.

    \b
    Examples:
      workout risk calibrate out/scores.csv --out out/behaviour.toml
      workout risk calibrate outcomes.csv --base scenarios/behaviour.toml --interval poisson \\
          --out out/behaviour.toml --no-png
    """
    from solver.risk.calibration import (
        calibrate_outcomes,
        read_behaviour_toml,
        read_outcomes,
        write_behaviour_toml,
    )

    _check_outputs(
        {"OUTCOMES": outcomes, "--base": base},
        ("--out", out, False),
        ("--png", _png_path(png, no_png, out, "risk_calibrate.png"), False),
    )
    base_params = read_behaviour_toml(base) if base else None
    table = read_outcomes(outcomes)
    kappa = base_params["kappa"] if base_params else None
    options: dict[str, Any] = {
        "estimate_kappa": estimate_kappa,
        "confidence": confidence,
        "interval": interval,
    }
    if kappa is not None:
        options["kappa"] = kappa
    result = calibrate_outcomes(table, **options)
    png_path = _png_path(png, no_png, out, "risk_calibrate.png")
    write_behaviour_toml(out, result, base_params, source=Path(outcomes).name)
    if png_path is not None:
        from solver.risk.plots import hazard_chart

        hazard_chart(result, png_path)
    if fmt == "csv":
        written = result.base_hazard((base_params or {}).get("base_hazard"))
        table = result.to_frame()
        table["estimated"] = [t.estimated for t in result.tiers]
        table["written"] = [written[t.tier] for t in result.tiers]
        emit(fmt, table=table)
        return
    if fmt == "json":
        payload = result.to_dict()
        payload.update({"out": out, "png": str(png_path) if png_path else None})
        _echo_json(payload)
        return
    from rich.table import Table

    from solver.risk.calibration import describe_method

    con = console()
    t = Table(
        title=f"Base monthly hazard by tier ({confidence:.0%} intervals)",
        caption=describe_method(result.method),
    )
    for column in ("tier", "exposure months", "defaults", "h0", "lower", "upper", "written"):
        t.add_column(column, justify="right")
    written = result.base_hazard((base_params or {}).get("base_hazard"))
    for tier in result.tiers:
        t.add_row(
            tier.tier,
            f"{tier.exposure_months:,.0f}",
            f"{tier.defaults:,}",
            _fmt(tier.hazard, 6),
            _fmt(tier.lower, 6),
            _fmt(tier.upper, 6),
            f"{written[tier.tier]:.6g}" + ("" if tier.estimated else " (base)"),
        )
    con.print(t)
    con.print(result.summary().splitlines()[-1])
    con.print(f"wrote {out}" + (f" and {png_path}" if png_path else ""))
