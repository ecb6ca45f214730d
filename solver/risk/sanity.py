"""The sanity check a calibrated behaviour model passes before it is written (issue 18).

A model calibrated on the wrong event (UCI's "late next month" is a delinquency
transition, not default) gives monthly hazards of 6-70 %; with it every account looks
doomed and no plan passes the NPV test. Before ``workout risk calibrate`` or ``risk fit
--behaviour-out`` writes a model, :func:`check_behaviour` plans the reference account
(``scenarios/sample_account.toml``: a tier-C auto loan, 45 dpd, income down after a job
change) under it and requires

* the status quo's probability of default within 12 months within ``pd_bounds``
  (default 2 %-85 %: SPEC §4's defaults give 41 % for this account, and US regulators
  reported 54-59 % re-default within 6-12 months on unchanged modified loans; a model
  giving almost certain or almost no default to a two-payments-behind borrower whose
  income has dropped is not plausible), and
* some plan to pass the NPV test (the optimizer's recommendation exists).

Otherwise the command writes nothing and exits 2 with the reasons.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solver.core.model import BehaviourModel
from solver.core.readers import read_account
from solver.domain import Status

__all__ = ["DEFAULT_PD_BOUNDS", "REFERENCE_ACCOUNT", "SanityCheck", "check_behaviour"]

REFERENCE_ACCOUNT = Path(__file__).resolve().parents[2] / "scenarios" / "sample_account.toml"
DEFAULT_PD_BOUNDS: tuple[float, float] = (0.02, 0.85)


@dataclass(frozen=True)
class SanityCheck:
    """Outcome of :func:`check_behaviour`.

    Attributes
    ----------
    passed
        Both conditions hold.
    pd_12m
        Status quo's PD within 12 months on the reference account.
    recommended
        The recommended plan family (``None``: no plan passes the NPV test).
    npv_gain
        Its NPV minus the status quo's (``None`` without a recommendation).
    reasons
        Why the check failed (empty when it passed).
    """

    passed: bool
    pd_12m: float
    recommended: str | None
    npv_gain: float | None
    account: str
    pd_bounds: tuple[float, float]
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line."""
        plan = (
            f"{self.recommended} passes the NPV test (+{self.npv_gain:,.2f})"
            if self.recommended
            else "no plan passes the NPV test"
        )
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"sanity check {verdict} on {self.account}: status-quo PD 12m {self.pd_12m:.1%} "
            f"(plausible {self.pd_bounds[0]:.0%}-{self.pd_bounds[1]:.0%}); {plan}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "passed": self.passed,
            "account": self.account,
            "pd_12m": self.pd_12m,
            "pd_bounds": list(self.pd_bounds),
            "recommended": self.recommended,
            "npv_gain": self.npv_gain,
            "reasons": self.reasons,
        }


def check_behaviour(
    params: Mapping[str, Any],
    account: str | os.PathLike[str] | None = None,
    pd_bounds: tuple[float, float] = DEFAULT_PD_BOUNDS,
) -> SanityCheck:
    """Plan the reference account under the behaviour ``params`` and check them."""
    from solver.plans.options import plan_options  # the planner: only when checking

    path = Path(account) if account is not None else REFERENCE_ACCOUNT
    model = BehaviourModel.from_dict(dict(params), source="calibrated model")
    result = plan_options(read_account(path), model=model, relax=False)
    pd_12m = float(result.status_quo.pd_12m)
    reasons = []
    low, high = pd_bounds
    if not low <= pd_12m <= high:
        reasons.append(
            f"the status quo's PD within 12 months on {path.name} is {pd_12m:.1%}, outside the "
            f"plausible {low:.0%}-{high:.0%}"
        )
    recommended = result.recommended if result.status == Status.RECOMMENDED else None
    gain = None
    if recommended is None:
        reasons.append(f"no plan passes the NPV test on {path.name} ({result.explanation})")
    else:
        best = result.recommended_option
        gain = None if best is None else float(best.npv_vs_status_quo)
    return SanityCheck(
        passed=not reasons,
        pd_12m=pd_12m,
        recommended=recommended,
        npv_gain=gain,
        account=path.name,
        pd_bounds=pd_bounds,
        reasons=reasons,
    )
