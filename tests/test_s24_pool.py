"""s24-pool: `risk calibrate` writes hazards non-decreasing from A to E in every case.

Review s24 (MED): the pooling ran over the estimated tiers only, so a tier without exposure
kept its default and an outcome table A 10/100, C-E 1/100 (no B) wrote A = C = D = E =
0.0325 and B = 0.004 while the note said the tiers were ordered. A tier without exposure is
now held between its estimated neighbours' written hazards (docs/history.md, "Tier order").

The oracle is this file's own weighted PAVA over all five tiers, a tier without exposure
weighted ``EPS`` (its fallback carries no data): the limit of zero weight is the rule the
code states, computed another way.
"""

from __future__ import annotations

import math
import re
import tomllib

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout
from oracles import kappa_h0_mle

from solver.risk.calibration import calibrate_hazards
from solver.risk.calibration_result import DEFAULT_BEHAVIOUR, HazardCalibration

TIER_NAMES = "ABCDE"
DEFAULT = DEFAULT_BEHAVIOUR["base_hazard"]  # A 0.002, B 0.004, C 0.008, D 0.015, E 0.03
EPS = 1e-9  # the oracle's weight of a tier without exposure


def pava(values: list[float], weights: list[float]) -> list[float]:
    """Weighted isotonic (non-decreasing) fit: merge adjacent blocks while they invert."""
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for v, w in zip(values, weights, strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return [b[0] for b in blocks for _ in range(int(b[2]))]


def oracle(rows: dict[str, tuple[int, int]], fallback: dict[str, float]) -> dict[str, float]:
    """Written hazards by the oracle: rows are tier -> (exposure_months, defaults)."""
    values = [rows[t][1] / rows[t][0] if t in rows else fallback[t] for t in TIER_NAMES]
    weights = [float(rows[t][0]) if t in rows else EPS for t in TIER_NAMES]
    return dict(zip(TIER_NAMES, pava(values, weights), strict=True))


def calibrate(rows: dict[str, tuple[int, int]]) -> HazardCalibration:
    """The constant-hazard calibration of one row per tier (exposure_months, defaults)."""
    tiers = list(rows)
    return calibrate_hazards(
        np.array(tiers),
        np.array([rows[t][1] for t in tiers]),
        np.array([rows[t][0] for t in tiers]),
    )


def named_tiers(note: str | None) -> set[str]:
    """The tiers a pooling note names (pooled groups like "A, C-E" and held tiers)."""
    if note is None:
        return set()
    named: set[str] = set()
    pooled = re.search(r"tiers pooled: (.*?) \(their estimates", note)
    if pooled:
        for group in pooled.group(1).split("; "):
            for part in group.split(" at ")[0].split(", "):
                first, _, last = part.partition("-")
                named |= set(
                    TIER_NAMES[TIER_NAMES.index(first) : TIER_NAMES.index(last or first) + 1]
                )
    named |= set(re.findall(r"tier ([A-E]) (?:raised|lowered|base)", note))
    return named


def changed(rows: dict[str, tuple[int, int]], fallback: dict[str, float], written) -> set[str]:
    """Tiers whose written hazard differs from their own estimate or fallback."""
    own = {t: rows[t][1] / rows[t][0] if t in rows else fallback[t] for t in TIER_NAMES}
    return {t for t in TIER_NAMES if not math.isclose(own[t], written[t], rel_tol=1e-9)}


LAYOUTS = {
    # the review's table: B missing between A (inverted) and C-E
    "middle-missing-review": {"A": (100, 10), "C": (100, 1), "D": (100, 1), "E": (100, 1)},
    # C missing, B's estimate above C's default 0.008: C raised to B's
    "middle-missing-raised": {"A": (1000, 1), "B": (1000, 20), "D": (1000, 30), "E": (1000, 40)},
    # A missing, B-E below A's default 0.002: A lowered to B's
    "start-missing-lowered": {"B": (1000, 1), "C": (1000, 1), "D": (1000, 3), "E": (1000, 5)},
    # A, B missing, C-E inverted and pooled to 13/300 above both defaults: both kept
    "start-missing-kept": {"C": (100, 10), "D": (100, 2), "E": (100, 1)},
    # D, E missing below C's estimate 0.05: both raised
    "end-missing": {"A": (200, 1), "B": (200, 2), "C": (200, 10)},
    # every tier inverted, unequal exposure: one pool at sum d / sum E
    "all-inverted": {"A": (100, 5), "B": (200, 8), "C": (300, 9), "D": (400, 8), "E": (500, 5)},
    # only C observed, far above every default: D and E raised, A and B kept
    "single-tier": {"C": (50, 5)},
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_written_hazards_are_ordered_and_match_the_oracle(name) -> None:
    """Every layout writes non-decreasing hazards equal to the zero-weight PAVA oracle."""
    rows = LAYOUTS[name]
    result = calibrate(rows)
    written = result.base_hazard()
    values = [written[t] for t in TIER_NAMES]
    assert values == sorted(values), written
    assert written == pytest.approx(oracle(rows, DEFAULT), rel=1e-6)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_the_note_names_exactly_the_tiers_whose_written_value_moved(name) -> None:
    """The note names the tiers whose written hazard is not their estimate or default."""
    rows = LAYOUTS[name]
    result = calibrate(rows)
    expected = changed(rows, DEFAULT, oracle(rows, DEFAULT))
    assert named_tiers(result.pooling_note()) == expected
    assert expected  # each layout moves something


def test_the_review_table_writes_one_pooled_hazard_and_says_b_was_held(tmp_path) -> None:
    """A 10/100, C-E 1/100, no B: the TOML writes 13/400 for all five and the note says why."""
    path, out = tmp_path / "o.csv", tmp_path / "b.toml"
    rows = [("A", 100, 10), ("C", 100, 1), ("D", 100, 1), ("E", 100, 1)]
    pd.DataFrame(rows, columns=["tier", "exposure_months", "defaults"]).to_csv(path, index=False)
    code, stdout, err = run_workout("risk", "calibrate", path, "--out", out, "--no-png")
    assert code == 0, err
    text = out.read_text()
    assert tomllib.loads(text)["base_hazard"] == pytest.approx(dict.fromkeys(TIER_NAMES, 13 / 400))
    for said in (" ".join(stdout.split()), text):  # the console wraps long lines
        assert "tiers pooled: A, C-E at 0.0325" in said
        assert "tier B raised from the base 0.004 to tier A's 0.0325" in said
    assert "no exposure, base value kept" not in text  # B's summary line says it was held


def test_already_ordered_estimates_are_written_unchanged() -> None:
    """Ordered estimates and in-between defaults: written = d / E and defaults, no note."""
    rows = {"A": (1000, 1), "C": (1000, 9), "E": (1000, 40)}
    result = calibrate(rows)
    assert result.base_hazard() == {"A": 0.001, "B": 0.004, "C": 0.009, "D": 0.015, "E": 0.04}
    assert result.pooling_note() is None


def test_a_base_file_whose_hazards_decrease_is_held_in_order() -> None:
    """A --base with B 0.02 above C 0.01 (both without data): pooled, then held in order."""
    fallback = {**DEFAULT, "B": 0.02, "C": 0.01}
    rows = {"A": (1000, 1), "D": (1000, 30), "E": (1000, 40)}
    result = calibrate(rows)
    written = result.base_hazard(fallback)
    assert [written[t] for t in TIER_NAMES] == sorted(written.values())
    assert written == pytest.approx(oracle(rows, fallback), rel=1e-6)
    assert named_tiers(result.pooling_note(fallback)) == {"B", "C"}


def test_the_kappa_fit_writes_ordered_hazards_with_a_tier_without_data() -> None:
    """mle-profile: A's h0 above C's, B and E absent: written ordered, equal to the oracle."""
    rng = np.random.default_rng(24)
    tiers, afford, events = [], [], []
    for tier, h0, n in (("A", 0.06, 3000), ("C", 0.01, 3000), ("D", 0.02, 3000)):
        a = rng.uniform(0.3, 1.0, n)
        h = h0 + (1 - h0) * 0.2 * (1 - a)
        tiers += [tier] * n
        afford.append(a)
        events.append(rng.random(n) < h)
    result = calibrate_hazards(
        np.array(tiers), np.concatenate(events).astype(int), afford_prob=np.concatenate(afford)
    )
    assert result.method == "mle-profile" and result.kappa is not None
    written = result.base_hazard()
    assert [written[t] for t in TIER_NAMES] == sorted(written.values())
    est = {t.tier: t.hazard for t in result.tiers if t.estimated}
    assert est["A"] > est["C"]  # the data invert, so pooling is exercised
    values = [est.get(t, DEFAULT[t]) for t in TIER_NAMES]
    # s25: the kappa fit pools by its own likelihood (kappa as fitted), not by exposure
    # months: each pool's h0 maximises its rows' Bernoulli likelihood (SPEC §4's hazard)
    rows_tier, rows_event = np.array(tiers), np.concatenate(events).astype(float)
    rows_u = 1 - np.concatenate(afford)

    def pool_h0(group: list[str]) -> float:
        rows = np.isin(rows_tier, group)
        return kappa_h0_mle(rows_event[rows], rows_u[rows], result.kappa)

    pools: list[list[str]] = []
    pooled: list[float] = []
    for tier, value in est.items():
        pools.append([tier])
        pooled.append(value)
        while len(pooled) > 1 and pooled[-2] > pooled[-1]:
            pools[-2:], pooled[-2:] = [pools[-2] + pools[-1]], [pool_h0(pools[-2] + pools[-1])]
    expected = {t: v for pool, v in zip(pools, pooled, strict=True) for t in pool}
    for i, t in enumerate(TIER_NAMES):  # a tier without data held between its neighbours
        if t not in est:
            low = max((expected[n] for n in TIER_NAMES[:i] if n in est), default=0.0)
            high = min((expected[n] for n in TIER_NAMES[i + 1 :] if n in est), default=1.0)
            expected[t] = min(max(DEFAULT[t], low), high)
    assert written == pytest.approx(expected, rel=1e-6)
    moved = {t for t in TIER_NAMES if not math.isclose(values[TIER_NAMES.index(t)], written[t])}
    assert "B" in moved and named_tiers(result.pooling_note()) == moved


def test_a_base_file_fallback_is_held_in_the_file_and_the_output(tmp_path) -> None:
    """--base E 0.005 below D's 0.03 estimate: E written at 0.03, named in stdout and TOML."""
    path, out, base = tmp_path / "o.csv", tmp_path / "b.toml", tmp_path / "base.toml"
    base.write_text("[base_hazard]\nE = 0.005\n")
    rows = [("A", 1000, 2), ("B", 1000, 4), ("C", 1000, 8), ("D", 1000, 30)]
    pd.DataFrame(rows, columns=["tier", "exposure_months", "defaults"]).to_csv(path, index=False)
    code, stdout, err = run_workout(
        "risk", "calibrate", path, "--base", base, "--out", out, "--no-png"
    )
    assert code == 0, err
    text = out.read_text()
    written = tomllib.loads(text)["base_hazard"]
    assert written == pytest.approx({"A": 0.002, "B": 0.004, "C": 0.008, "D": 0.03, "E": 0.03})
    for said in (" ".join(stdout.split()), text):
        assert "tier E raised from the base 0.005 to tier D's 0.03" in said
        assert "tiers pooled" not in said
