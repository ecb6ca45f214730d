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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)

from solver.core.atomic import atomic_open
from solver.core.currency import check_rounding
from solver.core.files import read_toml
from solver.core.policy_types import DeferralModes, _currency, _whole_cents
from solver.core.problems import NOT_RUN, SET_FORM, SET_OPTION, ProblemLog
from solver.core.schema import MAX_FORECAST_MONTHS, PRODUCTS
from solver.core.settings_schema import (
    WHOLE_NUMBER,
    Flag,
    Issue,
    LenientWholeNumber,
    Number,
    did_you_mean,
    issues,
    parse_value,
)
from solver.core.settings_words import closest_key_hint, flag_problem, setting_flag, setting_number
from solver.domain import DEFAULT_CURRENCY, DEFERRAL_MODES
from solver.errors import InputError


class KeysDisagree(ValueError):
    """Each key of a policy is valid but two of them contradict each other
    (``max_deferral_months`` over ``max_term_months``); ``keys`` names them."""

    def __init__(self, message: str, keys: tuple[str, ...]) -> None:
        super().__init__(message)
        self.keys = keys


@dataclass(frozen=True)
class Policy:
    """Restructuring policy (SPEC §5).

    Each key's type and bounds are declared once, in its annotation (pydantic types of
    :mod:`solver.core.settings_schema`); constructing a policy validates them (a
    ``ValueError`` naming the key: ``max_dti must be in [0, 10], got 12.0``).

    Parameters
    ----------
    max_term_months
        Longest plan in months, deferral included.
    max_deferral_months
        Longest payment holiday (run of months without payment); at most
        ``max_term_months``, for the base keys and each product's (a ``ValueError``
        naming both keys otherwise: the term counts the holiday, SPEC §5). Decision
        (session 25): refused rather than capped, because a deferral the term cannot hold
        is a typing mistake in the policy (``max_term_months = 6`` meant as 60), and the
        plan search would silently cap it at the term.
    holidays_mid_plan
        Whether a ``custom`` plan may have months without payment after its first payment
        (each run at most ``max_deferral_months``). Default false: a holiday only at the
        start. Decision (session 16, from a review): with holidays anywhere the free
        optimum of many accounts is a re-age -- ``6× 0 → 100 → 6× 0 → 100 …``, 48 of 60
        months unpaid and the balance growing -- which keeps to the letter of
        ``max_deferral_months`` but not to its purpose; a bank that wants mid-plan
        holidays (a known seasonal income gap) turns this on.
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
    need_test
        Recommend a restructuring only to an account that needs one: when the contract
        itself meets ``max_dti``, ``min_residual_income`` and ``min_afford_prob`` in every
        month, no plan is recommended (status ``CONTRACT_AFFORDABLE``: keep the contract)
        and the options are still listed. Decision (session 16, from a review): 17 % of
        the recommendations on the README book go to customers who can pay their
        contract -- a longer term earns the bank the contract rate over its cost of
        funds, but restructuring a performing loan is forbearance on the customer's
        record. The default stays false because SPEC §6 defines the recommendation as
        the best plan that passes the NPV test; the explanation of such a recommendation
        says that the contract is affordable, and a bank whose rules ask for need first
        (as HAMP's eligibility did) sets this true.
    rounding
        Instalments are multiples of this unit (whole cents, and a whole number of the
        currency's minor units: whole yen for JPY); the last payment absorbs the rest.
    currency
        ISO 4217 code of the book's amounts (``CNY``, ``USD``, ``JPY``, ``KWD``...): the
        label of money in the output, and its minor unit sets how amounts are printed
        (:mod:`solver.core.currency`). Amounts are not converted.
    products
        Per-product overrides, ``{"card_instalment": {"max_term_months": 36}}``.
    """

    #: at most 50 years (MAX_FORECAST_MONTHS, the longest schedule any input takes): a typing
    #: mistake such as 100000 would otherwise hold the plan search for minutes (session 25)
    max_term_months: Annotated[LenientWholeNumber, Field(ge=1, le=MAX_FORECAST_MONTHS)] = 60
    max_deferral_months: Annotated[LenientWholeNumber, Field(ge=0)] = 6
    holidays_mid_plan: Flag = False
    deferral_interest: DeferralModes = DEFERRAL_MODES
    rate_floor: Annotated[Number, Field(ge=0.0, le=0.36)] = 0.0
    max_fee_waiver: Annotated[Number, Field(ge=0.0, le=1.0)] = 1.0
    max_interest_waiver: Annotated[Number, Field(ge=0.0, le=1.0)] = 0.5
    max_haircut: Annotated[Number, Field(ge=0.0, le=1.0)] = 0.30
    max_dti: Annotated[Number, Field(ge=0.0, le=10.0)] = 0.50
    min_residual_income: Number = 0.0
    min_afford_prob: Annotated[Number, Field(ge=0.0, le=1.0)] = 0.5
    min_payment: Annotated[Number, Field(ge=0.0)] = 100.0
    max_payment_levels: Annotated[LenientWholeNumber, Field(ge=1)] = 3
    need_test: Flag = False
    rounding: Annotated[Number, Field(ge=0.0), AfterValidator(_whole_cents)] = 1.0
    currency: Annotated[str, BeforeValidator(_currency)] = DEFAULT_CURRENCY
    products: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        products = values["products"]
        if isinstance(products, Mapping):
            values["products"] = {
                p: dict(c) if isinstance(c, Mapping) else c for p, c in products.items()
            }
        try:
            checked = _POLICY_MODEL.model_validate(values)
        except ValidationError as exc:
            raise ValueError(_first_problem(issues(exc, _POLICY_MODEL, values))) from None
        for name in POLICY_KEYS:
            object.__setattr__(self, name, getattr(checked, name))
        # the overrides as given (their values were checked with the same types)
        object.__setattr__(self, "products", values["products"])
        self._check_minor_units()
        self._check_term_covers_deferral()

    def _check_minor_units(self) -> None:
        """``rounding`` (and each product's) is a whole number of the currency's minor
        units (:func:`solver.core.currency.check_rounding`); ``ValueError`` naming the key."""
        check_rounding(self.rounding, self.currency)
        for product, changes in self.products.items():
            if "rounding" in changes or "currency" in changes:
                code = _currency(changes.get("currency", self.currency))
                try:
                    check_rounding(float(changes.get("rounding", self.rounding)), code)
                except ValueError as exc:
                    raise ValueError(f"products.{product}.{exc}") from None

    def _check_term_covers_deferral(self) -> None:
        """``max_deferral_months`` is at most ``max_term_months`` (SPEC §5: the longest
        plan is counted deferral included), for the base keys and for each product's
        policy (its overrides over the base keys); :class:`KeysDisagree` naming both."""
        checked = [("", self.max_term_months, self.max_deferral_months)]
        for product, changes in self.products.items():
            if "max_term_months" in changes or "max_deferral_months" in changes:
                term = changes.get("max_term_months", self.max_term_months)
                deferral = changes.get("max_deferral_months", self.max_deferral_months)
                checked.append((f"products.{product}: ", term, deferral))
        for where, term, deferral in checked:
            if float(deferral) > float(term):
                raise KeysDisagree(
                    f"{where}max_deferral_months ({int(deferral)}) must not exceed "
                    f"max_term_months ({int(term)}): the longest plan includes its deferral",
                    keys=("max_deferral_months", "max_term_months"),
                )

    # -- what-ifs --------------------------------------------------------------------
    def replace(self, **changes: Any) -> Policy:
        """A copy with some keys changed (validated again)."""
        unknown = sorted(set(changes) - set(POLICY_KEYS) - {"products"})
        if unknown:
            raise ValueError(f"{unknown[0]}: {unknown_key_problem(unknown[0])}")
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
        """Build from a mapping shaped like ``scenarios/policy.toml``.

        Every problem the key declarations find -- unknown keys and products, tables that
        are not tables, bad values, in any table -- is reported together, in the order of
        the file (SPEC §3; the cap is the tables' :data:`~solver.core.schema.MAX_PROBLEMS`);
        a rule across keys (``rounding`` in the currency's minor units) only once they
        are right.
        """
        data = dict(data)
        log = ProblemLog(source)
        try:
            _POLICY_FILE.model_validate(data)
        except ValidationError as exc:
            for text in _file_problems(issues(exc, _POLICY_FILE, data)):
                log.file(text)
        log.raise_if_any(subject="policy")
        products = data.pop("product", {})
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
            When the file is missing or not TOML, or keys are unknown (each named with the
            closest valid name) or values are bad: every problem of the file in one error.
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
        log = ProblemLog(SET_OPTION)
        if not sep:
            log.setting(key.strip(), f"expected {SET_FORM}")
        policy = self.with_settings([(key.strip(), raw)], log) if sep else self
        log.raise_if_any(outcome=NOT_RUN)
        return policy

    def with_settings(self, settings: Iterable[tuple[str, str]], log: ProblemLog) -> Policy:
        """Apply command-line ``--set`` values in order, each problem added to ``log``.

        ``settings`` are ``(key, value)`` pairs as typed (``policy.max_dti``, ``"0.6"``; the
        ``policy.`` prefix is optional), read one at a time (a generator may log other
        items' problems between them, in the order typed). A bad setting is reported with
        its key as typed (:meth:`ProblemLog.setting`) and skipped, and the next ones are
        still checked, so that the caller reports every ``--set`` of a command together.
        Each value is checked on the policy built so far (later settings see earlier ones:
        a rounding after a currency is checked in that currency; see
        :meth:`replace_in_order`); the caller raises the log.
        """

        def changes() -> Iterable[tuple[str, str, Any]]:
            for typed, raw in settings:
                key = typed.removeprefix("policy.")
                if key not in POLICY_KEYS:
                    log.setting(typed, unknown_key_problem(key))
                    continue
                try:
                    yield typed, key, _setting_value(key, getattr(self, key), raw)
                except ValueError as exc:
                    log.setting(typed, str(exc))

        return self.replace_in_order(changes(), log.setting)

    def replace_in_order(
        self, changes: Iterable[tuple[str, str, Any]], report: Callable[[str, str], None]
    ) -> Policy:
        """A copy with ``(label, key, value)`` changes applied one after the other, each
        checked on the policy built so far; a change with a problem is passed to
        ``report(label, problem)`` and skipped.

        Decision (session 25): a change whose only problem is a rule across keys
        (:class:`KeysDisagree`: ``max_deferral_months`` over ``max_term_months``) waits
        for the changes after it, so that ``--set max_term_months=3 --set
        max_deferral_months=2`` on the default 60/6 is accepted (the order typed does not
        matter, only where the settings end); if the rule still fails after the last
        change, it is reported once, against the last change of a key the rule is about
        (``--set max_deferral_months=100 --set max_dti=0.6`` blames max_deferral_months).
        """
        policy = self
        waiting: dict[str, Any] = {}
        labels: dict[str, str] = {}  # the label of each waiting key's change
        unmet: KeysDisagree | None = None
        for label, key, value in changes:
            try:
                policy = policy.replace(**{**waiting, key: value})
                waiting, labels, unmet = {}, {}, None
            except KeysDisagree as exc:
                waiting[key], labels[key] = value, label
                unmet = exc
            except ValueError as exc:
                report(label, str(exc))
        if unmet is not None:
            about = [labels[key] for key in labels if key in unmet.keys] or list(labels.values())
            report(about[-1], str(unmet))
        return policy


def _setting_value(key: str, current: Any, raw: str) -> Any:
    """A ``--set`` value of policy ``key`` read as the type of its ``current`` value
    (``0.6``, ``36``, ``yes``, ``capitalize,waive``); text that does not read as one is
    passed on as its TOML value (:func:`~solver.core.settings_schema.parse_value`), so that
    the policy's own check words the problem (:func:`_value_problem`): one wording for a
    policy file, a scenario's ``--set policy.max_dti=abc`` and ``workout plan --set
    policy.max_dti=abc`` (``max_dti must be a number, got 'abc'``), and a whole-number key
    takes ``36.0`` as a file does. A true/false key is read by :func:`setting_flag`
    (``ValueError`` with :func:`flag_problem` for other text)."""
    if key in POLICY_FLAGS:
        flag = setting_flag(raw)
        if flag is None:
            raise ValueError(flag_problem(raw, key))
        return flag
    if isinstance(current, str):
        return raw.strip()
    elif isinstance(current, tuple):
        return tuple(v.strip() for v in raw.split(",") if v.strip())
    else:
        number = setting_number(raw, whole=isinstance(current, int))
        if number is not None:
            return number
    return parse_value(raw)


POLICY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Policy) if f.name != "products")

# The pydantic models, built from Policy's annotations (the one declaration of each key's
# type and bounds): every key required (a Policy's values), every key optional (one
# product's overrides, a policy file).
_KEY_TYPES = get_type_hints(Policy, include_extras=True)
#: The policy's true/false keys (declared :data:`~solver.core.settings_schema.Flag`).
POLICY_FLAGS: tuple[str, ...] = tuple(k for k in POLICY_KEYS if _KEY_TYPES[k] == Flag)
_FORBID = ConfigDict(extra="forbid")
_optional: dict[str, Any] = {k: (_KEY_TYPES[k], None) for k in POLICY_KEYS}
_PolicyOverrides = create_model("PolicyOverrides", __config__=_FORBID, **_optional)
_ByProduct = dict[Literal[PRODUCTS], _PolicyOverrides]  # type: ignore[valid-type]
_required: dict[str, Any] = {k: (_KEY_TYPES[k], ...) for k in POLICY_KEYS}
_POLICY_MODEL = create_model(
    "PolicyValues", __config__=_FORBID, **_required, products=(_ByProduct, ...)
)
_POLICY_FILE = create_model("PolicyFile", __base__=_PolicyOverrides, product=(_ByProduct, None))


def _first_problem(found: list[Issue]) -> str:
    """The problem a Policy reports: the base keys first (whole numbers before the rest),
    then the products (unknown products and keys before values)."""

    def rank(issue: Issue) -> tuple[int, int, str]:
        if issue.path[0] == "products":
            layout = issue.kind in ("unknown", "unknown_name") or len(issue.path) == 2
            return (1, 0 if layout else 1, issue.name if issue.kind == "unknown" else "")
        return (0, 0 if issue.kind == "type" and issue.phrase == WHOLE_NUMBER else 1, "")

    issue = min(found, key=rank)
    path, name = issue.path, issue.name
    if path[0] == "products" and len(path) <= 2:
        if issue.kind == "unknown_name":
            return f"products has unknown product {name!r}; products are {list(PRODUCTS)}"
        if len(path) == 2:
            return f"products.{path[1]} must be a table"
        return "products must be a table of per-product tables"
    if issue.kind == "unknown":
        return f"products.{path[1]}: {name}: {unknown_key_problem(name)}"
    return _value_problem(issue)


def _value_problem(issue: Issue) -> str:
    """A bad value of a declared key, in the policy's words (``max_dti must be in [0,
    10], got 12.0``)."""
    name, value = issue.name, issue.value
    if issue.kind == "finite":
        return f"{name} must be finite, got {float(value)}"
    if issue.kind == "range" and issue.lower is not None:
        shown = int(value) if issue.phrase == WHOLE_NUMBER else float(value)
        if issue.upper is None:
            return f"{name} must be at least {issue.lower[0]:g}, got {shown}"
        return f"{name} must be in [{issue.lower[0]:g}, {issue.upper[0]:g}], got {shown}"
    if issue.kind == "rule":
        return issue.phrase
    return f"{name} {issue.phrase}, got {value!r}"


def _file_problems(found: list[Issue]) -> list[str]:
    """A policy file's problems (:meth:`Policy.from_dict`), in the order of the file,
    without the file's name: unknown keys and products, tables that are not tables and
    bad values; a ``[product.<name>]`` table's problems say which table."""
    unknown_products = {i.path[1] for i in found if i.kind == "unknown_name"}
    problems: list[str] = []
    for issue in found:
        path, name = issue.path, issue.name
        table = f"[product.{path[1]}]: " if len(path) > 2 and path[0] == "product" else ""
        if path == ("product",):
            problems.append("'product' must be a table of [product.<name>] tables")
        elif issue.kind == "unknown_name":
            close = did_you_mean(name, PRODUCTS, cutoff=0.6)
            hint = f" (did you mean {close!r}?)" if close else f"; products are {list(PRODUCTS)}"
            problems.append(f"[product.{name}]: unknown product{hint}")
        elif path[0] == "product" and path[1] in unknown_products:
            continue  # an unknown product's keys are not checked
        elif path[0] == "product" and len(path) == 2:
            problems.append(f"product.{path[1]} must be a table")
        elif issue.kind == "unknown":
            problems.append(f"{table}{name}: {unknown_key_problem(name, FILE_ONLY_KEYS)}")
        else:
            problems.append(table + _value_problem(issue))
    return problems


#: The keys a policy file has besides :data:`POLICY_KEYS` (its ``[product.<name>]`` tables).
FILE_ONLY_KEYS = ("product",)


def unknown_key_problem(key: str, also: Sequence[str] = ()) -> str:
    """What is wrong with an unknown policy key, after where it is (``--set
    policy.max_dtii: ``, ``FILE: max_dtii: ``): ``unknown policy key (did you mean
    'max_dti'?)``, or the valid keys when none is close.

    The one wording of an unknown policy key: ``workout plan --set``, ``workout scenario
    run --set``, a policy file (its ``[product.*]`` tables too), a scenario's ``[policy]``
    table and :meth:`Policy.replace`. Decision (session 20, from a review that found three
    wordings): the key is named where a setting's or a column's problem names its key,
    before the colon, so that a file's line reads like a ``--set`` line and
    :func:`~solver.core.problems.issue_records` finds the key as the column. ``also``: the
    other keys valid where the key was given (a file's ``product``, a scenario's ``path``),
    offered as the closest name too.

    >>> unknown_key_problem("max_dtii")
    "unknown policy key (did you mean 'max_dti'?)"
    """
    return "unknown policy key" + closest_key_hint(key, (*POLICY_KEYS, *also))
