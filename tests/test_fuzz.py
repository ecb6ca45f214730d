"""Property-based fuzzing of the readers and of the plan optimizer (issue 8).

Readers: random bytes and random cells give either a validated portfolio (or account) or
an :class:`InputError` whose every problem line names the file; nothing else escapes.
Optimizer: ``plan_options`` on random valid accounts never raises, every schedule it
reports reconciles to the cent (``Schedule.check``) and every reported figure equals
``solver.core.evaluation.evaluate`` on that schedule.

Each property runs 500 examples, derandomized (hypothesis derives the examples from the
test itself, so CI is reproducible), with no per-example deadline. The plan property uses
a restricted policy (terms up to 24 months, 2-month holidays, 2 payment levels) and a
small search grid so that 500 accounts fit in CI time; the code paths are the same.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.core.account import Account
from solver.core.readers import read_account, read_portfolio
from solver.core.schema import COLUMNS
from solver.errors import InputError

EXAMPLES = 500
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_TMP = Path(tempfile.mkdtemp(prefix="workout-fuzz-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


def _cent_difference(a: float, b: float) -> float:
    """``a - b`` as the difference of ``a`` and ``b`` rounded to the cent (as printed)."""
    return (round(float(f"{a:.2f}") * 100) - round(float(f"{b:.2f}") * 100)) / 100


def _file(name: str, content: bytes) -> Path:
    """Write ``content`` to a per-process scratch file (hypothesis forbids tmp_path reuse)."""
    path = _TMP / f"{os.getpid()}-{name}"
    path.write_bytes(content)
    return path


def _accepts_or_explains(read, path: Path, referenced: bool = False):
    """Run a reader: a result, or an InputError whose problem lines all name the file
    (or, with ``referenced``, a file the document names, such as a scenario's policy)."""
    try:
        return read(path)
    except InputError as exc:
        text = str(exc)
        headline = text.splitlines()[0]
        if referenced and str(path) not in headline:
            named = Path(headline.split(": ")[0])
            assert named.parent == path.parent or named == path.parent, text
            return None
        assert str(path) in headline, text
        assert all(str(path) in p or p.startswith("...") for p in exc.problems), exc.problems
        assert "Traceback" not in text
        return None


def _check_portfolio(frame: pd.DataFrame) -> None:
    """A portfolio that was accepted has the typed SPEC §3 schema and sane values."""
    assert list(frame.columns) == [*COLUMNS, "dpd_bucket"]
    assert frame["account_id"].is_unique
    assert (frame["account_id"].str.len() > 0).all()
    assert (frame["principal"] > 0).all()
    assert frame["annual_rate"].between(0, 0.36).all()
    assert (frame["remaining_term"] >= 1).all()
    money = ["principal", "interest_due", "fees_due", "arrears", "income", "expenses"]
    assert np.isfinite(frame[money].to_numpy(dtype=float)).all()
    assert frame["tier"].isin(list("ABCDE")).all()


# -- random bytes ------------------------------------------------------------------------

HEADER = "account_id,principal,annual_rate,remaining_term,income,expenses"


@FUZZ
@given(
    body=st.binary(max_size=600),
    with_header=st.booleans(),
)
def test_read_portfolio_random_bytes(body: bytes, with_header: bool) -> None:
    """Random bytes as a CSV (with or without a valid header): a portfolio or InputError."""
    content = (HEADER.encode() + b"\n" + body) if with_header else body
    frame = _accepts_or_explains(read_portfolio, _file("bytes.csv", content))
    if frame is not None:
        _check_portfolio(frame)


# -- random cells ------------------------------------------------------------------------

CELL = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e15",
            "-1",
            "0",
            "0.5",
            "12",
            "12.5",
            "abc",
            "true",
            "maybe",
            "A",
            "Z",
            "auto_loan",
            "lease",
            "2024-01-15",
            '"quoted, comma"',
            "1,5",
            "１２",
            "\t7",
            "7\r",
            "NULL",
            "N/A",
            "0x10",
            "1_000",
            "+3",
            ".5",
            "5.",
            "1e400",
            "-0",
            "\u00a0",
            "\ufeff1",
            "'1",
        ]
    ),  # fmt: skip
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**18), max_value=10**18).map(str),
    st.text(max_size=12),
)
OPTIONAL = ["interest_due", "fees_due", "arrears", "dpd", "credit_score", "tier", "product",
            "hardship", "income_normal", "recovery_months", "other_debt", "vehicle_value",
            "preferred_channel", "bogus", "hardshp"]  # fmt: skip


@st.composite
def csv_tables(draw) -> str:
    """A CSV with the required columns (sometimes one dropped), extras, and random cells."""
    columns = HEADER.split(",")
    if draw(st.booleans()):
        columns.remove(draw(st.sampled_from(columns)))
    columns += draw(st.lists(st.sampled_from(OPTIONAL), max_size=4, unique=True))
    columns = draw(st.permutations(columns))
    n = draw(st.integers(min_value=1, max_value=6))
    rows = []
    for i in range(n):
        row = []
        for c in columns:
            if c == "account_id" and draw(st.booleans()):
                row.append(f"ID{i}")
            else:
                row.append(draw(CELL))
        rows.append(row)
    buffer = pd.DataFrame(rows, columns=columns).to_csv(index=False)
    return buffer


@FUZZ
@given(text=csv_tables())
def test_read_portfolio_random_cells(text: str) -> None:
    """Random cells under a realistic header: a valid typed portfolio or InputError."""
    frame = _accepts_or_explains(read_portfolio, _file("cells.csv", text.encode("utf-8")))
    if frame is not None:
        _check_portfolio(frame)


# -- random account files (TOML / JSON) -----------------------------------------------------

VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FIELD = st.sampled_from([*COLUMNS, "bogus", "Income", "annual rate"])


@FUZZ
@given(
    record=st.dictionaries(FIELD, VALUE, max_size=10),
    base=st.booleans(),
)
def test_read_account_random_json(record: dict, base: bool) -> None:
    """Random JSON objects (optionally over a valid account): an Account or InputError."""
    valid = {
        "account_id": "F1",
        "principal": 10000.0,
        "annual_rate": 0.1,
        "remaining_term": 12,
        "income": 5000.0,
        "expenses": 2000.0,
    }
    data = {**valid, **record} if base else record
    text = json.dumps(data, allow_nan=True)
    account = _accepts_or_explains(read_account, _file("account.json", text.encode()))
    if account is not None:
        assert isinstance(account, Account)
        assert account.principal > 0 and 0 <= account.annual_rate <= 0.36
        assert account.tier in "ABCDE"


# -- plan_options on random valid accounts --------------------------------------------------


@st.composite
def accounts(draw) -> Account:
    """A small valid account: every field within the SPEC §3 ranges."""
    principal = draw(st.floats(min_value=500, max_value=150_000)).__round__(2)
    interest_due = draw(st.floats(min_value=0, max_value=3000)).__round__(2)
    # up to the whole balance overdue (see test_status_quo_whole_balance_overdue)
    arrears = draw(st.floats(min_value=0, max_value=1)) * (principal + interest_due)
    income = draw(st.sampled_from([0.0, 1500.0, 4000.0, 9000.0, 25000.0]))
    recovery = draw(st.integers(min_value=0, max_value=12))
    return Account(
        account_id="FUZZ",
        product=draw(st.sampled_from(["auto_loan", "card_instalment"])),
        principal=principal,
        interest_due=interest_due,
        fees_due=draw(st.floats(min_value=0, max_value=800)).__round__(2),
        arrears=math.floor(arrears * 100) / 100,
        annual_rate=draw(st.floats(min_value=0, max_value=0.36)).__round__(4),
        remaining_term=draw(st.integers(min_value=1, max_value=24)),
        dpd=draw(st.integers(min_value=0, max_value=200)),
        credit_score=draw(st.one_of(st.none(), st.integers(min_value=300, max_value=850))),
        income=income,
        income_normal=draw(st.sampled_from([income, income * 1.5, 12000.0])),
        recovery_months=recovery,
        income_cv=draw(st.sampled_from([0.0, 0.1, 0.25, 0.6])),
        expenses=draw(st.floats(min_value=0, max_value=6000)).__round__(2),
        other_debt=draw(st.floats(min_value=0, max_value=3000)).__round__(2),
        vehicle_value=draw(st.sampled_from([0.0, 20000.0, 90000.0])),
        hardship=draw(st.booleans()),
    )


def _policy():
    from solver.core.policy import Policy

    return Policy(max_term_months=24, max_deferral_months=2, max_payment_levels=2)


def _check_plan_result(account: Account, result) -> None:
    """Schedules reconcile to the cent and every figure equals evaluate() on its schedule."""
    from solver.core.evaluation import evaluate
    from solver.core.model import BehaviourModel

    model = BehaviourModel()
    assert result.status in ("RECOMMENDED", "NPV_TEST_FAILED", "INFEASIBLE")
    sq_ev = evaluate(account, result.status_quo.schedule, model=model)
    for option in (result.status_quo, *result.options):
        if option.schedule is None:
            assert not option.feasible or option.family == "waterfall", option.label
            continue
        schedule = option.schedule
        schedule.check()  # money identities to the cent, balance ends at 0
        ev = evaluate(account, schedule, model=model)
        for name, expected in (
            ("npv", ev.npv),
            ("pd_12m", ev.pd_12m),
            ("pd_life", ev.pd_life),
            ("expected_loss", ev.expected_loss),
            # to the cent: the difference of the two NPVs rounded (review of s21)
            ("npv_vs_status_quo", _cent_difference(ev.npv, sq_ev.npv)),
        ):
            got = getattr(option, name)
            assert abs(got - expected) <= 1e-9 * max(1.0, abs(expected)), (option.label, name)
        assert abs(option.total_paid - float(schedule.payments.sum())) < 1e-6
    if result.status == "RECOMMENDED":
        best = result.recommended_option
        # the NPV test compares unrounded NPVs; the Δ reported is rounded to the cent
        assert best is not None and best.feasible and best.npv_vs_status_quo >= 0
    if result.status == "INFEASIBLE":
        assert result.explanation


SMALL_SEARCH = {"grid_levels": 4, "beam_width": 4, "buckets": 8}


@FUZZ
@given(account=accounts())
def test_plan_options_never_raises_and_reconciles(account: Account) -> None:
    """plan_options on a random valid account: no exception; schedules reconcile; metrics
    equal evaluate() on the reported schedule (relative 1e-9)."""
    from solver.plans.options import plan_options
    from solver.plans.search import SearchParams

    search = SearchParams(**SMALL_SEARCH)
    result = plan_options(account, _policy(), search=search, relax=False)
    _check_plan_result(account, result)


@FUZZ
@given(account=accounts())
def test_plan_options_relaxations_never_raise(account: Account) -> None:
    """With relaxations on (about 0.6 s per infeasible account, most are feasible): no
    exception, and an infeasible result names at least one relaxation or explains why."""
    from solver.plans.options import plan_options
    from solver.plans.search import SearchParams

    result = plan_options(account, _policy(), search=SearchParams(**SMALL_SEARCH), relax=True)
    _check_plan_result(account, result)


def test_status_quo_whole_balance_overdue() -> None:
    """An account whose whole balance is overdue (arrears = principal + interest_due) gets a
    status quo and plan options (found by the fuzzer above)."""

    from solver.plans.options import plan_options

    account = Account(
        account_id="OVERDUE", principal=500.0, arrears=500.0, annual_rate=0.0,
        remaining_term=2, income=3000.0, expenses=1000.0,
    )  # fmt: skip
    result = plan_options(account, _policy())
    _check_plan_result(account, result)


# -- settings files: random mutations of the shipped TOML files ----------------------------

ROOT = Path(__file__).resolve().parents[1]

TOML_VALUE = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=4), st.integers(-5, 5), max_size=2),
)


def _leaves(doc, prefix=()):
    """Paths (tuples of keys / indices) to every value of a parsed TOML document."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        path = (*prefix, key)
        yield path
        if isinstance(value, dict | list):
            yield from _leaves(value, path)


@st.composite
def mutations(draw, text: str):
    """A TOML document with one random change: a value replaced, a key dropped or added."""
    import copy
    import tomllib

    import tomli_w

    doc = copy.deepcopy(tomllib.loads(text))
    paths = list(_leaves(doc))
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if op == "replace":
        parent[path[-1]] = draw(TOML_VALUE)
    elif op == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=6))] = draw(TOML_VALUE)
    else:
        parent.append(draw(TOML_VALUE))
    return tomli_w.dumps(doc)


def _settings_loaders():
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.teams import Teams
    from solver.core.model import BehaviourModel
    from solver.core.policy import Policy
    from solver.core.tiering import TieringRules

    return {
        "policy": (ROOT / "scenarios" / "policy.toml", Policy.from_toml),
        "treatments": (ROOT / "scenarios" / "treatments.toml", Catalogue.from_toml),
        "teams": (ROOT / "scenarios" / "teams.toml", Teams.from_toml),
        "tiering": (ROOT / "scenarios" / "tiering.toml", TieringRules.from_toml),
        "account": (ROOT / "scenarios" / "sample_account.toml", read_account),
        "model": (ROOT / "scenarios" / "behaviour.toml", BehaviourModel.from_toml),
        "scenario": (_scenario_file(), _load_scenario),
    }


def _scenario_file() -> Path:
    """A self-contained scenario using every section (absolute paths: it is copied)."""
    scenarios = ROOT / "scenarios"
    text = f"""name = "fuzz"
description = "every section"
[portfolio]
n = 40
seed = 2
[model]
path = {str(scenarios / "behaviour.toml")!r}
kappa = 0.25
[policy]
path = {str(scenarios / "policy.toml")!r}
max_deferral_months = 3
[plans]
restructure = true
grid_levels = 4
[collection]
treatments = {str(scenarios / "treatments.toml")!r}
teams = {str(scenarios / "teams.toml")!r}
capacity_multiplier = 0.8
time_limit_seconds = 5.0
[shocks]
income_multiplier = 0.9
unemployment_probability = 0.05
hazard_multiplier = 1.1
[[shocks.segments]]
product = "card_instalment"
tier = ["D", "E"]
unemployment_probability = 0.1
[simulation]
paths = 10
horizon_months = 12
seed = 1
"""
    path = _TMP / "scenario-base.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_scenario(path: Path):
    from solver.scenarios.spec import load_scenario

    return load_scenario(path)


@pytest.mark.parametrize(
    "kind",
    [
        "policy",
        "treatments",
        "teams",
        "tiering",
        "account",
        "model",
        "scenario",
    ],
)
def test_settings_files_random_mutations(kind: str) -> None:
    """A shipped TOML file with one random change (value of any type, key dropped or
    added): the loader returns its object or raises InputError naming the file."""
    path, load = _settings_loaders()[kind]
    text = path.read_text(encoding="utf-8")

    @FUZZ
    @given(mutated=mutations(text))
    def check(mutated: str) -> None:
        path = _file(f"{kind}.toml", mutated.encode("utf-8"))
        _accepts_or_explains(load, path, referenced=kind == "scenario")

    check()
