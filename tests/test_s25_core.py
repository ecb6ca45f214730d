"""Session 25, core: a policy's deferral within its term (SPEC §5), the general blank-cell
rule and the header reader of solver.core."""

from __future__ import annotations

import glob
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from solver.core.policy import Policy
from solver.core.problems import ProblemLog
from solver.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = ROOT / "tests" / "data" / "plans" / "needs_deferral.toml"

# -- 1. max_deferral_months <= max_term_months (SPEC §5: "longest plan, deferral included")


def _both_named(text: str, deferral: int, term: int) -> bool:
    return f"max_deferral_months ({deferral})" in text and f"max_term_months ({term})" in text


def test_policy_refuses_a_deferral_longer_than_the_term():
    """Policy(max_term_months=3) with the default 6-month deferral is a ValueError naming
    both keys and their values."""
    with pytest.raises(ValueError) as info:
        Policy(max_term_months=3)
    assert _both_named(str(info.value), 6, 3)


def test_policy_accepts_a_deferral_as_long_as_the_term():
    """A deferral equal to the term is within it (SPEC: 'deferral included')."""
    policy = Policy(max_term_months=6, max_deferral_months=6)
    assert (policy.max_term_months, policy.max_deferral_months) == (6, 6)


def test_replace_refuses_a_deferral_longer_than_the_term():
    """A what-if through Policy.replace is checked too."""
    with pytest.raises(ValueError, match=r"max_deferral_months \(61\).*max_term_months \(60\)"):
        Policy().replace(max_deferral_months=61)


@pytest.mark.parametrize(
    ("override", "deferral", "term"),
    [({"max_term_months": 3}, 6, 3), ({"max_deferral_months": 12, "max_term_months": 9}, 12, 9)],
)
def test_product_overrides_are_checked_over_the_base_keys(override, deferral, term):
    """A product's policy (its overrides over the base keys) is refused when its deferral
    exceeds its term, and the message names the product."""
    with pytest.raises(ValueError) as info:
        Policy(products={"card_instalment": override})
    assert str(info.value).startswith("products.card_instalment: ")
    assert _both_named(str(info.value), deferral, term)


def test_product_override_may_fix_what_the_base_allows():
    """A product that shortens its term and its deferral together is accepted, and its
    policy has both."""
    policy = Policy(products={"card_instalment": {"max_term_months": 4, "max_deferral_months": 2}})
    card = policy.for_product("card_instalment")
    assert (card.max_term_months, card.max_deferral_months) == (4, 2)


def test_policy_file_is_refused_naming_the_file(tmp_path):
    """Policy.from_toml refuses a [product.*] table whose deferral exceeds its term, an
    InputError naming the file and the product."""
    path = tmp_path / "short.toml"
    path.write_text("[product.auto_loan]\nmax_term_months = 4\n")
    with pytest.raises(InputError) as info:
        Policy.from_toml(path)
    text = str(info.value)
    assert text.startswith(f"{path}: products.auto_loan: ") and _both_named(text, 6, 4)


def test_cli_policy_file_exits_2_naming_the_file(tmp_path):
    """workout plan --policy FILE with max_deferral_months > max_term_months exits 2 with
    the file and both keys named, no traceback."""
    path = tmp_path / "bad_policy.toml"
    path.write_text("max_term_months = 12\nmax_deferral_months = 13\n")
    run = subprocess.run(
        [sys.executable, "cli.py", "plan", "--policy", str(path), str(ACCOUNT)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2
    assert str(path) in run.stderr and _both_named(run.stderr, 13, 12)
    assert "Traceback" not in run.stderr


def test_cli_set_exits_2_naming_the_setting():
    """workout plan --set policy.max_term_months=3 (deferral 6) exits 2 naming the --set."""
    run = subprocess.run(
        [sys.executable, "cli.py", "plan", "--set", "policy.max_term_months=3", str(ACCOUNT)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2
    assert "--set policy.max_term_months" in run.stderr and _both_named(run.stderr, 6, 3)
    assert "Traceback" not in run.stderr


def test_settings_are_checked_where_they_end():
    """--set max_term_months=3 then max_deferral_months=2 (from 60/6) is accepted: the
    rule across the keys is checked once the settings are in, not in between."""
    log = ProblemLog("--set")
    policy = Policy().with_settings(
        [("policy.max_term_months", "3"), ("policy.max_deferral_months", "2")], log
    )
    log.raise_if_any()
    assert (policy.max_term_months, policy.max_deferral_months) == (3, 2)


def test_settings_that_end_wrong_are_reported_once():
    """--set max_term_months=3 alone is one problem, against that setting, naming both
    keys; a later bad value of another key is reported too."""
    log = ProblemLog("--set")
    Policy().with_settings([("policy.max_term_months", "3"), ("max_dti", "99")], log)
    with pytest.raises(InputError) as info:
        log.raise_if_any()
    problems = info.value.problems
    assert len(problems) == 2
    assert any("max_dti" in p for p in problems)
    assert any(
        p.startswith("--set policy.max_term_months") and _both_named(p, 6, 3) for p in problems
    )


def test_service_policy_overrides_are_checked_where_they_end():
    """The service's policy overrides (JSON body) shorten term and deferral together, and
    a deferral over the term is a problem of the policy field."""
    from solver.service.requests import RequestProblems, policy_of

    def body(**policy):
        return SimpleNamespace(policy=SimpleNamespace(model_dump=lambda exclude_none: policy))

    policy = policy_of(Policy(), body(max_term_months=3, max_deferral_months=2))
    assert (policy.max_term_months, policy.max_deferral_months) == (3, 2)
    with pytest.raises(RequestProblems) as info:
        policy_of(Policy(), body(max_deferral_months=61))
    assert _both_named(str(info.value.problems[0]), 61, 60)


def test_scenario_override_is_refused_naming_the_scenario():
    """A scenario's policy override (sweep, --set) with the deferral over the term is an
    InputError naming the override."""
    from solver.scenarios.spec import load_scenario

    with pytest.raises(InputError) as info:
        load_scenario(ROOT / "scenarios" / "baseline.toml", {"policy.max_term_months": 5})
    text = "\n".join(info.value.problems)
    assert "override policy.max_term_months: " in text and _both_named(text, 6, 5)


def test_bundled_policies_and_scenarios_still_load():
    """Every bundled policy file and every scenario under scenarios/ loads (none breaks
    the rule)."""
    from solver.scenarios.spec import load_scenario

    loaded = 0
    for name in sorted(glob.glob(str(ROOT / "scenarios" / "*.toml"))):
        data = tomllib.loads(Path(name).read_text())
        if "name" in data:  # a scenario (its own [policy] table or its extends chain's)
            load_scenario(name)
            loaded += 1
        elif set(data) <= {"product", *Policy().to_dict()}:
            Policy.from_toml(name)
            loaded += 1
    Policy.from_toml(ROOT / "tests" / "data" / "plans" / "policy_no_deferral.toml")
    assert loaded == 7  # 6 scenarios (generous_policy is one) and policy.toml


# -- 3. one definition of a blank cell --------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [None, float("nan"), np.float32("nan"), pd.NaT, pd.NA, np.datetime64("NaT"),
     np.timedelta64("NaT", "D"), Decimal("NaN"), "", "   ", "NA", " nan "],
)  # fmt: skip
def test_is_blank_takes_every_missing_marker(value):
    """is_blank is true for pandas.isna's scalars (NaT and NA too) and blank or NaN-word
    text."""
    from solver.core.cleaning import is_blank

    assert is_blank(value)


@pytest.mark.parametrize(
    "value",
    [0, 0.0, "0", "x", False, pd.Timestamp("2026-12-05"), np.datetime64("2026-12-05"),
     np.array([np.nan]), [None], Decimal("1.5")],
)  # fmt: skip
def test_is_blank_leaves_values_alone(value):
    """Numbers, text, dates and array-like cells are not blank."""
    from solver.core.cleaning import is_blank

    assert not is_blank(value)


# -- 3. one header reader ---------------------------------------------------------------


def test_read_header_of_each_format(tmp_path):
    """read_header gives the names as written, in file order, of a CSV (a byte-order mark
    dropped), a Parquet file and an Excel sheet's first row."""
    from solver.core.table_header import read_header

    frame = pd.DataFrame({"Account ID": ["a"], "principal": [1.0], "月": [2]})
    names = ["Account ID", "principal", "月"]
    csv = tmp_path / "t.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.csv", "t.parquet", "t.xlsx"):
        assert read_header(tmp_path / name) == names


def test_read_header_refuses_other_formats(tmp_path):
    """A format without a header to read (TOML) is a ValueError naming the file."""
    from solver.core.table_header import read_header

    path = tmp_path / "p.toml"
    path.write_text("a = 1\n")
    with pytest.raises(ValueError, match="p.toml"):
        read_header(path)


def test_owed_read_uses_the_header_reader(tmp_path):
    """read_owed_columns still reads a CSV book's ids and balances owed (its header by
    read_header, normalised)."""
    from solver.core.owed_read import read_owed_columns

    path = tmp_path / "book.csv"
    path.write_text("Account_ID,Principal,interest_due\nA1,100.5,2\nA2,50,\n")
    got = read_owed_columns(SimpleNamespace(path=path, db=None))
    assert got is not None
    assert list(got["account_id"]) == ["A1", "A2"]
    assert got["principal"].tolist() == [100.5, 50.0]
    assert got["interest_due"].tolist() == [2.0, 0.0] and got["fees_due"].tolist() == [0.0, 0.0]
