"""``workout plan ACCOUNT --set FIELD=VALUE``: every account field reaches planning (issue 13).

The account is ``scenarios/sample_account.toml`` (tier C derived, income 9,000 recovering
to 14,000 over 9 months). For each SPEC §3 field the override must arrive, parsed, on the
``Account`` handed to :func:`solver.plans.options.plan_options`; for the fields the behaviour model
or the contract reads, the plan output must change too.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from solver.core.schema import COLUMNS
from solver.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"

#: field -> (text given to --set, value expected on the Account); every SPEC §3 field.
SETTINGS: dict[str, tuple[str, object]] = {
    "account_id": ("NEW-1", "NEW-1"),
    "product": ("Card_Instalment", "card_instalment"),
    "principal": ("70000", 70000.0),
    "interest_due": ("500.5", 500.5),
    "fees_due": ("50", 50.0),
    "arrears": ("3000", 3000.0),
    "annual_rate": ("0.12", 0.12),
    "remaining_term": ("36", 36),
    "dpd": ("10", 10),
    "credit_score": ("720", 720.0),
    "tier": ("e", "E"),
    "income": ("12000", 12000.0),
    "income_normal": ("20000", 20000.0),
    "recovery_months": ("0", 0),
    "income_cv": ("0.6", 0.6),
    "income_forecast": ("4000; 4000;4000;4000;4000;4000", (4000.0,) * 6),
    "inflows": ("3:30000", ((3, 30000.0),)),
    "expenses": ("6000", 6000.0),
    "other_debt": ("2500", 2500.0),
    "vehicle_value": ("20000", 20000.0),
    "region": (" Beijing ", "Beijing"),
    "language": ("en", "en"),
    "preferred_channel": ("SMS", "sms"),
    "consent_email": ("no", False),
    "consent_sms": ("false", False),
    "hardship": ("yes", True),
    "cease_contact": ("true", True),
    "dispute": ("1", True),
    "bankruptcy": ("true", True),
    "has_plan": ("是", True),
}

#: Fields the behaviour model or the contract reads: the plan output must change.
CHANGES_OUTPUT = (
    "income",
    "income_normal",
    "recovery_months",
    "income_cv",
    "income_forecast",
    "inflows",
    "expenses",
    "other_debt",
    "vehicle_value",
    "tier",
    "principal",
    "annual_rate",
)


def run_cli(args: list[str]) -> tuple[int, str]:
    import cli
    from commands.common import run_cli as run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(cli.workout, [str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


class _Captured(InputError):
    """Raised by the stub planner once it has seen the account."""


@pytest.fixture
def planned_accounts(monkeypatch):
    """The accounts handed to plan_options (planning itself is stubbed out)."""
    # `workout plan` plans through solver.officer.documents.plan_result (shared with the
    # service): the stub goes where it looks plan_options up
    import solver.officer.documents

    seen: list = []

    def stub(account, *args, **kwargs):
        seen.append(account)
        raise _Captured("stub planner")

    monkeypatch.setattr(solver.officer.documents, "plan_options", stub)
    return seen


def test_settings_table_covers_every_account_field():
    """SETTINGS lists exactly the SPEC §3 fields, so a new field needs a --set case."""
    assert list(SETTINGS) == list(COLUMNS)
    assert set(CHANGES_OUTPUT) <= set(COLUMNS)


@pytest.mark.parametrize("field", list(SETTINGS))
def test_set_reaches_the_planned_account(field, planned_accounts):
    """--set FIELD=VALUE arrives parsed on the Account given to plan_options."""
    text, expected = SETTINGS[field]
    # the sample's car is no card's collateral: a card with a vehicle is bad input (session 17)
    unsecured = ["--set", "vehicle_value=0"] if field == "product" else []
    code, out = run_cli(["plan", SAMPLE, "--set", f"{field}={text}", *unsecured])
    assert code == 2 and "stub planner" in out, out
    (account,) = planned_accounts
    assert getattr(account, field) == expected
    assert type(getattr(account, field)) is type(expected)


def test_set_account_prefix_and_unset(planned_accounts):
    """account.FIELD works like FIELD; an empty value unsets an optional field."""
    run_cli(["plan", SAMPLE, "--set", "account.income=7000", "--set", "income_normal="])
    (account,) = planned_accounts
    assert account.income == 7000.0 and account.income_normal is None


def _plan_json(*settings: str) -> dict:
    args = ["plan", SAMPLE, "--format", "json"]
    for item in settings:
        args += ["--set", item]
    code, out = run_cli(args)
    assert code in (0, 3), out
    return json.loads(out[: out.rindex("}") + 1])


@pytest.fixture(scope="module")
def base_plan() -> dict:
    return _plan_json()


@pytest.mark.parametrize("field", CHANGES_OUTPUT)
def test_set_changes_the_plan_output(field, base_plan):
    """Overriding a field the model or the contract reads changes the status quo or the options."""
    text, _ = SETTINGS[field]
    changed = _plan_json(f"{field}={text}")
    assert changed["account_id"] == base_plan["account_id"]
    metrics = ("npv", "pd_12m", "expected_loss", "total_paid", "max_dti")

    def figures(plan: dict) -> list:
        return [[o.get(k) for k in metrics] for o in (plan["status_quo"], *plan["options"])]

    assert figures(changed) != figures(base_plan)


def test_set_income_normal_follows_income_when_not_given(tmp_path):
    """Without income_normal in the file, --set income moves the recovered income too."""
    text = SAMPLE.read_text(encoding="utf-8").replace("income_normal = 14000.0\n", "")
    account = tmp_path / "no_normal.toml"
    account.write_text(text, encoding="utf-8")
    code, out = run_cli(["plan", account, "--format", "json", "--set", "income=14000"])
    assert code in (0, 3), out
    moved = json.loads(out[: out.rindex("}") + 1])
    explicit = _plan_json("income=14000", "income_normal=14000")
    assert moved["status_quo"]["npv"] == pytest.approx(explicit["status_quo"]["npv"], abs=1e-6)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("income=abc", "--set income: not a number: <withheld>"),
        ("dpd=x", "--set dpd: not a number: 'x'"),
        ("annual_rate=12", "--set annual_rate: must be in [0, 0.36], got 12"),
        ("income=", "--set income: missing value (required)"),
        ("income_forecast=1,2", "--set income_forecast: separate the items with ';'"),
        ("inflows=0:5", "--set inflows: inflow 1: month must be in [1, 600], got 0"),
        ("arrears=1e6", "--set arrears: 1000000 exceeds"),
        ("incme=9000", "--set incme: unknown key (did you mean 'income'?)"),
        ("income", "--set income: expected KEY=VALUE"),
    ],
)
def test_bad_set_names_the_setting(setting, message, planned_accounts):
    """A bad --set exits 2 naming `--set FIELD` (not <Account>.replace); nothing is planned."""
    code, out = run_cli(["plan", SAMPLE, "--set", setting])
    assert code == 2 and message in out, out
    assert "<Account>" not in out and "Traceback" not in out
    assert planned_accounts == []


def test_bad_set_lists_every_problem(planned_accounts):
    """Several bad --set values are reported together."""
    code, out = run_cli(["plan", SAMPLE, "--set", "income=abc", "--set", "dpd=-1"])
    assert code == 2
    assert "--set: 2 problems" in out
    assert "--set income: not a number" in out and "--set dpd: must be in [0, 3650]" in out
