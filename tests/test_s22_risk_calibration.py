"""The affordability calibrator after session 22's review mends: one information-matrix
function (observed for the profile's Newton steps, expected for the standard errors), the
hand-written profile minimisation checked against scipy, and the session-21 profile
intervals unchanged to their printed precision."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from test_s21_coverage import H0, spec_afford, spec_rows

from solver.risk.affordability_fit import _AffordabilityLikelihood, _profile_point
from solver.risk.calibration import calibrate_hazards

TIER_NAMES = list(H0)


@pytest.fixture(scope="module")
def rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded SPEC §4 account-month rows: 100 accounts per tier over 12 months, κ = 0.2."""
    rng = np.random.default_rng(11)
    tiers = np.repeat(np.array(TIER_NAMES), 100)
    return spec_rows(rng, tiers, spec_afford(rng, tiers.size, 12), H0)


def _own_likelihood(tier, defaults, afford):
    """The test's own SPEC §4 negative log-likelihood and gradient in (h0_A..h0_E, κ)."""
    code = np.array([TIER_NAMES.index(t) for t in tier])
    u = 1 - afford

    def nll(theta: np.ndarray) -> float:
        h = theta[code]
        p = h + (1 - h) * theta[5] * u
        return -float(np.sum(defaults * np.log(p) + (1 - defaults) * np.log(1 - p)))

    def grad(theta: np.ndarray) -> np.ndarray:
        h = theta[code]
        p = h + (1 - h) * theta[5] * u
        dl_dp = defaults / p - (1 - defaults) / (1 - p)
        out = np.zeros(6)
        for k in range(5):
            out[k] = -np.sum((dl_dp * (1 - theta[5] * u))[code == k])
        out[5] = -np.sum(dl_dp * (1 - h) * u)
        return out

    return code, u, nll, grad


def test_observed_information_is_the_hessian_of_the_spec_likelihood(rows):
    """information() equals central differences of the test's own gradient (rel 1e-5)."""
    tier, defaults, afford = rows
    code, u, _, grad = _own_likelihood(tier, defaults, afford)
    likelihood = _AffordabilityLikelihood(code, 5, defaults, u, True, 0.0)
    for theta in (np.array([0.002, 0.004, 0.008, 0.015, 0.03, 0.2]),
                  np.array([0.01, 0.003, 0.02, 0.01, 0.05, 0.35])):  # fmt: skip
        step = 1e-6 * theta
        numeric = np.column_stack(
            [
                (grad(theta + np.eye(6)[k] * step[k]) - grad(theta - np.eye(6)[k] * step[k]))
                / (2 * step[k])
                for k in range(6)
            ]
        )
        np.testing.assert_allclose(
            likelihood.information(theta), numeric, rtol=1e-5, atol=1e-6 * np.abs(numeric).max()
        )


def test_expected_information_is_fisher_of_the_bernoulli_rows(rows):
    """information(expected=True) is Σ g gᵀ / (p (1 − p)), g = ∂p/∂θ, summed row by row here."""
    tier, defaults, afford = rows
    code, u, _, _ = _own_likelihood(tier, defaults, afford)
    theta = np.array([0.003, 0.005, 0.01, 0.02, 0.04, 0.25])
    fisher = np.zeros((6, 6))
    for c, w in zip(code, u, strict=True):
        h, kappa = theta[c], theta[5]
        p = h + (1 - h) * kappa * w
        g = np.zeros(6)
        g[c], g[5] = 1 - kappa * w, (1 - h) * w
        fisher += np.outer(g, g) / (p * (1 - p))
    likelihood = _AffordabilityLikelihood(code, 5, defaults, u, True, 0.0)
    np.testing.assert_allclose(likelihood.information(theta, expected=True), fisher, rtol=1e-10)


def test_fixed_kappa_information_has_only_the_hazards(rows):
    """With κ held, the information is the hazards' diagonal block at that κ."""
    tier, defaults, afford = rows
    code, u, _, _ = _own_likelihood(tier, defaults, afford)
    theta = np.array([0.003, 0.005, 0.01, 0.02, 0.04, 0.2])
    held = _AffordabilityLikelihood(code, 5, defaults, u, False, 0.2)
    full = _AffordabilityLikelihood(code, 5, defaults, u, True, 0.0)
    for expected in (False, True):
        block = held.information(theta[:5], expected=expected)
        assert block.shape == (5, 5)
        np.testing.assert_array_equal(block, full.information(theta, expected=expected)[:5, :5])


def test_newton_profile_point_matches_scipy_on_the_spec_likelihood(rows):
    """_profile_point's minimum over the others, h0_C held at 0.6x-1.6x its estimate,
    equals scipy L-BFGS-B's minimum of the test's own likelihood (abs 1e-7)."""
    tier, defaults, afford = rows
    code, u, nll, grad = _own_likelihood(tier, defaults, afford)
    likelihood = _AffordabilityLikelihood(code, 5, defaults, u, True, 0.0)
    bounds = [(1e-10, 1 - 1e-6)] * 5 + [(0.0, 1.0)]
    start = np.array([0.003, 0.005, 0.01, 0.02, 0.04, 0.2])
    others = np.array([0, 1, 3, 4, 5])
    for held in (0.006, 0.01, 0.016):
        point = start.copy()
        point[2] = held
        newton, at = _profile_point(
            likelihood.neg_log_likelihood, likelihood.information, point, others, bounds
        )
        assert at[2] == held

        def sub(x: np.ndarray, held: float = held) -> tuple[float, np.ndarray]:
            """The test's likelihood over the others, h0_C held."""
            theta = np.insert(x, 2, held)
            return nll(theta), np.delete(grad(theta), 2)

        reference = optimize.minimize(
            sub,
            np.delete(start, 2),
            jac=True,
            method="L-BFGS-B",
            bounds=[bounds[k] for k in others],
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000},
        )
        assert newton == pytest.approx(reference.fun, abs=1e-7)
        assert newton <= reference.fun + 1e-9  # Newton is at least as low


#: calibrate_hazards(...).summary() of two seeded books on main at 4776e94 (session 21's
#: profile-likelihood intervals, before the information matrix became one function); the
#: bounds are printed to 6 significant figures.
GOLDEN = {
    (3, 200, False): """\
tier A: h0 = 0.00170002 [0.000103398, 0.0064797] from 77 defaults in 1,862 exposure-months
tier B: h0 = 0.00199299 [0, 0.00772367] from 87 defaults in 1,793 exposure-months
tier C: h0 = 0.00825069 [0.00332385, 0.0156396] from 86 defaults in 1,801 exposure-months
tier D: h0 = 0.0171841 [0.00950314, 0.0269698] from 101 defaults in 1,742 exposure-months
tier E: h0 = 0.04053 [0.0281269, 0.054897] from 128 defaults in 1,482 exposure-months
kappa = 0.193303 [0.172118, 0.215337]""",
    (7, 300, True): """\
tier A: h0 = 1e-10 [0, 0.00131565] from 0 defaults in 2,802 exposure-months
tier B: h0 = 0.00198379 [0.000152284, 0.00647901] from 110 defaults in 2,765 exposure-months
tier C: h0 = 0.0187974 [0.0116494, 0.0273058] from 143 defaults in 2,618 exposure-months
tier D: h0 = 0.0215017 [0.0142037, 0.030086] from 146 defaults in 2,636 exposure-months
tier E: h0 = 0.0382234 [0.0284894, 0.0492034] from 175 defaults in 2,334 exposure-months
kappa = 0.137518 [0.120092, 0.155452]""",
}


@pytest.mark.parametrize(("seed", "per_tier", "no_default_in_a"), list(GOLDEN))
def test_profile_intervals_are_unchanged_to_their_printed_precision(
    seed, per_tier, no_default_in_a
):
    """mle-profile estimates and bounds print as on main (seeded books of tests/test_s21_coverage)."""
    rng = np.random.default_rng(seed)
    tiers = np.repeat(np.array(TIER_NAMES), per_tier)
    tier, defaults, afford = spec_rows(rng, tiers, spec_afford(rng, tiers.size, 12), H0)
    if no_default_in_a:
        defaults[tier == "A"] = 0.0
    result = calibrate_hazards(tier, defaults, afford_prob=afford)
    assert result.method == "mle-profile" and result.converged
    lines = result.summary().splitlines()[1:]
    assert "\n".join(lines) == GOLDEN[(seed, per_tier, no_default_in_a)]
