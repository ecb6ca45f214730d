"""What the ``workout risk`` commands report beyond one estimator.

* :func:`rollrate_report` -- ``workout risk rollrates``: the roll-rate matrices of a panel
  and, when it has paid or charged-off states, the absorbing chain of the overall matrix
  and the expected loss of the latest month's balances.
* :func:`held_out_hazards` -- ``workout risk fit --behaviour-out``: the behaviour model's
  tier hazards calibrated on the held-out share of an early-warning fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from solver.errors import InputError
from solver.risk.absorption import (
    AbsorptionResult,
    ExpectedLoss,
    absorbing_summary,
    expected_loss,
    lgd_problem,
    trapped_states,
)
from solver.risk.calibration import calibrate_hazards
from solver.risk.calibration_result import HazardCalibration
from solver.risk.early_warning_fit import EarlyWarningFit
from solver.risk.pd_tiers import assign_tiers
from solver.risk.rollrates import ABSORBING_STATES, RollRateResult, roll_rates

__all__ = ["RollRateReport", "held_out_hazards", "latest_balances", "rollrate_report"]


@dataclass(frozen=True)
class RollRateReport:
    """Roll rates of a panel with the absorbing-chain figures that follow from them.

    Attributes
    ----------
    result
        The matrices, overall and by segment.
    chain
        Absorbing-chain summary of the overall matrix (``None`` without paid or
        charged-off states, or when some bucket never reaches one: see ``chain_note``).
    loss
        Expected loss of the latest month's balances by bucket (``None`` without a
        ``balance`` column or a charged-off state).
    lgd
        Loss given charge-off used for ``loss``.
    chain_note
        Why the absorbing chain was skipped, when it was (printed with the matrices).
    """

    result: RollRateResult
    chain: AbsorptionResult | None
    loss: ExpectedLoss | None
    lgd: float
    chain_note: str | None = None

    def notes(self) -> tuple[str, ...]:
        """The data's warnings (:meth:`RollRateResult.notes`) and, when the chain was
        skipped, why."""
        return self.result.notes() + ((self.chain_note,) if self.chain_note else ())


def latest_balances(panel: pd.DataFrame, buckets: tuple[str, ...]) -> np.ndarray:
    """Balance of the panel's latest month in each of ``buckets`` (0 where none; negative
    balances count as 0)."""
    latest = panel[panel["month_index"] == panel["month_index"].max()]
    balances = latest.groupby("dpd_bucket")["balance"].sum().reindex(list(buckets), fill_value=0.0)
    return balances.clip(lower=0).to_numpy()


def rollrate_report(
    panel: pd.DataFrame,
    *,
    source: str,
    segment: str | None = None,
    weight: str | None = None,
    method: str = "wilson",
    confidence: float = 0.95,
    lgd: float = 1.0,
) -> RollRateReport:
    """Roll rates of a validated panel (:func:`solver.risk.panel.read_panel`), with the
    absorbing chain and expected loss where the panel's states allow them.

    ``source`` (the panel's file) starts every message.
    """
    lgd_wrong = lgd_problem(lgd)  # before any work, whether or not a loss is computed
    if lgd_wrong is not None:
        raise InputError(f"expected loss: {lgd_wrong}")
    result = roll_rates(
        panel, segment=segment, weight=weight, method=method, confidence=confidence, source=source
    )
    chain = loss = None
    if any(s in result.overall.states for s in ABSORBING_STATES):
        q, r, transient, absorbing = result.overall.chain(source=source)
        trapped = [s for s, t in zip(transient, trapped_states(q, r), strict=True) if t]
        if trapped:
            # Decision (s24): the matrices are valid estimates, only the chain has no solution
            # (I - Q is singular: no paid or charged-off month was observed from these buckets,
            # typical of a short history). The matrices are printed and written, exit 0, and a
            # note says why the chain is left out; a bucket entered but never left stays an
            # error (chain() above): the panel is cut short there and the user can fix it.
            return RollRateReport(result, None, None, lgd, _trapped_note(trapped, absorbing))
        chain = absorbing_summary(q, r, transient, absorbing, source=source)
        if "balance" in panel.columns and "charged_off" in absorbing:
            loss = expected_loss(
                latest_balances(panel, transient),
                chain.absorption_probabilities,
                lgd,
                charge_off=absorbing.index("charged_off"),
            )
    return RollRateReport(result, chain, loss, lgd)


def _trapped_note(trapped: list[str], absorbing: tuple[str, ...]) -> str:
    """Why the absorbing chain is not shown: the buckets that never reach an absorbing state."""
    names = ", ".join(trapped)
    ends = " or ".join(absorbing)
    buckets = f"buckets {names}" if len(trapped) > 1 else f"bucket {names}"
    return (
        f"absorbing chain not computed: in the panel's transitions no account in {buckets} "
        f"ever reaches {ends}, directly or through other buckets, so the expected months to "
        "absorption are infinite (I - Q is singular) and the expected loss is undefined; "
        "the roll-rate matrices above are complete (a longer history gives the chain)"
    )


def held_out_hazards(result: EarlyWarningFit) -> HazardCalibration:
    """The behaviour model's tier hazards calibrated on the held-out share of a fit (its
    scores assigned to tiers by the model's PD bands, against the observed outcome)."""
    tiers = assign_tiers(result.test_pd, result.model.pd_bands)
    return calibrate_hazards(tiers, result.test_outcome)
