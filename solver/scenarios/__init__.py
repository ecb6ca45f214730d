"""What-if scenarios for portfolio managers (SPEC §9).

* :mod:`~solver.scenarios.spec` -- scenario files, loaded and validated;
* :mod:`~solver.scenarios.simulation` -- Monte Carlo paths, decisions, KPIs, sweeps;
* :mod:`~solver.scenarios.experiment` -- champion/challenger splits;
* :mod:`~solver.scenarios.report` -- tables, workbook, charts, HTML.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "load_scenario": "solver.scenarios.spec",
    "Scenario": "solver.scenarios.spec",
    "run_scenario": "solver.scenarios.simulation",
    "compare": "solver.scenarios.simulation",
    "run_sweep": "solver.scenarios.simulation",
    "simulate_paths": "solver.scenarios.simulation",
    "split_portfolio": "solver.scenarios.experiment",
    "evaluate_outcomes": "solver.scenarios.experiment",
    "write_scenario_report": "solver.scenarios.report",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
