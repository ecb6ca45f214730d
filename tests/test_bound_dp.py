"""The compiled pieces of the bound tables that replaced calls of the model kernel
(``solver/plans/bound_dp.py``; issue 13: speed): each gives, bit for bit, what the
kernel gives, so that the tables, and the plans searched with them, did not change."""

from __future__ import annotations

import numpy as np
import pytest

from solver.core.generate import generate_portfolio
from solver.core.model import BehaviourModel, ModelKernel
from solver.core.policy import Policy
from solver.plans.bounds import _clearable, _node_bands, _node_recovery
from solver.plans.context import context_from_frame
from solver.plans.payment_grid import holiday_months, payment_grids


def _context(product: str):
    """A generated book's accounts of one product, with their node bands (24 intervals)."""
    frame = generate_portfolio(150, seed=29)
    part = frame[frame["product"] == product]
    ctx = context_from_frame(part, Policy().for_product(product), BehaviourModel())
    amounts, _ = payment_grids(ctx, 12)
    U, top = _clearable(ctx)
    lo, _, w = _node_bands(ctx, amounts, holiday_months(ctx), U, top, 24)
    return ctx, lo, w


def _kernel_node_recovery(ctx, lo: np.ndarray, w: np.ndarray, M: int) -> np.ndarray:
    """The kernel's ``recovery`` at the nodes ``lo + i·w``, asked with one array of balances."""
    n, H = len(ctx), ctx.horizon
    nodes = np.arange(M + 1, dtype=float) * w[:, :H].T[:, :, None]
    nodes += lo[:, :H].T[:, :, None]
    return ModelKernel.recovery(
        ctx.kernel, np.arange(n)[None, :, None], nodes, np.arange(H)[:, None, None]
    )


@pytest.mark.parametrize("product", ["auto_loan", "card_instalment"])
def test_node_recovery_is_the_kernels_bit_for_bit(product) -> None:
    """The compiled recovery at the nodes equals the kernel's recovery of the node balances
    bit for bit, for secured (collateral, the kink inside the nodes) and unsecured books."""
    ctx, lo, w = _context(product)
    assert ctx.kernel.recovery_table() is not None  # the compiled path is taken
    got = _node_recovery(ctx, lo, w, 24)
    want = _kernel_node_recovery(ctx, lo, w, 24)
    assert got.shape == (ctx.horizon, len(ctx), 25)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    if product == "auto_loan":  # some nodes above and some below the collateral value
        C = ctx.kernel.collateral[:, : ctx.horizon].T[:, :, None]
        nodes = (
            lo[:, : ctx.horizon].T[:, :, None] + np.arange(25) * w[:, : ctx.horizon].T[:, :, None]
        )
        assert (nodes > C).any() and ((nodes < C) & (C > 0)).any()


class _HalfRecovery(ModelKernel):
    """The default kernel with a recovery of its own: half SPEC §4's."""

    def recovery(self, rows, exposures, cols=None):  # type: ignore[no-untyped-def]
        """Half of SPEC §4's recovery."""
        return 0.5 * super().recovery(rows, exposures, cols)


class _HalfRecoveryModel(BehaviourModel):
    """The default model whose kernel recovers half."""

    def kernel(self, params, horizon):  # type: ignore[no-untyped-def]
        """:class:`_HalfRecovery`."""
        return _HalfRecovery(self, params, horizon)


def test_node_recovery_asks_a_kernel_with_its_own_recovery() -> None:
    """A kernel whose ``recovery`` is its own has no recovery table: the nodes' recoveries
    are then the kernel's own (half the default ones here), not the compiled formula's."""
    ctx, lo, w = _context("auto_loan")
    frame = generate_portfolio(150, seed=29)
    part = frame[frame["product"] == "auto_loan"]
    own = context_from_frame(part, Policy().for_product("auto_loan"), _HalfRecoveryModel())
    assert own.kernel.recovery_table() is None
    got = _node_recovery(own, lo, w, 24)
    assert np.array_equal(got, 0.5 * _kernel_node_recovery(ctx, lo, w, 24))
