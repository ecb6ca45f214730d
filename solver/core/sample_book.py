"""Write a synthetic book, and its payment history, as one output (``workout generate``).

:func:`write_sample_book` draws the portfolio (:func:`~solver.core.generate.generate_portfolio`),
writes it (in a bank's layout when one is given) and, with ``months``, the monthly payment
history drawn from the behaviour model (:func:`~solver.core.history_sim.simulate_history`)
beside it. The book and its history are one output (:func:`~solver.core.atomic.atomic_paths`):
an interrupted or failed run leaves both as they were, never a new book beside an old or
missing history.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from solver.core.layouts import Layout

__all__ = ["write_sample_book"]


def write_sample_book(
    n: int,
    seed: int,
    out: str | os.PathLike[str],
    *,
    product_mix: dict[str, float] | None = None,
    layout: Layout | None = None,
    encoding: str | None = None,
    history_out: str | None = None,
    months: int = 0,
    on_step: Callable[[str], Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Generate ``n`` accounts with ``seed`` and write them to ``out`` (atomically).

    ``layout`` (a :class:`~solver.core.layouts.Layout`) writes the book in a bank's
    column names, values and scales; ``encoding`` is the text encoding of a CSV ``out``.
    With ``history_out``, ``months`` of payment history (same seed) are written there too.
    ``on_step`` is told what is being done next (a progress message). Returns the generated
    book (in the validated layout) and the history (``None`` without ``history_out``).
    """
    from solver.core.atomic import atomic_paths
    from solver.core.generate import generate_portfolio
    from solver.core.history_sim import simulate_history
    from solver.core.writers import write_table

    outputs = [Path(out)] if history_out is None else [Path(out), Path(history_out)]
    frame = generate_portfolio(n, seed, product_mix=product_mix)
    if on_step is not None:
        on_step(f"writing {out}...")
    written = frame if layout is None else layout.export(frame)
    history = None
    with atomic_paths(*outputs) as staged:
        write_table(written, staged[0], encoding=encoding)
        if history_out is not None:
            if on_step is not None:
                on_step(f"writing {history_out}...")
            history = simulate_history(frame, months, seed)
            write_table(history, staged[1], sheet_name="history")
    return frame, history
