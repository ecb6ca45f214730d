"""What the ``custom`` / ``step`` search is asked and what it answers.

:class:`SearchParams` are the solver parameters of the plan search (not policy: they trade
time for proof), :class:`RunSolution` the best plan of one account with its certificate.
The search itself is :mod:`solver.plans.search`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.domain import Status


@dataclass(frozen=True)
class SearchParams:
    """Solver parameters of the plan search (not policy: they trade time for proof).

    Parameters
    ----------
    grid_levels
        Most amounts on an account's payment grid for ``custom`` / ``step``.
    beam_width
        Most search states kept per account and month; larger proves optimality more
        often and costs time.
    buckets
        Balance intervals of the bounding dynamic programme per month (``buckets + 1``
        nodes); the bound's error shrinks with the square of the spacing.
    tail_bound
        Also bound states in their last phase (whose path is forced: one amount until
        cleared) by a table of that path (:func:`solver.plans.bounds._tail_tables`), which respects the phase
        limit; tighter pruning and ranking for about a third more time.
    last_phase_width
        If positive, states in their last phase (which do not branch) are kept in their
        own beam of this width instead of competing with the others for ``beam_width``.
    target_gap
        Certified relative gap aimed at: ``custom`` plans proved no closer are searched
        again with finer bound tables.
    refine_buckets
        The finer ``buckets`` to choose from for those plans (see :func:`solver.plans.refine.refine`).
    includes_default
        Run the default search first and make its grid and its custom and step plans
        part of this one, so this search never finds less (``thorough`` does).
    free_family
        ``custom`` as the free month-by-month family (issue 13): the better of the grid
        plan and a rollout on the free bound's tables, certified against the free bound
        (a bound over every policy-feasible amount, not the grid;
        :mod:`solver.plans.free_custom`). Costs the free bound per account.
    free_buckets
        Balance intervals of the free bound's tables (the rollout reads the same tables).
    free_refine_buckets
        Finer free tables, in order, for accounts whose free gap stays above ``target_gap``
        (or 0.1 % if that is larger: :func:`solver.plans.free_custom.free_family_step`;
        sizes the gap cannot reach it at are skipped:
        :func:`solver.plans.free_custom.next_tier`).
        Decision (session 15): 256 then (384, 768, 1536) rather than 384 then (768,
        1536): the tables' CPU grows much more slowly than their size (65 ms an account
        at 384 buckets, 49 at 256), and 84 % of the accounts certify at 256 already; the
        same share of recommendations within 0.1 % on the benchmark book
        (``docs/free_family.md``, session 15).
    holiday_cycles
        Also continue, in the ``custom`` search, the holiday-cycle walks of
        :mod:`solver.plans.holiday_cycles` (holidays mid-plan of the shape the free
        optimum takes; not certified: the certificate stays over the grid plans with a
        leading holiday). Only where the policy sets ``holidays_mid_plan`` (off by
        default: the cycle ``D× 0 → min_payment → D× 0 …`` is a re-age).
    """

    grid_levels: int = 12
    beam_width: int = 32
    buckets: int = 192
    tail_bound: bool = False
    last_phase_width: int = 0
    target_gap: float = 1e-3
    refine_buckets: tuple[int, ...] = (384, 768, 1536, 3072)
    includes_default: bool = False
    free_family: bool = False
    free_buckets: int = 256
    free_refine_buckets: tuple[int, ...] = (384, 768, 1536)
    holiday_cycles: bool = True

    @classmethod
    def thorough(cls) -> SearchParams:
        """Finer grid, wider beam, finer and phase-aware bound, and ``custom`` as the free
        family (:attr:`free_family`): better plans, smaller gaps, slower.

        Decision (session 17): ``target_gap`` stays 1e-4 for the grid search (its
        refinement and the smoothing's allowance); the free tables are refined toward
        0.1 % only (:func:`solver.plans.free_custom.free_family_step`). Measured on the
        first 250 accounts of ``generate_portfolio(20000, seed=11)`` (alternated, CPU):
        ``target_gap`` 1e-3 for everything cost 72.7–73.1 CPU-ms per account against
        277–280 but changed 78 of the 169 recommended plans (8 worse by more than
        0.01 %, the worst by 0.030 %; Σ NPV −234.51), so it was not taken; the free
        refinement alone at 0.1 % cost 72.2–73.4 against 279.9–283.9 with the same 169
        plans to the cent, every one within 0.1 % of the free bound
        (``docs/free_family.md``, session 17)."""
        return cls(
            grid_levels=16,
            beam_width=96,
            buckets=256,
            tail_bound=True,
            last_phase_width=96,
            target_gap=1e-4,
            refine_buckets=(512, 1024, 2048, 4096),
            includes_default=True,
            free_family=True,
        )

    def __post_init__(self) -> None:
        for name in ("grid_levels", "beam_width", "buckets", "free_buckets"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if int(self.last_phase_width) < 0:
            raise ValueError(f"last_phase_width must be at least 0, got {self.last_phase_width}")


@dataclass(frozen=True)
class RunSolution:
    """Best ``custom`` or ``step`` plan of one account.

    Attributes
    ----------
    payments
        Payment per month in CNY (the last one clears the balance), or ``None`` if
        no plan on the grid satisfies the policy.
    status
        ``OPTIMAL`` (proved), ``FEASIBLE`` (best found, with a bound) or ``INFEASIBLE``.
    objective, bound, gap
        Model NPV of the plan (float search), a proven upper bound on the best NPV
        within the family's grid, and ``(bound − objective) / |bound|``.
    states
        Search states expanded.
    """

    payments: np.ndarray | None
    status: Status
    objective: float
    bound: float
    gap: float
    states: int
    grid_step: float
    grid: np.ndarray
