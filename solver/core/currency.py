"""How the policy's currency prints amounts: its ISO 4217 minor unit (from babel's CLDR data).

The money engine (:mod:`solver.core.amortisation`, :class:`~solver.core.schedule.Schedule`)
computes in integer hundredths of the currency unit -- the *engine grid*,
:data:`ENGINE_DIGITS` = 2 decimals -- for every currency; the currency decides how amounts
are *printed* and which instalment units a policy may set:

* **Two decimals** (CNY, USD, EUR, HKD...): the grid is the minor unit; nothing changes.
* **Three or four decimals** (KWD, BHD, OMR, JOD, TND; CLF): the grid is coarser than the
  minor unit, so every amount the engine produces is a valid amount (KWD 12.34 is 12.340
  dinars) and is printed with the currency's decimals (``12.340``); sums printed that way
  add up exactly. A policy's ``rounding`` stays a whole number of hundredths (the grid).
* **No decimals** (JPY, KRW, ISK...): a policy's ``rounding`` must be a whole number of
  units (:func:`check_rounding`; otherwise the policy is refused naming ``rounding``, exit
  2), so every instalment is a whole number of yen. Interest accrues on the engine grid and
  the final payment clears the balance on it, so those two may carry hundredths of a yen.
  A table of paid or owed amounts is printed with the currency's decimals when every
  amount in it lies on them and with the grid's two otherwise (:func:`amount_digits`), so
  nothing printed is rounded away and a printed schedule reconciles exactly (payments =
  interest + principal + fees; balances carry forward). In a JPY schedule the interest is
  fractional, so it prints with two decimals; a JPY book of whole-yen amounts prints none. Model values (NPV, expected losses) are printed with the currency's own
  decimals by :func:`format_value`: they are expectations, not amounts anyone pays.

Computing zero-decimal schedules in whole units (interest and the clearing payment rounded to
the yen) needs the plan search's schedule builders (``solver.plans.schedules``) to pass the
currency's grid to the engine; that is not done yet (docs/inputs.md, "Currency").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "ENGINE_DIGITS",
    "amount_digits",
    "check_rounding",
    "format_amount",
    "format_value",
    "minor_digits",
]

#: Decimals of the money engine's grid (integer cents: ``solver.core.schedule.CENTS_PER_UNIT``).
ENGINE_DIGITS = 2


@lru_cache(maxsize=64)
def minor_digits(code: str) -> int:
    """Decimals of ``code``'s minor unit (ISO 4217 as CLDR has it): CNY 2, JPY 0, KWD 3."""
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(code))


def _on_digits(amount: float, digits: int) -> bool:
    scaled = amount * 10**digits
    return abs(scaled - round(scaled)) < 1e-6


def amount_digits(code: str, amounts: Iterable[float]) -> int:
    """The decimals a table of ``amounts`` is printed with: the currency's, or the engine
    grid's when any of them is not on the currency's (one column, one number of decimals).

    >>> amount_digits("JPY", [2171.0, 3000.0]), amount_digits("JPY", [2171.0, 503.13])
    (0, 2)
    """
    digits = minor_digits(code)
    if digits >= ENGINE_DIGITS:
        return digits
    on = all(_on_digits(float(x), digits) for x in amounts if math.isfinite(float(x)))
    return digits if on else ENGINE_DIGITS


def format_amount(amount: float, code: str, *, digits: int | None = None) -> str:
    """A paid or owed amount with thousands separators and ``digits`` decimals (default
    :func:`amount_digits` of this one amount: the currency's, the grid's when the amount is
    not on them).

    >>> format_amount(1234.5, "CNY"), format_amount(1234.5, "KWD")
    ('1,234.50', '1,234.500')
    >>> format_amount(1234.0, "JPY"), format_amount(1234.38, "JPY")
    ('1,234', '1,234.38')
    """
    if digits is None:
        digits = amount_digits(code, (amount,))
    return f"{amount:,.{digits}f}"


def format_value(value: float, code: str, *, sign: bool = False) -> str:
    """A model value (an NPV, an expected loss) with the currency's decimals.

    >>> format_value(83796.85, "JPY"), format_value(83796.85, "CNY")
    ('83,797', '83,796.85')
    """
    return f"{value:{'+' if sign else ''},.{minor_digits(code)}f}"


def check_rounding(rounding: float, code: str) -> None:
    """``ValueError`` (naming ``rounding``) unless the instalment unit is a whole number of
    ``code``'s minor units (a JPY policy cannot ask for instalments in half yen)."""
    digits = minor_digits(code)
    if digits < ENGINE_DIGITS and not _on_digits(rounding, digits):
        unit = f"{10.0**-digits:.{digits}f}"
        raise ValueError(
            f"rounding must be a multiple of {code}'s minor unit {unit} (ISO 4217: {digits} "
            f"decimals), got {rounding}"
        )
