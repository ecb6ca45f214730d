"""The restructuring policy (SPEC §5): what a plan may and may not do.

A :class:`Policy` is immutable problem data, loaded from TOML with
:meth:`Policy.from_toml` (``scenarios/policy.toml`` holds the defaults, which
follow China's rules for personalised instalments 个性化分期). Keys may be
overridden per product in ``[product.<name>]`` tables; :meth:`Policy.for_product`
returns the policy that applies to one product. What-ifs use :meth:`Policy.replace`.

How the per-month affordability rules are read (every payment month, including the
final clearing payment; months with no payment are exempt because nothing is asked
of the customer):

* ``max_dti``: ``(other_debt + p_t) / Ī_t ≤ max_dti``;
* ``min_residual_income``: ``Ī_t − expenses − other_debt − p_t ≥ min_residual_income``;
* ``min_afford_prob``: ``a_t ≥ min_afford_prob`` (the behaviour model's affordability);
* ``min_payment``: every non-zero payment except the final clearing one is at least this;
* ``max_payment_levels``: at most this many payment *phases* (runs of consecutive equal
  non-zero payments); a final payment that does not exceed the one before it is the
  last phase's remainder and is not counted, nor are holiday months;
* ``rounding``: instalments are multiples of this unit; the final payment absorbs the rest.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from solver.core.atomic import atomic_open
from solver.core.files import read_toml
from solver.core.schema import PRODUCTS
from solver.domain import DEFAULT_CURRENCY, DEFERRAL_MODES
from solver.errors import InputError


@dataclass(frozen=True)
class Policy:
    """Restructuring policy (SPEC §5).

    Parameters
    ----------
    max_term_months
        Longest plan in months, deferral included.
    max_deferral_months
        Longest payment holiday at the start of a plan.
    deferral_interest
        Interest treatments allowed during a holiday: ``capitalize``, ``interest_only``,
        ``waive``.
    rate_floor
        Lowest annual rate a concession may set.
    max_fee_waiver, max_interest_waiver
        Largest share of fees due / accrued interest that may be waived.
    max_haircut
        Largest share of principal a settlement (or forbearance) may forgive.
    max_dti
        Largest ``(other_debt + p_t) / Ī_t`` in any payment month.
    min_residual_income
        Smallest ``Ī_t − expenses − other_debt − p_t`` in any payment month (CNY).
    min_afford_prob
        Smallest model affordability probability ``a_t`` in any payment month.
    min_payment
        Smallest non-zero instalment (CNY); the final clearing payment is exempt.
    max_payment_levels
        Most payment phases (runs of equal instalments) a plan may use.
    rounding
        Instalments are multiples of this unit (CNY); the last payment absorbs the rest.
    currency
        ISO 4217 code of the book's amounts (``CNY``, ``USD``, ``HKD``...): the label of
        money in the output. Amounts are not converted; the cent rules stay.
    products
        Per-product overrides, ``{"card_instalment": {"max_term_months": 36}}``.
    """

    max_term_months: int = 60
    max_deferral_months: int = 6
    deferral_interest: tuple[str, ...] = DEFERRAL_MODES
    rate_floor: float = 0.0
    max_fee_waiver: float = 1.0
    max_interest_waiver: float = 0.5
    max_haircut: float = 0.30
    max_dti: float = 0.50
    min_residual_income: float = 0.0
    min_afford_prob: float = 0.5
    min_payment: float = 100.0
    max_payment_levels: int = 3
    rounding: float = 1.0
    currency: str = DEFAULT_CURRENCY
    products: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("max_term_months", "max_deferral_months", "max_payment_levels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.max_term_months < 1:
            raise ValueError(f"max_term_months must be at least 1, got {self.max_term_months}")
        if self.max_deferral_months < 0:
            raise ValueError(
                f"max_deferral_months must be at least 0, got {self.max_deferral_months}"
            )
        if self.max_payment_levels < 1:
            raise ValueError(
                f"max_payment_levels must be at least 1, got {self.max_payment_levels}"
            )
        modes = self.deferral_interest
        if isinstance(modes, str):
            modes = (modes,)
        modes = tuple(str(m) for m in modes)
        bad = [m for m in modes if m not in DEFERRAL_MODES]
        if bad:
            raise ValueError(
                f"deferral_interest must be among {list(DEFERRAL_MODES)}, got {bad[0]!r}"
            )
        # canonical order, no duplicates
        object.__setattr__(
            self, "deferral_interest", tuple(m for m in DEFERRAL_MODES if m in modes)
        )
        for name, lo, hi in (
            ("rate_floor", 0.0, 0.36),
            ("max_fee_waiver", 0.0, 1.0),
            ("max_interest_waiver", 0.0, 1.0),
            ("max_haircut", 0.0, 1.0),
            ("max_dti", 0.0, 10.0),
            ("min_afford_prob", 0.0, 1.0),
        ):
            value = _number(name, getattr(self, name))
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo:g}, {hi:g}], got {value}")
            object.__setattr__(self, name, value)
        object.__setattr__(
            self, "min_residual_income", _number("min_residual_income", self.min_residual_income)
        )
        for name in ("min_payment", "rounding"):
            value = _number(name, getattr(self, name))
            if value < 0:
                raise ValueError(f"{name} must be at least 0, got {value}")
            object.__setattr__(self, name, value)
        if self.rounding < 0.01 or abs(round(self.rounding * 100) - self.rounding * 100) > 1e-6:
            raise ValueError(
                f"rounding must be a whole number of cents, at least 0.01, got {self.rounding}"
            )
        object.__setattr__(self, "currency", _currency(self.currency))
        overrides: dict[str, dict[str, Any]] = {}
        for product, changes in dict(self.products).items():
            if product not in PRODUCTS:
                raise ValueError(
                    f"products has unknown product {product!r}; products are {list(PRODUCTS)}"
                )
            changes = dict(changes)
            unknown = sorted(set(changes) - set(POLICY_KEYS))
            if unknown:
                raise ValueError(
                    f"products.{product} has unknown key {unknown[0]!r}{_hint(unknown[0])}"
                )
            overrides[product] = changes
        object.__setattr__(self, "products", overrides)
        for product in overrides:  # validate each product's policy now, not at first use
            self.for_product(product)

    # -- what-ifs --------------------------------------------------------------------
    def replace(self, **changes: Any) -> Policy:
        """A copy with some keys changed (validated again)."""
        unknown = sorted(set(changes) - set(POLICY_KEYS) - {"products"})
        if unknown:
            raise ValueError(f"unknown policy key {unknown[0]!r}{_hint(unknown[0])}")
        return replace(self, **changes)

    def for_product(self, product: str) -> Policy:
        """The policy for one product: the base keys with that product's overrides applied."""
        changes = self.products.get(product)
        if not changes:
            return self if not self.products else replace(self, products={})
        return replace(self, products={}, **changes)

    # -- I/O -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<policy>") -> Policy:
        """Build from a mapping shaped like ``scenarios/policy.toml``."""
        data = dict(data)
        products = data.pop("product", {})
        problems: list[str] = []
        for key in sorted(set(data) - set(POLICY_KEYS)):
            problems.append(f"{source}: unknown key {key!r}{_hint(key)}")
        if not isinstance(products, Mapping):
            problems.append(f"{source}: 'product' must be a table of [product.<name>] tables")
            products = {}
        for product, changes in products.items():
            if product not in PRODUCTS:
                close = difflib.get_close_matches(str(product), PRODUCTS, n=1)
                hint = (
                    f" (did you mean {close[0]!r}?)"
                    if close
                    else f"; products are {list(PRODUCTS)}"
                )
                problems.append(f"{source}: [product.{product}]: unknown product{hint}")
                continue
            if not isinstance(changes, Mapping):
                problems.append(f"{source}: product.{product} must be a table")
                continue
            for key in sorted(set(changes) - set(POLICY_KEYS)):
                problems.append(f"{source}: [product.{product}]: unknown key {key!r}{_hint(key)}")
        if problems:
            raise InputError(f"{source}: {len(problems)} problem(s) in the policy", problems)
        try:
            return cls(**data, products={p: dict(c) for p, c in products.items()})
        except (TypeError, ValueError) as exc:
            raise InputError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> Policy:
        """Load a policy from TOML; missing keys take the defaults.

        Raises
        ------
        InputError
            When the file is missing or not TOML, a key is unknown (the message names the
            file, the key and the closest valid name) or a value is out of range.
        """
        path = Path(path)  # read_toml: size limit, binary check, UTF-8, TOML syntax
        return cls.from_dict(read_toml(path, "policy"), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping in the TOML layout (``product`` tables last)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in POLICY_KEYS}
        out["deferral_interest"] = list(self.deferral_interest)
        if self.products:
            out["product"] = {p: dict(c) for p, c in self.products.items()}
        return out

    def to_toml(self, path: str | Path) -> None:
        """Write the policy as TOML (atomically)."""
        import tomli_w

        with atomic_open(path, "wb") as fh:
            tomli_w.dump(self.to_dict(), fh)

    def with_setting(self, assignment: str) -> Policy:
        """Apply one ``key=value`` assignment (command-line ``--set policy.key=value``)."""
        key, sep, raw = assignment.partition("=")
        key = key.strip().removeprefix("policy.")
        if not sep or key not in POLICY_KEYS:
            raise InputError(f"--set {assignment}: unknown policy key {key!r}{_hint(key)}")
        current = getattr(self, key)
        try:
            if isinstance(current, str):
                value: Any = raw.strip()
            elif isinstance(current, tuple):
                value = tuple(v.strip() for v in raw.split(",") if v.strip())
            elif isinstance(current, int):
                value = int(raw)
            else:
                value = float(raw)
            return self.replace(**{key: value})
        except ValueError as exc:
            raise InputError(f"--set {assignment}: {exc}") from None


POLICY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Policy) if f.name != "products")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
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


def _hint(key: str) -> str:
    close = difflib.get_close_matches(str(key), POLICY_KEYS, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""
