"""Tests for the account schema, dpd buckets and tiering, Account and the vectorised validation
(solver.core.schema, tiering, account, validation)."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from input_errors import input_error

from solver.core.account import Account, frame_columns
from solver.core.readers import read_portfolio
from solver.core.schema import COLUMNS, FIELDS, InputWarning
from solver.core.summaries import summarize_portfolio
from solver.core.tiering import TieringRules, derive_tier, dpd_bucket
from solver.core.validation import validate_portfolio
from solver.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"

# SPEC §3 column order, copied from the table in SPEC.md, with the income forecast and
# inflows of issue 13 after the other income fields.
SPEC_COLUMNS = [
    "account_id", "product", "principal", "interest_due", "fees_due", "arrears",
    "annual_rate", "remaining_term", "dpd", "credit_score", "tier", "income",
    "income_normal", "recovery_months", "income_cv", "income_forecast", "inflows",
    "expenses", "other_debt",
    "vehicle_value", "region", "language", "preferred_channel", "consent_email",
    "consent_sms", "hardship", "cease_contact", "dispute", "bankruptcy", "has_plan",
]  # fmt: skip

MINIMAL = {
    "account_id": "A1",
    "principal": 100000,
    "annual_rate": 0.06,
    "remaining_term": 24,
    "income": 8000,
    "expenses": 3000,
}


def test_schema_columns_follow_spec_order():
    """The field table has exactly the SPEC §3 columns, in SPEC order."""
    assert list(COLUMNS) == SPEC_COLUMNS
    assert [f.name for f in dataclasses.fields(Account)] == SPEC_COLUMNS


def test_schema_defaults_match_spec():
    """Defaults and required flags in the field table are those of SPEC §3."""
    spec = {f.name: f for f in FIELDS}
    required = {n for n, f in spec.items() if f.required}
    assert required == {
        "account_id", "principal", "annual_rate", "remaining_term", "income", "expenses"
    }  # fmt: skip
    assert spec["product"].default == "auto_loan"
    assert spec["income_cv"].default == 0.25
    assert spec["income_normal"].default_from == "income"
    assert spec["consent_email"].default is True and spec["consent_sms"].default is True
    for flag in ("hardship", "cease_contact", "dispute", "bankruptcy", "has_plan"):
        assert spec[flag].default is False
    assert (spec["annual_rate"].lower, spec["annual_rate"].upper) == (0.0, 0.36)
    assert spec["principal"].lower_open  # principal > 0


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [(0, "M0"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3"), (90, "M3"),
     (91, "M4+"), (400, "M4+")],
)  # fmt: skip
def test_dpd_bucket_edges(dpd, bucket):
    """Bucket edges are SPEC §5's: M1 1-30, M2 31-60, M3 61-90, M4+ > 90."""
    assert dpd_bucket(dpd) == bucket


def test_dpd_bucket_vectorised_and_negative():
    """The array form equals the scalar form; negative dpd is rejected."""
    days = np.arange(0, 200)
    assert dpd_bucket(days).tolist() == [dpd_bucket(int(d)) for d in days]
    with pytest.raises(ValueError, match="dpd"):
        dpd_bucket([-1, 3])


@pytest.mark.parametrize(
    ("score", "dpd", "tier"),
    [
        (760, 0, "A"), (740, 25, "A"), (739, 0, "B"), (670, 30, "B"), (669, 0, "C"),
        (580, 0, "C"), (579, 0, "D"), (500, 0, "D"), (499, 0, "E"), (300, 0, "E"),
        (760, 45, "B"), (760, 75, "C"), (760, 91, "E"), (600, 61, "E"), (650, 40, "D"),
        (None, 0, "C"), (float("nan"), 20, "C"), (None, 45, "D"), (None, 70, "E"),
    ],
)  # fmt: skip
def test_derive_tier_hand_table(score, dpd, tier):
    """Tier = score band (740/670/580/500) moved down 0/0/1/2/4 by bucket, capped at E."""
    assert derive_tier(score, dpd) == tier


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(250, 900, allow_nan=False)),
            st.integers(0, 1000),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_derive_tier_vectorised_matches_scalar(pairs):
    """The vectorised tier equals the element-by-element tier; missing scores allowed."""
    scores = np.array([np.nan if s is None else s for s, _ in pairs])
    days = np.array([d for _, d in pairs])
    vector = derive_tier(scores, days)
    assert vector.tolist() == [derive_tier(s, d) for s, d in pairs]


def test_tiering_toml_equals_builtin_defaults():
    """scenarios/tiering.toml holds exactly the built-in defaults (installed package works)."""
    path = ROOT / "scenarios" / "tiering.toml"
    assert TieringRules.from_toml(path) == TieringRules()
    with open(path, "rb") as fh:
        assert tomllib.load(fh) == TieringRules().to_dict()


def test_tiering_rules_custom_and_errors(tmp_path):
    """Custom rules change tiers; malformed rule files raise InputError naming the key."""
    lenient = TieringRules(dpd_downgrade=(0, 0, 0, 1, 1), missing_score_tier="B")
    assert derive_tier(760, 120, lenient) == "B"
    assert derive_tier(None, 0, lenient) == "B"
    bad = tmp_path / "tiering.toml"
    bad.write_text("[score_bands]\nA = 700\nB = 720\nC = 580\nD = 500\nE = 300\n")
    with pytest.raises(InputError, match="strictly decreasing"):
        TieringRules.from_toml(bad)
    bad.write_text('colour = "red"\n[dpd_downgrade]\nM0 = 0\n')
    text = input_error(TieringRules.from_toml, bad)
    assert "colour: unknown key" in text and "dpd_downgrade.M1" in text


def test_from_mapping_defaults_and_coercion():
    """Blanks take SPEC defaults; text numbers and yes/no are coerced; tier is derived."""
    acc = Account.from_mapping(
        {**MINIMAL, "principal": "100000.50", "hardship": "yes", "dpd": "45", "credit_score": 700,
         "region": "  Guangdong ", "product": "Card_Instalment", "income_cv": ""}
    )  # fmt: skip
    assert acc.principal == 100000.5 and isinstance(acc.dpd, int) and acc.dpd == 45
    assert acc.hardship is True and acc.consent_sms is True and acc.cease_contact is False
    assert acc.income_normal is None and acc.income_cv == 0.25 and acc.recovery_months == 0
    assert acc.income_forecast is None and acc.inflows is None
    assert acc.product == "card_instalment" and acc.region == "Guangdong"
    assert acc.tier == "C" and acc.tier_derived  # 700 -> B, M2 -> one step down
    assert acc.dpd_bucket == "M2"
    assert acc.credit_score == 700.0 and Account.from_mapping(MINIMAL).credit_score is None


def test_from_mapping_reports_every_problem():
    """All problems are listed, each naming source, account and column."""
    with pytest.raises(InputError) as info:
        Account.from_mapping(
            {"account_id": "X9", "principal": -5, "annual_rate": 12, "remaining_term": 2.5,
             "income": "abc", "hardship": "perhaps", "tier": "Z"},
            source="acct.toml",
        )  # fmt: skip
    lines = info.value.problems
    expected = {
        "principal": "must be > 0, got -5",
        "annual_rate": "(rates are decimals: 12 % is 0.12)",
        "remaining_term": "whole number",
        "income": "not a number: <withheld>",  # personal value withheld (no --verbose)
        "expenses": "missing value (required)",
        "hardship": "expected true/false",
        "tier": "unknown tier 'Z'",
    }
    for column, message in expected.items():
        assert any(
            line.startswith(f"acct.toml: account_id X9: {column}: ") and message in line
            for line in lines
        ), (column, lines)
    assert len(lines) == len(expected)


def test_from_mapping_unknown_keys():
    """Unknown keys are errors by default (typo hint), warnings or ignored on request."""
    with pytest.raises(InputError, match="hardshp: unknown field \\(did you mean 'hardship'\\?\\)"):
        Account.from_mapping({**MINIMAL, "hardshp": True}, source="a.toml")
    with pytest.warns(InputWarning, match="hardshp"):
        acc = Account.from_mapping({**MINIMAL, "hardshp": True}, unknown="warn")
    assert acc.hardship is False
    assert Account.from_mapping({**MINIMAL, "note": "x"}, unknown="ignore").account_id == "A1"
    assert Account.from_mapping({**MINIMAL, "dpd_bucket": "M4+"}).dpd_bucket == "M0"


def test_account_is_frozen_and_validated_on_construction():
    """Direct construction validates and derives the tier; instances are immutable."""
    acc = Account(**MINIMAL, dpd=100, credit_score=800)
    assert acc.tier == "E"
    with pytest.raises(dataclasses.FrozenInstanceError):
        acc.principal = 1.0  # type: ignore[misc]
    with pytest.raises(InputError, match="annual_rate: must be in \\[0, 0.36\\], got 0.5"):
        Account(**{**MINIMAL, "annual_rate": 0.5})


def test_replace_revalidates_and_rederives_tier():
    """replace() re-validates; a derived tier follows dpd/score, a given tier is kept."""
    derived = Account.from_mapping({**MINIMAL, "credit_score": 760, "dpd": 10})
    assert derived.tier == "A"
    assert derived.replace(dpd=45).tier == "B"
    assert derived.replace(credit_score=None).tier == "C"
    assert derived.replace(dpd=45, tier="A").tier == "A"
    given_tier = Account.from_mapping({**MINIMAL, "credit_score": 760, "dpd": 10, "tier": "c"})
    assert given_tier.tier == "C" and not given_tier.tier_derived
    assert given_tier.replace(dpd=100).tier == "C"
    assert given_tier.replace(dpd=100, tier="").tier == "E"
    with pytest.raises(InputError, match="principal"):
        derived.replace(principal=-1)
    with pytest.raises(InputError, match="did you mean 'principal'"):
        derived.replace(principle=5)


def test_to_dict_round_trip():
    """to_dict() gives plain SPEC fields and from_mapping(to_dict()) rebuilds the account."""
    acc = Account.from_mapping({**MINIMAL, "credit_score": 640, "dpd": 33, "vehicle_value": 5e4})
    data = acc.to_dict()
    assert list(data) == SPEC_COLUMNS
    assert Account.from_mapping(data) == acc


def test_from_frame_matches_from_mapping():
    """Account.from_frame on tiny.csv equals validating each row with from_mapping."""
    frame = read_portfolio(TINY)
    accounts = Account.from_frame(frame)
    assert [a.account_id for a in accounts] == [f"T00{i}" for i in range(1, 9)]
    for account, (_, row) in zip(accounts, frame.iterrows(), strict=True):
        rebuilt = Account.from_mapping({c: row[c] for c in COLUMNS})
        assert rebuilt == account
        assert type(account.remaining_term) is int and type(account.hardship) is bool
    assert accounts[3].credit_score is None


def test_from_columns_of_row_slices_matches_from_frame_of_the_rows():
    """Account.from_columns on slices of frame_columns equals from_frame of those rows, also
    without the income_forecast / inflows columns."""
    frame = read_portfolio(TINY)
    for part in (frame, frame.drop(columns=["income_forecast", "inflows"])):
        columns = frame_columns(part)
        sliced = {name: values[2:6] for name, values in columns.items()}
        assert Account.from_columns(sliced, 4) == Account.from_frame(part.iloc[2:6])
        assert [a.account_id for a in Account.from_columns(sliced, 4)] == [
            f"T00{i}" for i in range(3, 7)
        ]


def test_frame_columns_requires_the_required_columns():
    """frame_columns raises KeyError for a missing required column (not for the sequences)."""
    frame = read_portfolio(TINY)
    with pytest.raises(KeyError):
        frame_columns(frame.drop(columns=["principal"]))
    assert "inflows" not in frame_columns(frame.drop(columns=["inflows"]))


# -- scalar and vectorised validators agree ----------------------------------------------

CELL_VALUES = {
    "principal": st.sampled_from([1000.0, "2500.5", 0, -1, "x", None, float("inf"), 2e12]),
    "annual_rate": st.sampled_from([0.0, 0.36, "0.1", 0.37, -0.01, None, "12%"]),
    "remaining_term": st.sampled_from([1, 12, "24", 0, 2.5, None, 601]),
    "dpd": st.sampled_from([0, 30, "91", -1, 3.5, None]),
    "credit_score": st.sampled_from([None, 300, 850, "700", 299, 851, "n/a"]),
    "hardship": st.sampled_from([True, False, "yes", "0", "maybe", None]),
    "product": st.sampled_from(["auto_loan", "CARD_INSTALMENT", "lease", None]),
    "arrears": st.sampled_from([0, 500.0, 1e6, -3, None]),
}


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries(CELL_VALUES))
def test_scalar_and_vectorised_validation_agree(cells):
    """Account.from_mapping and validate_portfolio accept/reject the same row alike."""
    record = {**MINIMAL, **cells}
    try:
        account = Account.from_mapping(record, source="f")
        scalar_columns = None
    except InputError as exc:
        account = None
        scalar_columns = {line.split(": ")[2] for line in exc.problems}
    raw = pd.DataFrame([record]).astype(object)
    try:
        frame = validate_portfolio(raw, "f")
        vector_columns = None
    except InputError as exc:
        frame = None
        vector_columns = {line.split(": ")[2] for line in exc.problems}
    assert scalar_columns == vector_columns
    if account is not None:
        assert frame is not None
        rebuilt = Account.from_frame(frame)[0]
        for name in COLUMNS:
            a, b = getattr(account, name), getattr(rebuilt, name)
            assert (
                a == b or (a is None and b is None) or (isinstance(a, float) and math.isclose(a, b))
            ), name


def test_validate_portfolio_reports_all_rows_sorted_and_capped():
    """Problems are listed by row then column, capped at 50 lines with a count of the rest."""
    n = 80
    raw = pd.DataFrame(
        {
            "account_id": [f"R{i}" for i in range(n)],
            "principal": [-1.0] * n,
            "annual_rate": [0.9] * n,
            "remaining_term": [12] * n,
            "income": [1.0] * n,
            "expenses": [1.0] * n,
        }
    )
    with pytest.raises(InputError) as info:
        validate_portfolio(raw, "big.csv")
    lines = info.value.problems
    assert len(lines) == 51 and "160 problems" in str(info.value)
    assert lines[0].startswith("big.csv: row 1 (account_id R0): principal:")
    assert lines[1].startswith("big.csv: row 1 (account_id R0): annual_rate:")
    assert lines[2].startswith("big.csv: row 2 (account_id R1): principal:")
    assert lines[-1].startswith("... and 110 more problems")
    assert "by column: principal 80" in lines[-1] and "annual_rate 80" in lines[-1]


def test_validate_portfolio_output_dtypes():
    """A validated frame has the FIELDS dtypes and the derived dpd_bucket column."""
    frame = read_portfolio(TINY)
    assert list(frame.columns) == SPEC_COLUMNS + ["dpd_bucket"]
    kinds = {f.name: f.dtype for f in FIELDS}
    for name in SPEC_COLUMNS:
        if kinds[name] == "str":
            assert pd.api.types.is_string_dtype(frame[name].dtype), name
        else:
            assert str(frame[name].dtype) == kinds[name], name
    assert pd.api.types.is_string_dtype(frame["dpd_bucket"].dtype)


def test_summarize_portfolio_totals_reconcile():
    """Summary group totals add up to the column sums (tiny.csv, hand totals in README)."""
    frame = read_portfolio(TINY)
    summary = summarize_portfolio(frame)
    for key in ("by_product", "by_tier", "by_dpd_bucket"):
        table = summary[key]
        body = table.drop(index="total")
        assert body["accounts"].sum() == 8
        assert body["principal"].sum() == pytest.approx(418_000.00, abs=0.005)
        assert table.loc["total", "arrears"] == pytest.approx(28_420.00, abs=0.005)
    assert summary["by_tier"]["accounts"].to_dict() == {"B": 2, "C": 2, "D": 1, "E": 3, "total": 8}
    flags = summary["flags"]["accounts"]
    assert (
        flags["hardship"] == 1 and flags["bankruptcy"] == 1 and flags["missing_credit_score"] == 1
    )
