"""The capacity rows' shadow prices a solve reports, how they were obtained, and their certificate.

Any row prices ``λ ≥ 0`` are a feasible point of the LP relaxation's dual, whose objective
(minimisation) is the Lagrangian value ``L(λ) = Σ_j min_o (c_oj + λ·w_oj) − λ·b``
(:mod:`~solver.allocation.gap.dual`). Weak duality brackets the LP optimum,
``L(λ) ≤ LP ≤ objective`` of any feasible assignment, so ``objective − L(λ)`` is a proven
upper bound on the ``ε`` of the prices as an ε-optimal dual (the per-row brackets of
``tests/test_s18_shadow_prices.py`` follow from it), known as soon as ``L(λ)`` is.

Which LP. A transportation-shaped problem (:func:`~solver.allocation.gap.flow.row_units`:
every pair of a row uses ``unit_r`` of it) has the *slot form*: row ``r`` takes at most
``slots_r = ⌊b_r / unit_r⌋`` jobs. Its LP is integral (the integer problem's own LP), and it
is tighter than the LP over the rows' raw capacity (minutes) by the capacity too small for
one more job, ``slack_r = b_r − unit_r·slots_r`` (:func:`slot_slack`). At prices per job
``μ_r = λ_r·unit_r`` its dual value is ``L_s(μ) = L(λ) + Σ_r λ_r·slack_r``
(:func:`lagrangian_value`); there the certificate is against the slot form, where the
optimum is the integer optimum and a proven-optimal assignment certifies ``ε`` exactly.
Against the LP over minutes the same prices are within ``Σ_r λ_r·slack_r`` more (less than
one job's price per row: the leftover minutes of a team cannot take a whole treatment).

The candidates:

* the Lagrangian ascent's prices: ``L(λ)`` is its bound (``dual.bound`` is ``L`` of the
  prices it returns);
* a flow's node prices ``μ``, per unit of row use (:func:`node_row_prices`). The full
  min-cost flow's (:func:`~solver.allocation.gap.flow.solve_transport`) are the least
  prices that prove its assignment optimal: exact slot-form duals, ``L_s(μ) = objective``
  (less the rounding allowance when the costs did not scale to integers). The core flow's
  (:mod:`~solver.allocation.gap.coreflow`): its bound is ``L_s(μ)`` over *every* job, not
  only the core's (each job outside the core is priced under ``μ``, so a job that prices
  out lowers the bound rather than being missed), less the rounding allowance; a core flow
  that proved its assignment optimal has ``L_s(μ) = objective``.

Of the candidates a solve meets, the one with the larger dual value is kept
(:func:`offer_prices`; the full flow's are offered first, so on a tie they stay); when the
run finishes (:func:`~solver.allocation.gap.solve.solve_assignment`) :func:`certify_prices`
records ``price_gap``, ``(objective − value) / max(1, |objective|)`` against the final
objective, and, where a certificate is required, leaves the prices out (the table's blank)
when it exceeds :data:`PRICE_GAP_TOLERANCE`.

Where it is required: on every problem with a slot form past the exact CP-SAT path
(``stats["slot_slack"]``, :func:`certificate_required`) -- the full-flow, core-flow and
core-first paths. Their runs may end after a short dual: measured, 120,000 and 250,000
generated accounts at a 3-4 s limit (core-first): Lagrangian prices after 1-14
iterations, gaps of 34 % and 144 %, a quarter to a half of the optimal prices; 20,000
accounts at a 1-s limit (full flow, session 20): the ascent cut by the clock, prices all 0
or 1.83 CNY/min at gaps of 4-27 %, where the converged ones reach 46 CNY/min. The full
flow's own prices are exact whenever it ran, so such a book now shows the same certified
prices at 1 s and at 30 s. Elsewhere (the exact CP-SAT path of small problems, problems
that are not transportation-shaped) the prices are the converged ascent's
(``tests/test_s18_shadow_prices.py``) and are shown as before; ``price_gap`` says how far
they are certified.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np

__all__ = [
    "PRICE_GAP_TOLERANCE",
    "certificate_required",
    "certify_prices",
    "node_row_prices",
    "lagrangian_value",
    "offer_prices",
    "slot_slack",
]

#: Largest certified relative distance ``(objective − D(λ)) / max(1, |objective|)`` of prices
#: shown where a certificate is required: the allocation's default gap tolerance, and the
#: s18 test's tolerance of the Lagrangian prices' dual objective (``DUAL_TOL``).
PRICE_GAP_TOLERANCE = 1e-4


def node_row_prices(node_prices: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """The rows' prices per unit of use from a flow's node prices (cost per job on the node;
    the last entry, the uncapacitated node, dropped); 0 on a row no pair uses."""
    return np.where(unit > 0, node_prices[:-1] / np.maximum(unit, 1e-300), 0.0)


def slot_slack(capacity: np.ndarray, unit: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Each row's capacity beyond its whole jobs, ``b_r − unit_r·slots_r`` (0 on a row no
    pair uses): what the slot form's dual value adds to the Lagrangian's at the same prices."""
    has = np.nan_to_num(unit, nan=0.0) > 0
    return np.where(has, capacity - np.where(has, unit, 0.0) * slots, 0.0)


def lagrangian_value(stats: Mapping[str, Any], prices: np.ndarray, bound: float) -> float:
    """The dual value of the Lagrangian ascent's ``prices`` (``bound``: its ``L(λ)``), in the
    slot form when the problem has one (``stats["slot_slack"]``, :func:`slot_slack`)."""
    slack = stats.get("slot_slack")
    return bound if slack is None else float(bound + prices @ slack)


def offer_prices(
    stats: MutableMapping[str, Any], prices: np.ndarray, value: float, source: str
) -> None:
    """Keep ``prices`` (dual value ``value``, obtained by ``source``) in ``stats`` when no
    prices are kept yet or their dual value is smaller: the larger ``D`` is the closer to the
    LP optimum."""
    if not math.isfinite(value):
        return
    if stats.get("prices") is None or value > stats.get("price_bound", -math.inf):
        stats["prices"] = prices
        stats["price_bound"] = value
        stats["price_source"] = source


def certificate_required(stats: Mapping[str, Any]) -> bool:
    """Whether prices must be certified to be shown: the problem has a slot form past the
    exact path (``stats["slot_slack"]``: the flow paths, whose runs may end after a short
    dual but whose flows give exact duals; module)."""
    return stats.get("slot_slack") is not None


def certify_prices(stats: Mapping[str, Any], objective: float, *, required: bool) -> dict[str, Any]:
    """``stats`` with ``price_gap``, the kept prices' certified distance from the LP optimum
    against the final ``objective`` (module); with ``required``, prices past
    :data:`PRICE_GAP_TOLERANCE` are left out and ``price_source`` says why."""
    out = dict(stats)
    value = out.get("price_bound")
    if out.get("prices") is None or value is None or not math.isfinite(objective):
        gap = math.inf
    else:
        gap = max(0.0, objective - value) / max(1.0, abs(objective))
    out["price_gap"] = gap
    out["price_certificate_required"] = required
    if out.get("prices") is None:
        out["price_source"] = "none computed"
    elif required and not gap <= PRICE_GAP_TOLERANCE:
        del out["prices"], out["price_bound"]
        out["price_source"] = (
            f"none ({out['price_source']} gap {gap:.2e} > {PRICE_GAP_TOLERANCE:g})"
        )
    return out
