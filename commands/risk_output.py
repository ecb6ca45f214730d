"""What ``workout risk`` prints: the rich tables and the JSON documents of its commands.

:mod:`commands.risk` parses the options and calls :mod:`solver.risk`; the results are shown
here. numpy, rich and :mod:`solver.risk` are imported inside the functions (start-up time,
as in :mod:`commands.risk`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import click

from commands.common import console
from commands.risk_tables import print_table


def clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars and arrays -> Python."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, np.generic):
        return clean(value.item())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def echo_json(payload: dict[str, Any]) -> None:
    """Print ``payload`` as indented JSON (:func:`clean` first)."""
    click.echo(json.dumps(clean(payload), indent=2))


def _fmt(value: float, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals, or a dash when it is missing."""
    return (
        "—"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


_SHORT = {"charged_off": "CO"}


def _table(title: str, columns: tuple[str, ...] | list[str], caption: str | None = None) -> Any:
    """A rich table with right-aligned ``columns`` (figures; the first may be a label)."""
    from rich.table import Table

    table = Table(title=title, caption=caption)
    for column in columns:
        table.add_column(column, justify="right")
    return table


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


def rollrates_payload(
    report, interval: str, confidence: float, weight: str | None, out: str | None, png_path
) -> dict[str, Any]:
    """The JSON document of ``risk rollrates``."""
    result, chain, loss = report.result, report.chain, report.loss
    payload: dict[str, Any] = {
        "summary": result.summary(),
        "notes": list(report.notes()),
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
            "lgd": report.lgd,
        }
    return payload


def print_rollrates(report, segment: str | None, weight: str | None, written: tuple) -> None:
    """The tables of ``risk rollrates``: matrices, intervals, the absorbing chain."""
    result = report.result
    con = console()
    weighted = " (balance-weighted)" if weight else ""
    for table in _matrix_tables(result.overall, f"Monthly roll rates{weighted}, all accounts"):
        print_table(con, table)
    for value, matrix in result.by_segment.items():
        for table in _matrix_tables(matrix, f"Roll rates{weighted}, {segment} = {value}"):
            print_table(con, table)
    if report.chain is not None:
        print_table(con, _chain_table(report))
    con.print(result.summary())
    for note in report.notes():
        con.print(f"note: {note}", highlight=False)
    for path in written:
        if path:
            con.print(f"wrote {path}")


def _chain_table(report):
    """Expected months to absorption, where accounts end, and the expected loss by bucket."""
    from rich.table import Table

    chain, loss, lgd = report.chain, report.loss, report.lgd
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
        row += [f"{chain.absorption_probabilities[i, a]:.4f}" for a in range(len(chain.absorbing))]
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
    return table


def _matrix_payload(matrix) -> dict[str, Any]:
    return {
        "counts": matrix.counts,
        "probabilities": matrix.probabilities,
        "lower": matrix.lower,
        "upper": matrix.upper,
        "n_from": matrix.n_from,
        "row_sums": matrix.row_sums(),
    }


def fit_tables(result) -> list:
    """The tables of ``risk fit``: held-out metrics, calibration by decile, tiers."""
    from rich.table import Table

    history = result.model.feature_set == "history-v1"
    target = result.model.target if history else "default next month"
    metrics = Table(title=f"Early-warning model: {target} (held-out set)")
    for column in ("model", "AUC", "KS", "n_train", "n_test"):
        metrics.add_column(column, justify="right" if column != "model" else "left")
    metrics.add_row(
        "behaviour features + LightGBM",
        _fmt(result.auc),
        _fmt(result.ks),
        f"{result.n_train:,}",
        f"{result.n_test:,}",
    )
    if not math.isnan(result.baseline_auc):
        metrics.add_row(
            "logistic regression, same features" if history else "raw columns, off-the-shelf HGB",
            _fmt(result.baseline_auc),
            _fmt(result.baseline_ks),
            f"{result.n_train:,}",
            f"{result.n_test:,}",
        )
    calib = _table(
        f"Calibration by decile (Brier {result.brier:.4f}, Hosmer-Lemeshow "
        f"{result.hosmer_lemeshow:.1f}, p = {result.hosmer_lemeshow_p:.3f})",
        ("decile", "n", "PD range", "mean predicted", "observed", "95 % interval"),
    )
    for row in result.calibration.itertuples():
        calib.add_row(
            str(row.decile),
            f"{row.n:,}",
            f"{row.pd_min:.3f}–{row.pd_max:.3f}",
            f"{row.mean_predicted:.4f}",
            f"{row.observed_rate:.4f}",
            f"[{row.lower:.4f}, {row.upper:.4f}]",
        )
    tiers_table = _table(
        "Tiers (fixed PD bands) on the held-out set",
        ("tier", "PD band", "accounts", "defaults", "observed rate", "95 % interval",
         "mean predicted", "pooled rate"),
    )  # fmt: skip
    for row in result.tiers.itertuples():
        tiers_table.add_row(
            row.tier,
            f"{row.pd_from:.2f}–{row.pd_to:.2f}",
            f"{row.n:,}",
            f"{row.defaults:,}",
            _fmt(row.observed_rate),
            f"{_fmt(row.lower)}–{_fmt(row.upper)}",
            _fmt(row.mean_predicted),
            _fmt(row.pooled_rate),
        )
    return [metrics, calib, tiers_table]


def score_table(run):
    """Accounts, mean PD, base hazard (and observed rate) by tier."""

    summary = run.summary
    table = _table(
        f"Early-warning scores: {run.n_scored:,} accounts",
        ["tier", "accounts", f"mean PD {run.pd_label}", "base hazard"]
        + (["observed rate"] if "observed_rate" in summary else []),
    )
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
    return table


def hazard_table(result, fallback, confidence: float):
    """``risk calibrate``: the base monthly hazard of each tier, its interval and what is
    written to the behaviour TOML (``fallback``: the base model's hazards)."""

    from solver.risk.calibration_result import describe_method

    t = _table(
        f"Base monthly hazard by tier ({confidence:.0%} intervals)",
        ("tier", "exposure months", "defaults", "h0", "lower", "upper", "written"),
        caption=describe_method(result.method),
    )
    written = result.base_hazard(fallback)
    held = result.held_tiers(fallback)  # base values moved to keep the tier order
    for tier in result.tiers:
        t.add_row(
            tier.tier,
            f"{tier.exposure_months:,.0f}",
            f"{tier.defaults:,}",
            _fmt(tier.hazard, 6),
            _fmt(tier.lower, 6),
            _fmt(tier.upper, 6),
            f"{written[tier.tier]:.6g}"
            + ("" if tier.estimated else " (base, held)" if tier.tier in held else " (base)"),
        )
    return t


def transition_table(result):
    """``risk calibrate HISTORY``: months at risk by starting bucket, delinquency transitions
    and defaults kept apart, with Wilson intervals of both rates."""
    t = _table(
        f"Months at risk by bucket: delinquency transitions vs default "
        f"({result.definition.describe()})",
        ("from", "at risk", "default", "delinquency", "cure", "paid", "default rate",
         "delinquency rate"),
        caption=f"{result.n_accounts:,} accounts; only defaults calibrate the hazards",
    )  # fmt: skip
    for row in result.transitions.itertuples():
        t.add_row(
            row.from_bucket,
            f"{row.months_at_risk:,}",
            f"{row.default:,}",
            f"{row.delinquency:,}",
            f"{row.cure:,}",
            f"{row.paid:,}",
            f"{row.default_rate:.2%} [{row.default_lower:.2%}, {row.default_upper:.2%}]",
            f"{row.delinquency_rate:.2%} [{row.delinquency_lower:.2%}, "
            f"{row.delinquency_upper:.2%}]",
        )
    return t
