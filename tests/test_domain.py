"""The vocabulary defined once (issue 14): enums, their plain-string tuples, and every
CP-SAT status mapped (``MODEL_INVALID`` is a bug, never a time limit)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import solver
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
    import solver.core.amortisation
    import solver.core.model_params
    import solver.core.policy
    import solver.core.schema
    import solver.core.tiering
    import solver.plans.choices
    import solver.plans.families
    import solver.plans.options

    assert solver.core.schema.TIERS is TIERS and solver.core.model_params.TIERS is TIERS
    assert solver.core.tiering.TIERS is TIERS
    assert solver.core.schema.DPD_BUCKETS is BUCKETS and solver.core.tiering.DPD_BUCKETS is BUCKETS
    assert (
        solver.core.amortisation.DEFERRAL_MODES
        is DEFERRAL_MODES
        is solver.core.policy.DEFERRAL_MODES
    )
    assert (
        solver.plans.options.OFFERED_FAMILIES is OFFERED_FAMILIES
        and solver.plans.choices.OFFERED_FAMILIES is OFFERED_FAMILIES
    )
    assert solver.plans.families.MODE_NAMES is DEFERRAL_MODES
    import solver.allocation.catalogue
    import solver.risk.calibration
    from solver.core.model import BehaviourModel

    assert solver.allocation.catalogue.TIERS is TIERS is solver.risk.calibration.TIERS
    assert solver.allocation.catalogue.BUCKETS is BUCKETS
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

    from solver.allocation.gap.cpsat import solve_gap_cpsat_plain

    monkeypatch.setattr(
        cp_model.CpSolver, "solve", lambda self, model, *a, **k: cp_model.MODEL_INVALID
    )
    cost = np.array([[1.0, 2.0], [2.0, 1.0]])
    resource = np.ones((2, 2))
    with pytest.raises(RuntimeError, match="MODEL_INVALID"):
        solve_gap_cpsat_plain(cost, resource, np.array([2.0, 2.0]), time_limit=5)


def test_plan_cache_key_covers_the_plan_code():
    """Every file the plan-stage cache key hashes exists, and every module of the plan search
    is among them (a stale cache after an edit would give old plans)."""
    from solver.scenarios.plan_stage import PLAN_CODE

    root = Path(solver.__file__).parent
    assert all((root / name).is_file() for name in PLAN_CODE), PLAN_CODE
    search = {
        f"{folder}/{p.name}" for folder in ("plans", "core") for p in (root / folder).glob("*.py")
    }
    assert search <= set(PLAN_CODE), search - set(PLAN_CODE)
    assert {"core/model.py", "core/amortisation.py", "plans/search.py"} <= set(PLAN_CODE)
    # every other solver module the planner imports is in the key too (a fresh interpreter:
    # what plan_portfolio loads, outside plans/ and core/)
    import subprocess
    import sys

    code = (
        "import sys, solver.plans.portfolio, solver.plans.options;"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('solver.'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    others = {
        m.removeprefix("solver.").replace(".", "/") + ".py"
        for m in loaded
        if not m.startswith(("solver.plans", "solver.core"))
        and (root / (m.removeprefix("solver.").replace(".", "/") + ".py")).is_file()
    }
    assert others <= set(PLAN_CODE), others - set(PLAN_CODE)
