"""How the policy's currency prints amounts: its ISO 4217 minor unit (from babel's CLDR data),
and the money grid its schedules are computed on.

The money engine (:mod:`solver.core.amortisation`, :class:`~solver.core.schedule.Schedule`)
computes on a *money grid* -- :func:`money_grid` units per currency unit -- and stores the
result in integer cents for every currency:

* **Two decimals** (CNY, USD, EUR, HKD...): the grid is hundredths, the minor unit.
* **No decimals** (JPY, KRW, ISK...): the grid is the whole unit. Every amount of a
  schedule -- instalments, interest (rounded half-up to the yen every month), fees, the
  clearing payment, balances -- is a whole yen and reconciles exactly; the policy's
  ``rounding`` must be a whole number of units (:func:`check_rounding`, else exit 2 naming
  ``rounding``). Amounts coming in (balances, fees) are rounded to the yen once, on the
  way in, as CNY ones are to the cent.
* **Three or four decimals** (KWD, BHD, OMR, JOD, TND; CLF): **the grid stays hundredths**
  (decided, issue 18). Every hundredth is a valid amount (KWD 12.34 is 12.340 dinars),
  printed with the currency's decimals (``12.340``), and a schedule reconciles exactly.
  Computing in mils would need a finer storage unit than the cent that every consumer of
  a schedule reads (the plan search tracks balances in cents, JSON/CSV exports round to
  two decimals, the portfolio paths are cent arrays); what it would buy is interest
  rounded to the fils instead of to ten fils -- at most 5 fils a month on any balance.
  A policy's ``rounding`` stays a whole number of hundredths.

A table of paid or owed amounts is printed with the currency's decimals when every
amount in it lies on them and with the grid's two otherwise (:func:`amount_digits`: a
schedule built on hundredths for a zero-decimal currency, or a book with fractional
yen, prints what it holds rather than rounding it away). Model values (NPV, expected
losses) are printed with the currency's own decimals by :func:`format_value`: they are
expectations, not amounts anyone pays.
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
    "format_difference",
    "format_value",
    "minor_digits",
    "money_grid",
    "value_difference",
]

#: Decimals of the finest money grid, hundredths: the one definition of the cent that
#: schedules are stored in (``solver.core.schedule.CENTS_PER_UNIT`` is ``10 **`` it).
ENGINE_DIGITS = 2


@lru_cache(maxsize=64)
def minor_digits(code: str) -> int:
    """Decimals of ``code``'s minor unit (ISO 4217 as CLDR has it): CNY 2, JPY 0, KWD 3."""
    from babel.numbers import get_currency_precision

    return int(get_currency_precision(code))


@lru_cache(maxsize=64)
def money_grid(code: str) -> int:
    """Money grid units per currency unit that ``code``'s schedules are computed on:
    ``10 ** minor digits``, at most hundredths (the 3-decimal currencies keep hundredths;
    see the module docstring).

    >>> money_grid("CNY"), money_grid("JPY"), money_grid("KWD")
    (100, 1, 100)
    """
    return 10 ** min(minor_digits(code), ENGINE_DIGITS)


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


def format_difference(a: float, b: float, code: str, *, sign: bool = False) -> str:
    """``a - b`` printed as :func:`format_value` prints values: the difference of ``a`` and
    ``b`` as printed (:func:`value_difference` with the currency's decimals).

    >>> format_difference(13920.71, 10620.1749, "CNY"), format_difference(2.6, 1.4, "JPY")
    ('3,300.54', '2')
    """
    return format_value(value_difference(a, b, minor_digits(code)), code, sign=sign)


def value_difference(a: float, b: float, digits: int = ENGINE_DIGITS) -> float:
    """``a - b`` as the difference of ``a`` and ``b`` rounded as printed with ``digits``
    decimals: a Δ shown beside two figures is their difference to the last digit shown
    (81,787.57 - 77,379.09 = 4,408.48, where the unrounded difference prints 4,408.47).

    >>> value_difference(81787.56743898145, 77379.09327964998)
    4408.48
    >>> value_difference(81787.56743898145, 77379.09327964998, digits=0)
    4409.0
    """
    if not (math.isfinite(a) and math.isfinite(b)):
        return a - b
    scale = 10**digits
    # each value rounded as f"{x:.{digits}f}" prints it: round(x, n) is correctly rounded
    # from the exact binary value, as formatting is (and a third of its time)
    units = round(round(a, digits) * scale) - round(round(b, digits) * scale)
    return units / scale


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
