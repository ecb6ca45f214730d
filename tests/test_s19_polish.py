"""Findings of the session-19 product review of the command line's messages, mended.

Each test fails on main (999f004), for the reason given in its docstring's finding:

1. a policy file named by a scenario (``--set policy.path=FILE``) that is not TOML was
   called a "scenario file";
2. ``scenario run --set foo`` answered sweep's ``expected KEY=VALUE[,VALUE...]`` and
   ``plan-portfolio --set foo`` the one-account form ``KEY=VALUE``;
3. ``--set policy.max_dti=abc`` read "expected a number" in ``plan`` and "max_dti must be a
   number" in ``scenario run`` (and in a policy file);
4. ``--as-of 2026-02-30`` was told "does not match the format" (the service: "must be a date
   written YYYY-MM-DD"), though it is written in that format;
5. ``offer`` said "N months from" the first due date, not from the letter's date;
6. our errors started ``error:`` and click's ``Error:``;
7. a ``--set`` that made the account inconsistent (arrears above the balance, a vehicle on
   a card) was told only once every other ``--set`` was right, and only the first such.

The commands run in process (``tests/cli_inprocess``: ``commands.common.run_cli``, the
function the ``workout`` entry point calls). Expected lines are written out by hand from
the SPEC §3 / §5 rules (arrears within principal + interest_due, max_dti a number in
[0, 10], no vehicle on a card) and the sample account's figures.
"""

from __future__ import annotations

import calendar
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
from cli_inprocess import run_workout
from serve_process import in_process_client

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
ACCOUNT = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
BASELINE = ROOT / "scenarios" / "baseline.toml"
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the CLI's plan cache out of the home directory."""
    monkeypatch.setenv("WORKOUT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plan-cache"))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The service, with its audit trail in a temporary database."""
    with in_process_client(tmp_path_factory, "polish19") as c:
        yield c


def _lines(err: str) -> list[str]:
    """The problem lines of an error (indented under its headline)."""
    return [line.strip() for line in err.splitlines() if line.startswith("  ")]


# -- 1. a policy file named by a scenario -------------------------------------------------


def test_scenario_names_a_bad_policy_file_as_the_policy_file(tmp_path):
    """A policy file that is not TOML, named by --set policy.path or by a scenario's
    [policy] path, is called the policy file (its path and the key that named it), exit 2."""
    bad = tmp_path / "policy.toml"
    bad.write_text("max_dti = [\n", encoding="utf-8")
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        f'[portfolio]\nn = 5\nseed = 1\n[policy]\npath = "{bad.name}"\n', encoding="utf-8"
    )
    out = tmp_path / "run"
    cases = (
        ((BASELINE, "--set", f"policy.path={bad}"), "--set policy.path"),
        ((scenario,), f"{scenario}: policy.path"),
    )
    for args, named_by in cases:
        code, _, err = run_workout("scenario", "run", *args, "--out-dir", out)
        assert code == 2, err
        assert f"{bad}: not valid TOML (policy file): " in err, err
        assert f"(named by {named_by})" in err and "scenario file" not in err, err
        assert not out.exists()


# -- 2. each command says the --set form it takes -----------------------------------------


def test_each_command_says_the_set_form_it_takes(tmp_path):
    """`--set foo` (no '=') is told in the form the command takes: one value for plan,
    evaluate, offer and scenario run, a policy key for plan-portfolio, a list for sweep."""
    out = tmp_path / "out"
    commands = {
        ("plan", SAMPLE): "KEY=VALUE",
        ("evaluate", SAMPLE, "--term", "36"): "KEY=VALUE",
        ("offer", SAMPLE, "--option", "custom", "--out", out / "l.html"): "KEY=VALUE",
        ("plan-portfolio", TINY, "--out", out / "p.csv"): "policy.KEY=VALUE",
        ("scenario", "run", BASELINE, "--out-dir", out): "KEY=VALUE",
        ("scenario", "sweep", BASELINE, "--out-dir", out): "KEY=VALUE[,VALUE...]",
    }
    for args, form in commands.items():
        code, _, err = run_workout(*args, "--set", "foo")
        assert code == 2, (args, err)
        assert _lines(err) == [f"--set foo: expected {form}"], (args, err)
    assert not out.exists()


# -- 3. one wording of a bad policy value -------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("policy.max_dti=abc", "--set policy.max_dti: max_dti must be a number, got 'abc'"),
        ("policy.max_dti=true", "--set policy.max_dti: max_dti must be a number, got True"),
        (
            "policy.max_term_months=3.5",
            "--set policy.max_term_months: max_term_months must be a whole number, got 3.5",
        ),
    ],
)
def test_plan_and_scenario_word_a_bad_policy_value_alike(tmp_path, setting, line):
    """A bad policy value reads the same in `plan` and `scenario run` (and as in a policy
    file: 'KEY must be ..., got VALUE'), exit 2."""
    code, _, plan_err = run_workout("plan", SAMPLE, "--set", setting)
    assert code == 2 and _lines(plan_err) == [line], plan_err
    out = tmp_path / "run"
    code, _, run_err = run_workout("scenario", "run", BASELINE, "--set", setting, "--out-dir", out)
    assert code == 2 and _lines(run_err) == [line], run_err
    policy = tmp_path / "policy.toml"
    key, _, value = setting.removeprefix("policy.").partition("=")
    policy.write_text(f"{key} = {value if value != 'abc' else repr(value)}\n", encoding="utf-8")
    code, _, file_err = run_workout("plan", SAMPLE, "--policy", policy)
    assert code == 2 and _lines(file_err) == [f"{policy}: {line.split(': ', 1)[1]}"], file_err


# -- 4. a date that does not exist --------------------------------------------------------


def test_as_of_that_no_calendar_has_is_told_so(tmp_path):
    """--as-of 2026-02-30 (written YYYY-MM-DD, a day that does not exist) exits 2 saying it
    is not a calendar date, for plan, plan-portfolio and offer; nothing is written; the
    range rule still holds."""
    commands = (
        ("plan", SAMPLE, "--out", tmp_path / "plan.json"),
        ("plan-portfolio", TINY, "--out", tmp_path / "plans.csv"),
        ("offer", SAMPLE, "--option", "custom", "--out", tmp_path / "letter.html"),
    )
    for args in commands:
        for day in ("2026-02-30", "2027-02-29", "2026-13-01"):
            code, _, err = run_workout(*args, "--as-of", day)
            assert code == 2, err
            assert f"--as-of': {day} is not a calendar date (YYYY-MM-DD)" in err, err
            assert "does not match the format" not in err, err
        code, _, err = run_workout(*args, "--as-of", "1969-12-31")
        assert code == 2 and "1970-01-01 to 2199-12-31" in err, err
    assert list(tmp_path.iterdir()) == []


def test_service_as_of_that_no_calendar_has_is_told_so(client):
    """POST /api/plan with as_of 2026-02-30 is a 422 naming as_of that says it is not a
    calendar date (without echoing the value); another form still names the form."""
    response = client.post("/api/plan", json={"account": ACCOUNT, "as_of": "2026-02-30"})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [p["field"] for p in detail] == ["as_of"]
    assert detail[0]["message"] == "is not a calendar date (YYYY-MM-DD)"
    other = client.post("/api/plan", json={"account": ACCOUNT, "as_of": "30/02/2026"})
    assert other.status_code == 422
    assert other.json()["detail"][0]["message"].startswith("must be a date written YYYY-MM-DD")


# -- 5. the offer's summary counts from the letter's date ---------------------------------


def _months_after(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, the day clipped to the month's end."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def test_offer_summary_counts_the_term_from_the_letters_date(tmp_path):
    """`offer`'s summary line says 'N months from AS_OF (first payment due D)' as the
    letter does: its last due date is N months after AS_OF, D is its first payment's."""
    letter = tmp_path / "letter.html"
    code, out, err = run_workout(
        "offer", SAMPLE, "--option", "deferral/capitalize", "--lang", "en",
        "--as-of", "2026-05-04", "--out", letter,
    )  # fmt: skip
    assert code == 0, err
    text = " ".join(out.split())
    found = re.search(r"(\d+) months from (\S+) \(first payment due (\S+)\)", text)
    assert found, text
    term, start, first = int(found[1]), date.fromisoformat(found[2]), found[3]
    html = letter.read_text(encoding="utf-8")
    rows = re.findall(r"<tr( class=\"holiday\")?><td>(\d+)</td><td>([\d-]+)</td>", html)
    assert start == date(2026, 5, 4) and term == int(rows[-1][1]) == len(rows)
    assert _months_after(start, term).isoformat() == rows[-1][2]
    assert first == next(due for holiday, _, due in rows if not holiday)
    assert rows[0][0]  # the plan starts with a holiday: the two readings differ


# -- 6. one casing of errors --------------------------------------------------------------


def test_every_error_starts_with_the_same_word(tmp_path):
    """A missing file, a bad --set and a click usage error all start 'Error: ' on stderr;
    no line starts 'error:'."""
    runs = (
        ("plan", tmp_path / "missing.toml"),
        ("plan", SAMPLE, "--set", "income=abc"),
        ("plan", SAMPLE, "--objective", "nobody"),
        ("validate", ROOT / "tests" / "data" / "broken" / "negative_dpd.csv"),
    )
    for args in runs:
        code, _, err = run_workout(*args)
        assert code == 2, err
        errors = [line for line in err.splitlines() if line.lower().startswith("error")]
        assert errors and all(line.startswith("Error: ") for line in errors), err


# -- 7. checks across the account's fields, listed with the other --set problems ----------

#: The sample account's principal + interest_due: the most its arrears may be (SPEC §3).
ARREARS_CAP = ACCOUNT["principal"] + ACCOUNT["interest_due"]


@pytest.mark.parametrize(
    "command",
    [
        ("plan",),
        ("evaluate", "--term", "36"),
        ("offer", "--option", "custom", "--out", "{tmp}/letter.html"),
    ],
    ids=["plan", "evaluate", "offer"],
)
def test_cross_field_problems_are_listed_with_the_others(tmp_path, command):
    """Bad --set values and --set values that make the account inconsistent (arrears above
    principal + interest_due, a card with a vehicle) are one list: each item's own in the
    order typed, then the checks across fields, each naming its --set; exit 2, nothing."""
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in command]
    code, out, err = run_workout(
        args[0], SAMPLE, *args[1:],
        "--set", "income=abc", "--set", "arrears=999999", "--set", "policy.max_dti=x",
        "--set", "product=card_instalment",
    )  # fmt: skip
    assert code == 2, err
    assert "Error: --set: 4 problems found; nothing was run" in err, err
    assert _lines(err) == [
        "--set income: not a number: <withheld>",
        "--set policy.max_dti: max_dti must be a number, got 'x'",
        f"--set arrears: 999999 exceeds principal + interest_due ({ARREARS_CAP:g}); arrears "
        "are the overdue part of them",
        "--set product: vehicle_value: must be 0 for a card_instalment account (unsecured: "
        f"no vehicle to count as collateral), got {ACCOUNT['vehicle_value']:g}",
    ], err
    assert out == "" and list(tmp_path.iterdir()) == []


def test_a_field_that_moves_the_cap_names_its_set():
    """--set principal=1000 puts the file's arrears above principal + interest_due: the
    problem names --set principal (the setting that caused it) and the arrears."""
    code, _, err = run_workout("plan", SAMPLE, "--set", "principal=1000")
    assert code == 2, err
    assert "Error: --set: 1 problem found; nothing was run" in err, err
    cap = 1000 + ACCOUNT["interest_due"]
    assert _lines(err) == [
        f"--set principal: arrears: {ACCOUNT['arrears']:g} exceeds principal + interest_due "
        f"({cap:g}); arrears are the overdue part of them"
    ], err


def test_service_what_if_lists_every_cross_field_problem(client):
    """POST /api/plan with what_if arrears above the balance and a card product is a 422
    naming both fields (the first only, before)."""
    what_if = {"arrears": 999999, "product": "card_instalment"}
    response = client.post("/api/plan", json={"account": ACCOUNT, "what_if": what_if})
    assert response.status_code == 422, response.text
    fields = [p["field"] for p in response.json()["detail"]]
    assert fields == ["what_if.arrears", "what_if.product"], response.text
