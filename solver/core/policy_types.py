"""The value types of the restructuring policy's keys that :mod:`solver.core.settings_schema`
does not declare: the deferral interest modes, a rounding unit in whole cents and an
ISO 4217 currency code.

Each is a validator (``ValueError`` naming the key and the value) used in the annotation of
its key on :class:`~solver.core.policy.Policy`, which declares every key's type once.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from solver.core.settings_schema import Phrase, Text
from solver.domain import DEFAULT_CURRENCY, DEFERRAL_MODES


def _deferral_modes(modes: tuple[str, ...]) -> tuple[str, ...]:
    """Known modes, in the canonical order, without duplicates."""
    bad = [m for m in modes if m not in DEFERRAL_MODES]
    if bad:
        raise ValueError(f"deferral_interest must be among {list(DEFERRAL_MODES)}, got {bad[0]!r}")
    return tuple(m for m in DEFERRAL_MODES if m in modes)


def _whole_cents(value: float) -> float:
    cents = value * 100
    if value < 0.01 or not math.isfinite(cents) or abs(round(cents) - cents) > 1e-6:
        raise ValueError(f"rounding must be a whole number of cents, at least 0.01, got {value}")
    return value


def _currency(code: Any) -> str:
    """An ISO 4217 currency code, upper-cased (babel's list of codes), or ValueError."""
    if not isinstance(code, str):
        raise ValueError(f"currency must be an ISO 4217 code such as 'CNY', got {code!r}")
    code = code.strip().upper()
    if code == DEFAULT_CURRENCY:
        return code
    from babel.numbers import list_currencies

    if code not in list_currencies():
        raise ValueError(f"currency must be an ISO 4217 code such as 'CNY' or 'USD', got {code!r}")
    return code


#: One deferral mode or a list of them (stored as a tuple in the canonical order).
DeferralModes = Annotated[
    tuple[Text, ...],
    BeforeValidator(lambda v: (v,) if isinstance(v, str) else v),
    AfterValidator(_deferral_modes),
    Phrase(f"must be among {list(DEFERRAL_MODES)}"),
]
