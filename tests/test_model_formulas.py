"""The behaviour model's hazard and recovery formulas, each written once (SPEC §4).

``solver.core.model.hazard_curve`` is the one hazard ``h0 + (1 − h0)·κ·(1 − a)`` and
``recovery_at`` the one recovery ``min(EAD, C) + ρ·max(0, EAD − C)``; the kernel's
methods and the compiled loops call them. The expected values here are the SPEC formulas
written out in this file (Python floats, or ``Fraction`` where exactness matters), not the
code under test.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from solver.core.evaluation import evaluate
from solver.core.model import (
    AccountParams,
    BehaviourModel,
    ModelKernel,
    hazard_curve,
    recovery_at,
)
from solver.core.policy import Policy
from solver.core.readers import read_account
from solver.plans.options import plan_options

RHO = BehaviourModel().unsecured_recovery


def _spec_recovery(exposure: float, collateral: float, rho: float) -> float:
    """SPEC §4's recovery written out with Python's min and max."""
    return min(exposure, collateral) + rho * max(0.0, exposure - collateral)


def _accounts(vehicles: list[float]) -> AccountParams:
    n = len(vehicles)
    return AccountParams(
        income=[3800.0, 2100.0, 9000.0, 5000.0][:n],
        income_normal=[np.nan, 4200.0, np.nan, 6000.0][:n],
        recovery_months=[0.0, 6.0, 0.0, 3.0][:n],
        income_cv=[0.2, 0.35, 0.1, 0.0][:n],
        expenses=[1500.0, 900.0, 2500.0, 1000.0][:n],
        other_debt=[300.0, 0.0, 1200.0, 0.0][:n],
        vehicle_value=vehicles,
        base_hazard=[0.01, 0.004, 0.03, 0.002][:n],
    )


def test_recovery_at_is_the_spec_formula_exactly():
    """recovery_at equals min(EAD, C) + ρ·max(0, EAD − C) to the bit at, below and above the
    collateral, and within half an ulp of the exact rational value."""
    rng = np.random.default_rng(2)
    cases = [(0.0, 0.0), (5000.0, 5000.0), (1.0, 0.0), (-50.0, 0.0), (-50.0, 900.0)]
    cases += [(float(e), float(c)) for e, c in rng.uniform(0.0, 2e5, size=(300, 2))]
    for e, c in cases:
        got = recovery_at(e, c, RHO)
        assert got == _spec_recovery(e, c, RHO), (e, c)
        # the exact value of the formula on these floats, rounded once per operation
        exact = min(Fraction(e), Fraction(c)) + Fraction(RHO) * max(
            Fraction(0), Fraction(e) - Fraction(c)
        )
        assert abs(Fraction(got) - exact) <= abs(exact) * Fraction(1, 2**50) + Fraction(1, 2**60)


def test_infinite_exposures_recover_infinities_without_a_warning():
    """An exposure of −inf (the plan bounds' "no balance") recovers −inf, +inf recovers +inf:
    no NaN and no RuntimeWarning, in the scalar formula and in the kernel (secured and
    unsecured accounts), as SPEC §4's terms give (min(−inf, C) = −inf, max(0, −inf) = 0)."""
    kernel = BehaviourModel().kernel(_accounts([0.0, 90_000.0, 40_000.0]), 6)
    E = np.full((3, 6), 70_000.0)
    E[:, 1] = -np.inf
    E[:, 4] = np.inf
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        assert recovery_at(-math.inf, 5000.0, RHO) == -math.inf
        assert recovery_at(math.inf, 5000.0, RHO) == math.inf
        got = kernel.recovery(np.arange(3), E)
        unsecured = kernel.take(np.array([0])).recovery(np.array([0]), E[:1])
    assert (got[:, 1] == -np.inf).all() and (got[:, 4] == np.inf).all()
    assert (unsecured[0, 1] == -np.inf) and (unsecured[0, 4] == np.inf)
    finite = [0, 2, 3, 5]
    for a in range(3):
        for t in finite:
            assert got[a, t] == _spec_recovery(70_000.0, kernel.collateral[a, t], RHO)


@pytest.mark.parametrize("vehicles", [[0.0, 0.0, 0.0], [0.0, 90_000.0, 40_000.0]])
def test_kernel_recovery_broadcasts_like_numpy_in_every_form(vehicles):
    """The compiled recovery takes the shape numpy broadcasting gives (up to 4-D, size-1
    axes on either input) and each element is the formula of its exposure and its
    account's C_t."""
    H = 8
    kernel = BehaviourModel().kernel(_accounts(vehicles), H)
    C = kernel.collateral
    rng = np.random.default_rng(9)
    E = rng.uniform(0.0, 120_000.0, size=(3, H))
    nodes = rng.uniform(0.0, 120_000.0, size=(3, 5))
    cases = [
        (np.arange(3)[None, :, None], nodes[None], np.arange(H)[:, None, None]),  # (H, n, M)
        (np.arange(3)[:, None, None], nodes[:, None, :], 2),  # (n, 1, M) at one month
        (np.array([2, 0, 2, 1]), E[[0, 1, 2, 0], 3], np.array([3, 0, 7, 5])),
        (
            np.arange(3)[:, None, None, None],
            np.broadcast_to(nodes[:, None, None, :], (3, 2, 2, 5)),
            1,
        ),
        (2, 1234.5, 3),
    ]
    for rows, x, cols in cases:
        got = kernel.recovery(rows, x, cols)
        rr, cc, ee = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(x))
        assert got.shape == ee.shape
        want = [
            _spec_recovery(float(e), float(C[a, t]), RHO)
            for a, t, e in zip(rr.ravel(), cc.ravel(), ee.ravel(), strict=True)
        ]
        assert np.asarray(got).ravel().tolist() == want


def test_hazard_curve_in_place_and_fresh_agree_to_the_bit():
    """hazard_curve gives h0 + (1 − h0)·κ·(1 − a) (written out here) to the bit, into a new
    array or into ``out`` (the affordability's own array), broadcasting h0 over months;
    the kernel's hazard, hazard_of_afford and treated_hazard at factor 1 are that curve."""
    rng = np.random.default_rng(3)
    a = rng.uniform(0.0, 1.0, size=(4, 7))
    a[:, 0], a[:, 1] = 0.0, 1.0
    h0 = rng.uniform(0.001, 0.05, size=(4, 1))
    kappa = 0.2
    want = h0 + (1.0 - h0) * kappa * (1.0 - a)
    assert np.array_equal(hazard_curve(h0, kappa, a), want)
    work = a.copy()
    assert hazard_curve(h0, kappa, work, out=work) is work
    assert np.array_equal(work, want)
    # a scalar afford broadcast over the accounts (no out): the shape numpy gives
    assert np.array_equal(hazard_curve(h0, kappa, 0.25), h0 + (1.0 - h0) * kappa * 0.75)
    kernel = BehaviourModel().kernel(_accounts([0.0, 8000.0, 0.0, 0.0]), 7)
    rows = np.arange(4)[:, None]
    pay = rng.uniform(0.0, 4000.0, size=(4, 7))
    afford = kernel.afford(np.arange(4), pay)
    h0k = kernel.params.base_hazard[:, None]
    written_out = h0k + (1.0 - h0k) * kappa * (1.0 - afford)
    assert np.array_equal(kernel.hazard(np.arange(4), pay), written_out)
    assert np.array_equal(kernel.hazard_of_afford(rows, afford), written_out)
    assert np.array_equal(kernel.treated_hazard(rows, afford, 1.0), written_out)


class _GenerousRecovery(ModelKernel):
    """Recovery ``min(EAD, C) + 0.6·max(0, EAD − C)``: six times SPEC's default ρ, with its
    kink at C_t (so the plan search's bound follows it too)."""

    RHO = 0.6

    def recovery(self, rows, exposures, cols=None):
        e = np.asarray(exposures, dtype=float)
        if cols is None:  # months 1…m of accounts `rows`
            collateral = self.collateral[np.asarray(rows), : e.shape[-1]]
        else:
            collateral = self.collateral[rows, cols]
        return np.minimum(e, collateral) + self.RHO * np.maximum(0.0, e - collateral)

    def recovery_kink(self):
        return self.collateral, np.where(self.collateral > 0, 1.0 - self.RHO, 0.0)


class _GenerousModel(BehaviourModel):
    """The default parameters with :class:`_GenerousRecovery`."""

    def kernel(self, params, horizon):
        return _GenerousRecovery(self, params, horizon)


def test_a_plugged_in_recovery_changes_what_the_search_chooses():
    """A model with its own recovery is asked by the search: every reported NPV is that
    model's evaluation, its plans score at least the default model's plans under it, and
    some plan differs from the default model's."""
    account = read_account("scenarios/sample_account.toml")
    policy = Policy()
    generous = plan_options(account, policy, _GenerousModel())
    default = plan_options(account, policy, BehaviourModel())
    changed = 0
    for option in generous.options:
        if not option.feasible or option.schedule is None:
            continue
        mine = evaluate(account, option.schedule, model=_GenerousModel()).npv
        assert option.npv == pytest.approx(mine, rel=1e-9), option.label
        other = default.option(option.label)
        if option.label == "status_quo" or not other.feasible or other.schedule is None:
            continue
        theirs = evaluate(account, other.schedule, model=_GenerousModel()).npv
        assert option.npv >= theirs - 1e-6 * abs(theirs), option.label
        changed += not np.array_equal(option.schedule.payments, other.schedule.payments)
    assert changed >= 1
