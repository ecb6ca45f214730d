"""Collection treatments and teams with a proven optimality gap (SPEC §8).

* :mod:`~solver.allocation.portfolio` -- :func:`allocate`, the book-level problem;
* :mod:`~solver.allocation.strategy` -- readable rules: a decision tree fitted to the
  optimal allocation, its fidelity, text/JSON/SQL exports;
* :mod:`~solver.allocation.horizon` -- treatments over several weeks (constrained MDP,
  Lagrangian bound, rolling horizon) against the one-week allocation;
* :mod:`~solver.allocation.gap` -- the Generalized Assignment core (problem, dual, primal,
  CP-SAT, LNS, the driver);
* :mod:`~solver.allocation.pricing` -- the dual's pricing, in process or on Dask;
* :mod:`~solver.allocation.catalogue` -- the treatment catalogue from its TOML file
  (:mod:`~solver.allocation.treatments`, :mod:`~solver.allocation.catalogue_tables`,
  :mod:`~solver.allocation.toml_fields`);
* :mod:`~solver.allocation.teams` -- teams and collectors from their TOML file;
* :mod:`~solver.allocation.values` -- the response model: payment probabilities, values;
* :mod:`~solver.allocation.compliance` -- compliance rules and the eligibility they give;
* :mod:`~solver.allocation.jurisdiction` -- the legal floors (``scenarios/compliance/``);
* :mod:`~solver.allocation.calendar` -- the contact calendar and its independent checker;
* :mod:`~solver.allocation.orlib` -- OR-Library GAP instance files;
* :mod:`~solver.allocation.orlib_registry` -- the GAP benchmark set and its known values;
* :mod:`~solver.allocation.gap_benchmark` -- the GAP benchmark protocol (``workout bench gap``).
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "allocate": "solver.allocation.portfolio",
    "AllocationResult": "solver.allocation.portfolio",
    "explain_allocation": "solver.allocation.strategy",
    "plan_horizon": "solver.allocation.horizon",
    "solve_gap": "solver.allocation.gap.solve",
    "AssignmentResult": "solver.allocation.gap.problem",
    "Catalogue": "solver.allocation.catalogue",
    "Teams": "solver.allocation.teams",
    "read_gap_file": "solver.allocation.orlib",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
