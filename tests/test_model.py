"""Tests of the behaviour-model evaluator (SPEC §4) against hand derivations."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.core.contract import status_quo, status_quo_batch
from solver.core.evaluation import afford_prob, evaluate, evaluate_batch
from solver.core.generate import generate_portfolio
from solver.core.model import SCALAR_INPUTS, AccountParams, BehaviourModel
from solver.core.policy import Policy
from solver.errors import InputError
from solver.plans.context import context_from_frame

ROOT = Path(__file__).resolve().parents[1]
DELTA = 1.0 / (1.0 + 0.03 / 12.0)  # default cost of funds 3 %


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _account(**fields):
    base = {
        "account_id": "T",
        "product": "card_instalment",
        "principal": 10000.0,
        "annual_rate": 0.0,
        "remaining_term": 12,
        "income": 8000.0,
        "expenses": 3000.0,
        "tier": "B",
    }
    base.update(fields)
    return base


def test_hand_computation_deterministic_income():
    """Account 1 (cv = 0, always affordable, unsecured) matches a month-by-month hand derivation.

    Derivation: tier B, h0 = 0.004; income 8000 ≥ 1000 + 3000 every month, so a_t = 1 and
    h_t = 0.004; S_t = 0.996^t. No vehicle: C_t = 0, R_t = 0.10·EAD_t with EAD = 3000, 2000, 1000.
    NPV = Σ δ^t S_t·1000 + Σ δ^(t+4) S_{t−1}·0.004·0.1·EAD_t.
    """
    acc = _account(principal=3000.0, remaining_term=3, income_cv=0.0)
    ev = evaluate(acc, [1000.0, 1000.0, 1000.0], exposures=[3000.0, 2000.0, 1000.0])
    s = [1.0, 0.996, 0.996**2, 0.996**3]
    paid = sum(DELTA**t * s[t] * 1000.0 for t in (1, 2, 3))
    rec = sum(
        DELTA ** (t + 4) * s[t - 1] * 0.004 * 0.1 * e
        for t, e in zip((1, 2, 3), (3000, 2000, 1000), strict=True)
    )
    assert ev.npv == pytest.approx(paid + rec, rel=1e-12)
    assert ev.pd_life == pytest.approx(1 - 0.996**3, rel=1e-12)
    assert ev.pd_12m == pytest.approx(1 - 0.996**3, rel=1e-12)  # term < 12: whole life
    # EL = Σ S_{t-1} h_t (EAD_t − R_t) = Σ S_{t-1}·0.004·0.9·EAD_t
    el = sum(s[t - 1] * 0.004 * 0.9 * e for t, e in zip((1, 2, 3), (3000, 2000, 1000), strict=True))
    assert ev.expected_loss == pytest.approx(el, rel=1e-12)


def test_hand_computation_lognormal_income_with_vehicle():
    """Account 2 (lognormal income, secured, tier D) matches a hand derivation of a_t, h_t and R_t.

    Derivation: income 5000, cv 0.25 → s² = ln(1.0625), μ = ln 5000 − s²/2; threshold
    2000 + 2000 + 500 = 4500; a = 1 − Φ((ln 4500 − μ)/s) ≈ 0.6197; h = 0.015 + 0.985·0.2·(1 − a).
    Vehicle 50,000: C_t = 50000·0.85^((t+4)/12)·0.75 − 3000 (≈ 33,003 for t = 1), above the
    exposures 4000 and 2000, so R_t = EAD_t.
    """
    acc = _account(
        product="auto_loan",
        principal=4000.0,
        remaining_term=2,
        income=5000.0,
        income_cv=0.25,
        expenses=2000.0,
        other_debt=500.0,
        vehicle_value=50000.0,
        tier="D",
    )
    ev = evaluate(acc, [2000.0, 2000.0], exposures=[4000.0, 2000.0])
    s2 = math.log(1.0625)
    mu = math.log(5000.0) - s2 / 2
    a = 1.0 - _phi((math.log(4500.0) - mu) / math.sqrt(s2))
    assert a == pytest.approx(0.6197, abs=5e-4)
    h = 0.015 + 0.985 * 0.2 * (1 - a)
    c1 = 50000 * 0.85 ** (5 / 12) * 0.75 - 3000
    assert c1 > 4000
    npv = DELTA * (1 - h) * 2000 + DELTA**2 * (1 - h) ** 2 * 2000
    npv += DELTA**5 * h * 4000 + DELTA**6 * (1 - h) * h * 2000
    assert ev.afford_prob == pytest.approx([a, a], rel=1e-9)
    assert ev.hazard == pytest.approx([h, h], rel=1e-9)
    assert ev.npv == pytest.approx(npv, rel=1e-9)
    assert ev.expected_loss == pytest.approx(0.0, abs=1e-9)  # fully collateralised


def test_hand_computation_income_recovery_path():
    """Account 3 (income recovering linearly over 4 months, cv = 0, tier E) matches a hand derivation.

    Derivation: Ī_t = 2000 + 6000·min(1, t/4) = 3500, 5000, 6500, 8000; threshold 3000 + 2000 =
    5000, so a = 0, 1, 1, 1 (Ī_2 = 5000 meets the threshold exactly); h = 0.03 + 0.97·0.2 = 0.224,
    then 0.03. Unsecured: R_t = 0.1·EAD_t.
    """
    acc = _account(
        income=2000.0,
        income_normal=8000.0,
        recovery_months=4,
        income_cv=0.0,
        expenses=2000.0,
        tier="E",
    )
    pay = [3000.0] * 4
    ead = [12000.0, 9000.0, 6000.0, 3000.0]
    ev = evaluate(acc, pay, exposures=ead)
    assert ev.expected_income == pytest.approx([3500, 5000, 6500, 8000])
    assert ev.afford_prob == pytest.approx([0, 1, 1, 1])
    hz = [0.224, 0.03, 0.03, 0.03]
    assert ev.hazard == pytest.approx(hz, rel=1e-12)
    s = [1.0]
    for h in hz:
        s.append(s[-1] * (1 - h))
    npv = sum(DELTA ** (t + 1) * s[t + 1] * 3000 for t in range(4))
    npv += sum(DELTA ** (t + 1 + 4) * s[t] * hz[t] * 0.1 * ead[t] for t in range(4))
    assert ev.npv == pytest.approx(npv, rel=1e-12)
    assert ev.survival == pytest.approx(s[1:], rel=1e-12)


def test_affordability_edge_cases():
    """a_t = 1 when nothing is owed and there are no expenses; 0 with no income; step with cv = 0."""
    params = AccountParams(
        income=[0.0, 0.0, 5000.0, 5000.0],
        income_normal=[0.0, 0.0, 5000.0, 5000.0],
        recovery_months=[0, 0, 0, 0],
        income_cv=[0.25, 0.25, 0.0, 0.0],
        expenses=[0.0, 100.0, 1000.0, 1000.0],
        other_debt=[0.0, 0.0, 0.0, 0.0],
        base_hazard=[0.01] * 4,
        vehicle_value=[0.0] * 4,
    )
    a = afford_prob(params, np.array([[0.0], [0.0], [4000.0], [4000.01]]))
    assert a[:, 0].tolist() == [1.0, 0.0, 1.0, 0.0]


@settings(max_examples=200, deadline=None)
@given(
    payments=st.lists(st.floats(0, 20000), min_size=1, max_size=36),
    income=st.floats(0, 50000),
    cv=st.floats(0, 1),
    vehicle=st.floats(0, 300000),
    tier=st.sampled_from("ABCDE"),
)
def test_npv_bounded_by_payments_plus_max_recovery(payments, income, cv, vehicle, tier):
    """NPV ≤ Σ payments + max_t recovery, and 0 ≤ survival ≤ 1 non-increasing."""
    pay = np.array(payments)
    ead = np.cumsum(pay[::-1])[::-1]
    params = AccountParams(
        income=[income],
        income_normal=[income],
        recovery_months=[0],
        income_cv=[cv],
        expenses=[1000.0],
        other_debt=[0.0],
        vehicle_value=[vehicle],
        base_hazard=[0.01],
    )
    ev = evaluate_batch(params, pay[None, :], ead[None, :])
    assert ev.npv[0] <= pay.sum() + ead.max() + 1e-6
    assert np.all(np.diff(ev.survival[0]) <= 1e-15)
    assert 0 <= ev.survival[0, -1] <= 1


def test_status_quo_reconciles_and_matches_batch():
    """The status quo pays arrears + fees + instalment in month 1, clears the balance, and the batch form agrees."""
    import pandas as pd

    acc = _account(
        product="auto_loan",
        principal=50000.0,
        interest_due=600.0,
        fees_due=200.0,
        arrears=3000.0,
        annual_rate=0.08,
        remaining_term=24,
        tier="C",
    )
    sched = status_quo(acc)
    sched.check()
    assert sched.term == 24
    assert sched.balance[-1] == 0
    # SPEC §4's instalment written out: 50,000 + 600 − 3,000 = 47,600 over 24 months at
    # 8 %/12 is 47,600·i/(1 − (1 + i)^−24) = 2,152.819…, so 2,152.82 a month
    i = 0.08 / 12
    exact = 47_600 * i / (1 - (1 + i) ** -24)
    assert round(exact, 2) == 2152.82
    assert sched.payments[0] == 3000 + 200 + 2152.82
    assert sched.payments[1:-1].tolist() == [2152.82] * 22
    from solver.core.account import Account

    frame = pd.DataFrame([Account.from_mapping(acc).to_dict()])
    pay, ead, term = status_quo_batch(frame)
    assert term.tolist() == [24]
    assert pay[0] == pytest.approx(sched.payments, abs=0.05)
    assert ead[0] == pytest.approx(sched.exposures, abs=0.05)


def test_default_toml_equals_code_defaults(tmp_path):
    """scenarios/behaviour.toml holds exactly the code defaults, and to_toml/from_toml round-trips."""
    shipped = BehaviourModel.from_toml(ROOT / "scenarios" / "behaviour.toml")
    assert shipped == BehaviourModel()
    custom = BehaviourModel(
        kappa=0.3, base_hazard={"A": 0.001, "B": 0.002, "C": 0.004, "D": 0.01, "E": 0.05}
    )
    custom.to_toml(tmp_path / "m.toml")
    assert BehaviourModel.from_toml(tmp_path / "m.toml") == custom
    with open(tmp_path / "m.toml", "rb") as fh:
        assert tomllib.load(fh)["base_hazard"]["E"] == 0.05


def test_model_toml_errors_name_key(tmp_path):
    """An unknown key in a model TOML is an InputError naming the key and the closest valid one."""
    bad = tmp_path / "bad.toml"
    bad.write_text("kapa = 0.3\n")
    with pytest.raises(InputError) as err:
        BehaviourModel.from_toml(bad)
    assert "kapa" in str(err.value) and "kappa" in str(err.value)
    bad.write_text("kappa = 1.5\n")
    with pytest.raises(InputError, match="kappa"):
        BehaviourModel.from_toml(bad)


def test_batch_rows_independent_of_batch_company():
    """A schedule's NPV is bit-identical whether evaluated alone or inside a larger batch."""
    rng = np.random.default_rng(3)
    n, horizon = 50, 36
    params = AccountParams(
        income=rng.uniform(3000, 20000, n),
        income_normal=rng.uniform(3000, 20000, n),
        recovery_months=rng.integers(0, 12, n),
        income_cv=rng.uniform(0, 0.5, n),
        expenses=rng.uniform(1000, 5000, n),
        other_debt=rng.uniform(0, 2000, n),
        vehicle_value=rng.uniform(0, 100000, n),
        base_hazard=rng.uniform(0.002, 0.03, n),
    )
    pay = rng.uniform(0, 5000, (n, horizon))
    ead = np.cumsum(pay[:, ::-1], axis=1)[:, ::-1]
    whole = evaluate_batch(params, pay, ead)
    for i in (0, 17, 49):
        alone = evaluate_batch(params.take(np.array([i])), pay[i : i + 1], ead[i : i + 1])
        assert alone.npv[0] == whole.npv[i]
        assert alone.expected_loss[0] == whole.expected_loss[i]


def test_status_quo_instalment_rounds_half_cents_up():
    """The status quo's instalment rounds a half cent up (SPEC §2's one money rounding, as
    every other amount): 0.25 over 2 months at 0 % is 0.125 exactly, so 0.13 then the 0.12
    that clears (half-even rounding would give 0.12 then 0.13)."""
    acc = _account(principal=0.25, remaining_term=2)
    sched = status_quo(acc)
    sched.check()
    assert [round(p, 2) for p in sched.payments] == [0.13, 0.12]


def test_params_from_columns_are_the_frames_values():
    """:meth:`AccountParams.from_columns` (columns a caller took out of the frame once, as
    ``context_from_frame`` does) holds each account's own values: every scalar input, the
    tier's base hazard, the forecast by month (NaN after it) and the inflows summed by month."""
    frame = generate_portfolio(40, seed=4)
    frame["income_forecast"] = [[1000.0 + i, 1200.0] if i % 3 == 0 else None for i in range(40)]
    frame["inflows"] = [[(2, 500.0), (2, 25.0)] if i % 4 == 0 else None for i in range(40)]
    model = BehaviourModel()
    got = AccountParams.from_columns(
        {k: frame[k].to_numpy(float) for k in SCALAR_INPUTS},
        frame["tier"].to_numpy(object),
        frame["income_forecast"],
        frame["inflows"],
        model,
    )
    ctx = context_from_frame(frame, Policy(), model)
    for params in (got, ctx.kernel.params):
        for i, row in enumerate(frame.itertuples(index=False)):
            for name in SCALAR_INPUTS:
                want = float(getattr(row, name))
                assert getattr(params, name)[i] == want or want != want, (i, name)
            assert params.base_hazard[i] == model.base_hazard[row.tier]
            fc = row.income_forecast or []
            assert list(params.income_forecast[i, : len(fc)]) == fc
            assert np.isnan(params.income_forecast[i, len(fc) :]).all()
            assert params.inflows[i, 1] == (525.0 if i % 4 == 0 else 0.0)  # month 2
