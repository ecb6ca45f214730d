"""Malformed account, policy, model, treatment and team files (issue 8, SPEC §3, §5, §8, §11).

Each case writes one broken file (a valid file with one planted problem, or garbage) and
runs the command that reads it: exit code 2, a message naming the file, the key (and the
account) and what is wrong, no traceback, nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from adv_helpers import (
    BIG_BYTES,
    DATA,
    SCENARIOS,
    Case,
    big,
    big_file,
    big_text,
    big_text_file,
    const,
    garbage,
)

ACCOUNT = (DATA / "portfolio" / "one_account.toml").read_text(encoding="utf-8")
POLICY = (SCENARIOS / "policy.toml").read_text(encoding="utf-8")
MODEL = (SCENARIOS / "behaviour.toml").read_text(encoding="utf-8")
TREATMENTS = (SCENARIOS / "treatments.toml").read_text(encoding="utf-8")
TEAMS = (SCENARIOS / "teams.toml").read_text(encoding="utf-8")
PORTFOLIO = DATA / "portfolio" / "tiny.csv"


def sub(text: str, old: str, new: str) -> Callable[[Path], str]:
    """``text`` with one planted change (the change must apply)."""
    assert old in text, old
    return lambda path: text.replace(old, new, 1)


# -- one account (workout plan ACCOUNT) --------------------------------------------------

ACCOUNT_CASES = [
    Case("income_wrong_type", "a.toml", sub(ACCOUNT, "income = 5000.00", 'income = "lots"'),
         ("ONE001", "income", "not a number")),
    Case("income_negative", "a.toml", sub(ACCOUNT, "income = 5000.00", "income = -5000.0"),
         ("ONE001", "income", "negative")),
    Case("principal_1e15", "a.toml", sub(ACCOUNT, "principal = 80000.00", "principal = 1e15"),
         ("ONE001", "principal", "implausibly large")),
    Case("rate_above_1", "a.toml", sub(ACCOUNT, "annual_rate = 0.072", "annual_rate = 7.2"),
         ("ONE001", "annual_rate", "7.2 % is 0.072")),
    Case("unknown_key", "a.toml", lambda p: ACCOUNT + '\nfavourite_colour = "red"\n',
         ("favourite_colour", "unknown field")),
    Case("nan_required", "a.toml", sub(ACCOUNT, "expenses = 2800.00", "expenses = nan"),
         ("ONE001", "expenses", "missing value")),
    Case("inf_money", "a.toml", sub(ACCOUNT, "expenses = 2800.00", "expenses = inf"),
         ("ONE001", "expenses", "infinite")),
    Case("missing_required", "a.toml", sub(ACCOUNT, "remaining_term = 30\n", ""),
         ("ONE001", "remaining_term", "missing value")),
    Case("dpd_as_date", "a.toml", sub(ACCOUNT, "dpd = 20", "dpd = 2024-01-15"),
         ("ONE001", "dpd", "expected a number")),
    Case("term_fraction", "a.toml", sub(ACCOUNT, "remaining_term = 30", "remaining_term = 30.5"),
         ("ONE001", "remaining_term", "whole number")),
    Case("toml_syntax", "a.toml", sub(ACCOUNT, "dpd = 20", "dpd = = 20"),
         ("not valid TOML", "line")),
    Case("json_wrong_type", "a.json",
         const('{"account_id": "J1", "principal": "abc", "annual_rate": 0.1, '
               '"remaining_term": 12, "income": 5000, "expenses": 2000}'),
         ("J1", "principal", "not a number")),
    Case("json_syntax", "a.json", const('{"account_id": "J1",'), ("not valid JSON", "line 1")),
    Case("two_accounts", "a.json",
         const('[{"account_id": "A"}, {"account_id": "B"}]'), ("expected one account", "2")),
    Case("empty", "a.toml", const(b""), ("empty",)),
    Case("binary_garbage", "a.toml", const(garbage()), ("binary data",)),
    Case("big_200mb_binary", "a.toml", big(), ("too large",)),
    Case("big_200mb_text", "a.json", big_text('{"account_id": "X"}\n'), ("too large",)),
]  # fmt: skip


@pytest.mark.parametrize("case", ACCOUNT_CASES, ids=[c.name for c in ACCOUNT_CASES])
def test_plan_rejects_bad_account(case: Case, rejects) -> None:
    """workout plan ACCOUNT: exit 2 naming file, account and field; nothing written."""
    rejects(
        case,
        lambda path, out: ["plan", path, "--format", "json", "--out", out / "plan.json"],
    )


# -- policy (--policy, for plan and plan-portfolio) -----------------------------------------

POLICY_CASES = [
    Case("unknown_key", "policy.toml", lambda p: POLICY + "\nmax_dtii = 0.3\n",
         ("max_dtii: unknown policy key", "did you mean 'max_dti'")),
    Case("wrong_type", "policy.toml", sub(POLICY, "max_dti = 0.5 ", 'max_dti = "high"'),
         ("max_dti", "number")),
    Case("bool_for_number", "policy.toml", sub(POLICY, "max_term_months = 60", "max_term_months = true"),
         ("max_term_months", "whole number")),
    Case("negative_term", "policy.toml", sub(POLICY, "max_term_months = 60", "max_term_months = -5"),
         ("max_term_months", "in [1, 600]")),
    Case("rate_floor_above_1", "policy.toml", sub(POLICY, "rate_floor = 0.0", "rate_floor = 1.5"),
         ("rate_floor", "[0, 0.36]")),
    Case("nan", "policy.toml", sub(POLICY, "max_dti = 0.5 ", "max_dti = nan"),
         ("max_dti", "nan")),
    Case("inf", "policy.toml", sub(POLICY, "min_payment = 100.0", "min_payment = inf"),
         ("min_payment", "inf")),
    Case("unknown_deferral_mode", "policy.toml",
         sub(POLICY, '"waive"]', '"forgive"]'), ("deferral_interest", "forgive")),
    Case("unknown_product_table", "policy.toml", lambda p: POLICY + "\n[product.mortgage]\nmax_dti = 0.4\n",
         ("product.mortgage", "unknown product")),
    Case("product_unknown_key", "policy.toml",
         lambda p: POLICY + "\n[product.auto_loan]\nmax_terms = 40\n",
         ("product.auto_loan", "max_terms")),
    Case("syntax", "policy.toml", const("max_dti = [0.5\n"), ("not valid TOML",)),
    Case("empty", "policy.toml", const(b""), ("empty",)),
    Case("binary_garbage", "policy.toml", const(garbage()), ("binary data",)),
    Case("big_200mb_text", "policy.toml", big_text("max_dti = 0.5\n"), ("too large",)),
]  # fmt: skip


# -- behaviour model (--model) ----------------------------------------------------------------

MODEL_CASES = [
    Case("unknown_key", "model.toml", lambda p: "foo = 1\n" + MODEL, ("unknown key 'foo'",)),
    Case("wrong_type", "model.toml", sub(MODEL, "kappa = 0.2 ", 'kappa = "x" '), ("kappa",)),
    Case("kappa_above_1", "model.toml", sub(MODEL, "kappa = 0.2 ", "kappa = 2.0 "),
         ("kappa", "[0.0, 1.0]")),
    Case("negative_repo_cost", "model.toml", sub(MODEL, "repo_cost = 3000.0", "repo_cost = -1.0"),
         ("repo_cost", ">= 0")),
    Case("nan", "model.toml", sub(MODEL, "cost_of_funds = 0.03", "cost_of_funds = nan"),
         ("cost_of_funds", "nan")),
    Case("unknown_tier", "model.toml", lambda p: MODEL + "Z = 0.1\n", ("base_hazard", "'Z'")),
    Case("hazard_not_table", "model.toml",
         lambda p: MODEL.split("[base_hazard]")[0] + "base_hazard = 0.01\n", ("base_hazard",)),
    Case("hazard_above_1", "model.toml", sub(MODEL, "E = 0.03", "E = 1.5"),
         ("base_hazard.E", "[0, 1)")),
    Case("lag_fraction", "model.toml",
         sub(MODEL, "recovery_lag_months = 4", "recovery_lag_months = 2.5"),
         ("recovery_lag_months", "whole number")),
    Case("empty", "model.toml", const(b""), ("empty",)),
    Case("binary_garbage", "model.toml", const(garbage()), ("TOML",)),
    Case("big_200mb_binary", "model.toml", big(), ("TOML",)),
]  # fmt: skip


def _settings_command(option: str, command: str) -> Callable[[Path, Path], list[object]]:
    """``plan`` or ``plan-portfolio`` with ``option`` (--policy, --model) naming the file."""
    if command == "plan":
        account = DATA / "portfolio" / "one_account.toml"
        return lambda path, out: [
            "plan", account, option, path, "--format", "json", "--out", out / "p.json"
        ]  # fmt: skip
    return lambda path, out: ["plan-portfolio", PORTFOLIO, option, path, "--out", out / "plans.csv"]


SETTINGS_CASES = [("--policy", c) for c in POLICY_CASES] + [("--model", c) for c in MODEL_CASES]


@pytest.mark.parametrize("command", ["plan", "plan-portfolio"])
@pytest.mark.parametrize(
    ("option", "case"), SETTINGS_CASES, ids=[f"{o[2:]}-{c.name}" for o, c in SETTINGS_CASES]
)
def test_bad_settings_rejected(option: str, case: Case, command: str, rejects):
    """--policy/--model FILE: exit 2 naming the file and the key or parameter; nothing written."""
    rejects(case, _settings_command(option, command))


# -- treatments and teams (allocate --treatments / --teams) ------------------------------------

TREATMENT_CASES = [
    Case("unknown_key", "treatments.toml", lambda p: "bogus_key = 1\n" + TREATMENTS,
         ("bogus_key",)),
    Case("wrong_type", "treatments.toml",
         sub(TREATMENTS, "max_pay_prob = 0.95", 'max_pay_prob = "high"'), ("max_pay_prob",)),
    Case("probability_above_1", "treatments.toml",
         sub(TREATMENTS, "max_pay_prob = 0.95", "max_pay_prob = 1.5"), ("max_pay_prob",)),
    Case("nan", "treatments.toml",
         sub(TREATMENTS, "max_pay_prob = 0.95", "max_pay_prob = nan"), ("max_pay_prob",)),
    Case("negative_cost_of_sms", "treatments.toml",
         lambda p: _treatment_key(TREATMENTS, "sms", "cost_per_action", "-0.05"),
         ("sms", "cost_per_action")),
    Case("base_row_short", "treatments.toml",
         sub(TREATMENTS, "A = [0.40, 0.25, 0.10, 0.05, 0.02]", "A = [0.40, 0.25]"),
         ("base_pay_prob", "A")),
    Case("syntax", "treatments.toml", const("[[[ broken\n"), ("not valid TOML",)),
    Case("empty", "treatments.toml", const(b""), ("empty",)),
    Case("binary_garbage", "treatments.toml", const(garbage()), ("binary data",)),
    Case("big_200mb_text", "treatments.toml", big_text('currency = "CNY"\n'), ("too large",)),
]  # fmt: skip

TEAM_CASES = [
    Case("unknown_key", "teams.toml",
         lambda p: TEAMS + '\n[[teams]]\nname = "x"\ntype = "agent"\nmembers = 3\nsalary = 5\n',
         ("salary",)),
    Case("negative_members", "teams.toml", sub(TEAMS, "members = 300", "members = -300"),
         ("robot-voice", "members")),
    Case("wrong_type", "teams.toml", sub(TEAMS, "members = 300", 'members = "many"'),
         ("robot-voice", "members")),
    Case("infinite", "teams.toml", sub(TEAMS, "members = 300", "members = inf"),
         ("robot-voice", "members")),
    Case("duplicate_name", "teams.toml",
         lambda p: TEAMS + '\n[[teams]]\nname = "robot-voice"\ntype = "robot"\nmembers = 3\n',
         ("duplicate", "robot-voice")),
    Case("unknown_type", "teams.toml", sub(TEAMS, 'type = "robot"', 'type = "drone"'),
         ("robot-voice", "drone")),
    Case("shift_hours_wrong", "teams.toml", sub(TEAMS, "shift_end = 22.0", "shift_end = 25.0"),
         ("robot-voice", "shift_end")),
    Case("empty", "teams.toml", const(b""), ("empty",)),
    Case("binary_garbage", "teams.toml", const(garbage()), ("binary data",)),
    Case("big_200mb_binary", "teams.toml", big(), ("too large",)),
]  # fmt: skip


def _treatment_key(text: str, treatment: str, key: str, value: str) -> str:
    """Set ``key`` in the [treatments.<treatment>] table."""
    lines = text.splitlines(keepends=True)
    start = lines.index(f"[treatments.{treatment}]\n")
    for i in range(start + 1, len(lines)):
        if lines[i].startswith(f"{key} ="):
            lines[i] = f"{key} = {value}\n"
            return "".join(lines)
        if lines[i].startswith("["):
            break
    lines.insert(start + 1, f"{key} = {value}\n")
    return "".join(lines)


@pytest.mark.parametrize("option, case", [
    *[("--treatments", c) for c in TREATMENT_CASES],
    *[("--teams", c) for c in TEAM_CASES],
], ids=[f"treatments-{c.name}" for c in TREATMENT_CASES] + [f"teams-{c.name}" for c in TEAM_CASES])  # fmt: skip
def test_allocate_rejects_bad_catalogue(option: str, case: Case, rejects):
    """allocate --treatments/--teams FILE: exit 2 naming file and key; nothing written."""
    rejects(
        case,
        lambda path, out: ["allocate", PORTFOLIO, option, path, "--out", out / "alloc.csv"],
    )


def test_big_cases_are_really_big(tmp_path: Path) -> None:
    """The 200 MB builders make files of 200 MB (so the size cases test what they claim)."""
    assert big_file(tmp_path / "a.bin").stat().st_size == BIG_BYTES
    assert big_text_file(tmp_path / "b.txt", "x = 1\n").stat().st_size >= BIG_BYTES - 2**20


# -- GAP instance files (bench gap --instances) ------------------------------------------------

GAP_CASES = [
    Case("non_numeric", "gapx.txt", const("1\n2 3\n1 2 x\n"), ("non-numeric token", "'x'")),
    Case("empty", "gapx.txt", const(b""), ("empty",)),
    Case("truncated", "gapx.txt", const("2\n2 3\n1 2 3 4 5 6\n1 1 1 1 1 1\n5 5\n2 3\n1 2\n"),
         ("truncated GAP problem 2 of 2",)),
    Case("token_count", "gapx.txt", const("1\n2 3\n1 2 3 4 5 6\n1 1 1 1 1 1\n5 5 9\n"),
         ("matches neither a single problem nor a file of 1 problems",)),
    Case("binary_garbage", "gapx.txt", const(garbage()), ("binary data",)),
]  # fmt: skip


@pytest.mark.parametrize("case", GAP_CASES, ids=[c.name for c in GAP_CASES])
def test_bench_gap_rejects_bad_instance_file(case: Case, rejects) -> None:
    """bench gap --instances FILE: a malformed OR-Library file gives exit 2 naming the file."""
    rejects(case, lambda path, out: [
        "bench", "gap", "--instances", path, "--time-limit", "0.1", "--no-baseline",
        "--out", out / "r.csv",
    ])  # fmt: skip
