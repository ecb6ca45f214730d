"""What-if scenarios for portfolio managers (SPEC §9).

* :mod:`~solver.scenarios.spec` -- scenario files, loaded and validated;
* :mod:`~solver.scenarios.shocks` -- the ``[shocks]`` table and what it does to each account;
* :mod:`~solver.scenarios.run` -- running a scenario, stage by stage
  (:func:`~solver.scenarios.run.run_scenario`); :mod:`~solver.scenarios.same_book` -- a
  baseline's check that it runs on the same book;
* :mod:`~solver.scenarios.decisions` -- the path inputs the plan stage
  (:mod:`~solver.scenarios.plan_stage`, with its cache) and the treatment stage
  (:mod:`~solver.scenarios.treatment_stage`) give;
* :mod:`~solver.scenarios.path_inputs` -- the per-account arrays a path is drawn from, and
  their exact expectation;
* :mod:`~solver.scenarios.paths` -- the Monte Carlo kernel's month loop (each account's
  random stream: :mod:`~solver.scenarios.random_streams`; per-path sums:
  :mod:`~solver.scenarios.path_outcomes`);
* :mod:`~solver.scenarios.kpi_defs` -- what each KPI is; :mod:`~solver.scenarios.kpis` --
  their per-path values and tables with 95 % intervals; :mod:`~solver.scenarios.scenario_result`
  -- a run's result and its deltas against a baseline;
* :mod:`~solver.scenarios.sweep` -- grids of scenario runs and their efficient frontier;
* :mod:`~solver.scenarios.experiment` -- champion/challenger splits; their outcomes
  (:mod:`~solver.scenarios.experiment_outcomes`) and evaluation
  (:mod:`~solver.scenarios.experiment_eval`, tests in :mod:`~solver.scenarios.experiment_stats`);
* :mod:`~solver.scenarios.report` -- a run's and a sweep's files (the pieces: ``report_tables``,
  ``workbook``, ``report_charts``, ``report_html``).
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "load_scenario": "solver.scenarios.spec",
    "Scenario": "solver.scenarios.spec",
    "run_scenario": "solver.scenarios.run",
    "compare": "solver.scenarios.scenario_result",
    "run_sweep": "solver.scenarios.sweep",
    "simulate_paths": "solver.scenarios.paths",
    "split_portfolio": "solver.scenarios.experiment",
    "evaluate_outcomes": "solver.scenarios.experiment_eval",
    "write_scenario_report": "solver.scenarios.report",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
