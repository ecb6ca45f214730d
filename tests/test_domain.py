"""The vocabulary defined once (issue 14): enums, their plain-string tuples, and every
CP-SAT status mapped (``MODEL_INVALID`` is a bug, never a time limit)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from solver.domain import (
    BUCKETS,
    CP_SAT_STATUS,
    DEFERRAL_MODES,
    FAMILIES,
    OFFERED_FAMILIES,
    TIERS,
    Family,
    Status,
    cp_sat_status,
)


def test_tuples_are_the_enum_values_in_display_order() -> None:
    assert TIERS == ("A", "B", "C", "D", "E")
    assert BUCKETS == ("M0", "M1", "M2", "M3", "M4+")
    assert DEFERRAL_MODES == ("capitalize", "interest_only", "waive")
    assert FAMILIES[-1] == Family.WATERFALL and Family.WATERFALL not in OFFERED_FAMILIES
    assert all(type(x) is str for x in TIERS + BUCKETS + FAMILIES + DEFERRAL_MODES)


def test_every_module_uses_the_one_definition() -> None:
    import solver.account
    import solver.model
    import solver.money
    import solver.plans
    import solver.policy

    assert solver.account.TIERS is TIERS and solver.model.TIERS is TIERS
    assert solver.account.DPD_BUCKETS is BUCKETS
    assert solver.money.DEFERRAL_MODES is DEFERRAL_MODES is solver.policy.DEFERRAL_MODES
    assert solver.plans.FAMILIES is FAMILIES and solver.plans.OFFERED is OFFERED_FAMILIES
    import solver.allocation_catalogue
    import solver.risk.calibration
    from solver.model import BehaviourModel

    assert solver.allocation_catalogue.TIERS is TIERS is solver.risk.calibration.TIERS
    assert solver.allocation_catalogue.BUCKETS is BUCKETS
    defaults = solver.risk.calibration.DEFAULT_BEHAVIOUR
    assert defaults["base_hazard"] == dict(BehaviourModel().base_hazard)
    assert defaults["kappa"] == BehaviourModel().kappa


def test_status_reads_and_writes_as_its_name(tmp_path) -> None:
    assert str(Status.OPTIMAL) == "OPTIMAL" == Status.OPTIMAL
    assert f"{Status.NPV_TEST_FAILED}" == "NPV_TEST_FAILED"
    assert json.dumps({"s": Status.RECOMMENDED}) == '{"s": "RECOMMENDED"}'
    frame = pd.DataFrame({"status": [Status.RECOMMENDED, Status.ERROR]})
    frame.to_csv(tmp_path / "s.csv", index=False)
    assert (tmp_path / "s.csv").read_text().split() == ["status", "RECOMMENDED", "ERROR"]
    assert Status.OPTIMAL.has_solution and not Status.TIME_LIMIT.has_solution


def test_every_cp_sat_status_is_mapped() -> None:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    codes = (
        cp_model.UNKNOWN,
        cp_model.MODEL_INVALID,
        cp_model.FEASIBLE,
        cp_model.INFEASIBLE,
        cp_model.OPTIMAL,
    )
    names = {solver.status_name(c) for c in codes}
    assert names == set(CP_SAT_STATUS)
    assert cp_sat_status("UNKNOWN") is Status.TIME_LIMIT
    assert cp_sat_status("MODEL_INVALID") is Status.MODEL_INVALID
    with pytest.raises(ValueError, match="unknown CP-SAT status"):
        cp_sat_status("SOMETHING_NEW")


def test_model_invalid_is_an_error_not_a_time_limit(monkeypatch) -> None:
    from ortools.sat.python import cp_model

    from solver.gap import solve_gap_cpsat_plain

    monkeypatch.setattr(
        cp_model.CpSolver, "solve", lambda self, model, *a, **k: cp_model.MODEL_INVALID
    )
    cost = np.array([[1.0, 2.0], [2.0, 1.0]])
    resource = np.ones((2, 2))
    with pytest.raises(RuntimeError, match="MODEL_INVALID"):
        solve_gap_cpsat_plain(cost, resource, np.array([2.0, 2.0]), time_limit=5)
