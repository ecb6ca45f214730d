"""The texts of a plan's figures, as ``workout plan`` and ``plan-portfolio`` print them:
money in the currency's decimals and a payment path in phases (``3× 0 → 2,615 ×37 → last
2,594.79``).

Formatting only; the solver is imported inside the functions, as in every command module,
so that ``workout --help`` stays fast.
"""

from __future__ import annotations

from typing import Any


def money_text(x: float | None, currency: str) -> str:
    """A model value (NPV, cost) in the currency's decimals (solver.core.currency)."""
    import math

    from solver.core.currency import format_value

    return "—" if x is None or not math.isfinite(x) else format_value(x, currency)


def option_payments_text(option: Any, currency: str) -> str:
    """The payment path of an option in phases (:func:`phases_text`), its holidays as its
    terms state them (:attr:`~solver.plans.terms.PlanTerms.holidays`, ``holiday_pays``)."""
    if option.schedule is None:
        return ""
    terms = option.terms
    return phases_text(
        option.schedule.payment.tolist(), terms.holidays, terms.holiday_pays, currency
    )


def phases_text(
    cents: list[int], holidays: tuple[tuple[int, int], ...], word: str, currency: str
) -> str:
    """A payment path in phases: each holiday where it falls (``3× 0``, ``4× interest``;
    a free custom plan may pause mid-plan), each amount with the months it is paid
    (``2,615 ×24``; no count for one month; an amount off whole units to the cent), and the
    last payment whenever it differs from the phase before it (``last 2,594.79``, also
    above it): a person can rebuild the path from it to the cent.

    ``cents`` are the payments in cents, ``holidays`` the (first, last) month runs and
    ``word`` what a holiday month pays (``0`` or ``interest``). The ``payments`` column of
    ``workout plan`` and of ``plan-portfolio``'s plans.
    """
    from solver.core.currency import format_amount
    from solver.core.schedule import CENTS_PER_UNIT as CENTS

    ends = dict(holidays)  # first month -> last month of each holiday
    parts: list[str] = []
    phase: list[int] = []  # the phase being paid: [cents, months]; a holiday ends it
    T = len(cents)
    t = 0

    def amount(c: int) -> str:
        # whole amounts as the plan states them (2,615); others to the cent (rounding 0.5)
        return f"{c / CENTS:,.0f}" if c % CENTS == 0 else format_amount(c / CENTS, currency)

    def close() -> None:
        if phase:
            count = f" ×{phase[1]}" if phase[1] > 1 else ""
            parts.append(f"{amount(phase[0])}{count}")
            phase.clear()

    while t < T:
        if t + 1 in ends:
            close()
            parts.append(f"{ends[t + 1] - t}× {word}")
            t = ends[t + 1]
            continue
        c = cents[t]
        if t == T - 1 and (not phase or c != phase[0]):  # the last payment, to the cent
            close()
            exact = format_amount(c / CENTS, currency)
            parts.append(f"last {exact}" if parts else exact)  # a lump sum is not a "last"
            break
        if phase and c == phase[0]:
            phase[1] += 1
        else:
            close()
            phase.extend((c, 1))
        t += 1
    close()
    return " → ".join(parts)
