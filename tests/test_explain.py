"""explain_infeasible words the conflicting rules from an account's cap rows.

The cap rows are set by hand (a context built from a crafted account, its caps replaced),
so each sentence -- which rule sets a month's cap (a NaN cap is no limit), from which
month the interest is affordable, what the capped payments could repay -- is checked
against numbers worked out here, not read back from the code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from solver.core.model import BehaviourModel
from solver.core.policy import Policy
from solver.core.readers import read_account
from solver.plans.context import PlanContext, context_from_account
from solver.plans.explain import explain_infeasible

DATA = Path(__file__).parent / "data" / "plans"
H = 60  # the default max_term_months


@pytest.fixture(scope="module")
def base() -> PlanContext:
    # 200,000 at 12 %: the monthly interest is 2,000.00
    acc = read_account(DATA / "interest_unaffordable.toml")
    return context_from_account(acc, Policy(), BehaviourModel())


def _with_caps(ctx: PlanContext, dti, residual, afford) -> PlanContext:
    rows = [np.asarray(x, float)[None, :] for x in (dti, residual, afford)]
    cap = np.fmin(np.fmin(rows[0], rows[1]), rows[2])  # a NaN cap is no limit
    return dataclasses.replace(
        ctx, cap_dti=rows[0], cap_residual=rows[1], cap_afford=rows[2], cap=cap
    )


def _repays(caps: list[float], min_payment: float = 100.0) -> str:
    """Present value at the contract rate (1 % a month) of every cap at least min_payment."""
    pv = sum(c / 1.01**t for t, c in enumerate(caps, start=1) if c >= min_payment)
    return f"{pv:,.2f}"


def test_interest_unaffordable_until_a_month(base):
    """Residual income sets the cap (1,400) below the interest (2,000) in months 1-4;
    from month 5 the caps are 2,500: a 4-month deferral would cover the interest."""
    dti = [1_500.0] * 4 + [2_500.0] * (H - 4)
    residual = [1_400.0] * 4 + [3_000.0] * (H - 4)
    afford = [np.nan] * H
    text = explain_infeasible(_with_caps(base, dti, residual, afford), 0)
    caps = [1_400.0] * 4 + [2_500.0] * (H - 4)
    assert text == (
        "No plan satisfies the policy: the interest alone (2,000.00/month) exceeds the"
        " affordable payment (1,400.00/month, set by min_residual_income) until month 5;"
        " a deferral of 4 months would cover the interest; paying the largest affordable"
        f" amount every month for max_term_months = 60 months repays at most {_repays(caps)}"
        " of the 200,000.00 balance."
    )


def test_no_month_reaches_min_payment(base):
    """Every cap is below min_payment (100); the largest, 80 in month 7, is set by the
    affordability probability (the DTI cap is NaN there, no limit; residual income 90)."""
    dti = [50.0] * H
    dti[6] = np.nan
    residual = [60.0] * H
    residual[6] = 90.0
    afford = [40.0] * H
    afford[6] = 80.0
    text = explain_infeasible(_with_caps(base, dti, residual, afford), 0)
    assert text == (
        "No plan satisfies the policy: no month within max_term_months = 60 has an affordable"
        " payment of at least min_payment = 100 (largest affordable payment 80.00, set by"
        " min_afford_prob; expected income 3,000, expenses 1,600, other debt 0); the interest"
        " alone (2,000.00/month) exceeds the affordable payment (40.00/month, set by"
        " min_afford_prob) in every month up to max_term_months = 60; paying the largest"
        " affordable amount every month for max_term_months = 60 months repays at most 0.00"
        " of the 200,000.00 balance."
    )


def test_first_affordable_month_and_a_long_deferral(base):
    """Caps negative in months 1-8 (DTI lowest), then 2,100: no payment of min_payment
    before month 9, and the 8 months the interest needs exceed the 6 the policy allows;
    the whole sentence, its numbers worked out here from the caps."""
    dti = [-10.0] * 8 + [2_100.0] * (H - 8)
    residual = [-5.0] * 8 + [2_200.0] * (H - 8)
    afford = [np.nan] * H
    text = explain_infeasible(_with_caps(base, dti, residual, afford), 0)
    caps = [min(d, r) for d, r in zip(dti, residual, strict=True)]  # DTI is the lower
    first_payment = next(t for t, c in enumerate(caps, start=1) if c >= 100.0)
    interest = 200_000.0 * 0.12 / 12  # 2,000.00
    first_interest = next(t for t, c in enumerate(caps, start=1) if c >= interest)
    assert (first_payment, first_interest) == (9, 9)
    # 2,100 a month in months 9-60 at 1 %: 2,100·(a₆₀ − a₈) = 78,337.06 (annuity factors)
    assert _repays(caps) == f"{2_100 * ((1 - 1.01**-60) - (1 - 1.01**-8)) / 0.01:,.2f}"
    assert text == (
        "No plan satisfies the policy: no affordable payment of at least min_payment = 100"
        f" before month {first_payment} (max_dti limits month 1 to 0.00); the interest alone"
        f" ({interest:,.2f}/month) exceeds the affordable payment (0.00/month, set by max_dti)"
        f" until month {first_interest}; a deferral of at least {first_interest - 1} months"
        " would be needed but policy allows 6; paying the largest affordable amount every"
        f" month for max_term_months = 60 months repays at most {_repays(caps)} of the"
        " 200,000.00 balance."
    )


def test_pd_comparison_with_a_short_contract_says_its_horizon():
    """A recommendation compared with a contract ending within 12 months says that the
    contract's PD 12m covers only its months; a 30-month contract gets no caveat."""
    from solver.core.generate import generate_portfolio
    from solver.plans.options import plan_options

    frame = generate_portfolio(2000, seed=7)
    row = frame[frame["account_id"] == "CI00000042"].to_dict("records")[0]
    res = plan_options(row, relax=False)
    assert res.status_quo.terms.term == row["remaining_term"] == 1
    assert "(the contract ends in month 1: its PD covers 1 month only)" in res.explanation
    sample = plan_options(
        read_account(Path(__file__).parents[1] / "scenarios" / "sample_account.toml")
    )
    assert sample.status_quo.terms.term >= 12 and "the contract ends" not in sample.explanation
