"""Session 24 leftovers of the reviews: the note on a search cut by a too short
`--time-limit`, an unknown `--jurisdiction` named as the option, a baseline on a book with
other balances refused (reading only the id and balance-owed columns), and the one
definition of the balance owed in the plan search and the offers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_inprocess import run_workout

from solver.core.generate import generate_portfolio

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def _words(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as single spaces (rich wraps notes)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """A generated 200-account book (seed 7) as CSV."""
    path = tmp_path_factory.mktemp("s24lows") / "portfolio.csv"
    generate_portfolio(200, seed=7).to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------------------
# 1. The note on a search the clock cut: the limit, or the machine's load
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "0.001"])
def test_a_too_short_time_limit_is_named_as_the_cause(book, tmp_path, limit):
    """`allocate --time-limit 0` (or 0.001 s): the note says the limit is too short and
    suggests a longer --time-limit, and does not send the user to a less loaded machine."""
    out = tmp_path / "a.csv"
    code, stdout, err = run_workout("allocate", book, "--out", out, "--time-limit", limit)
    assert code == 0, err
    note = _words(stdout)
    assert "the wall clock stopped the search" in note
    assert f"the time limit of {float(limit):g} s is too short for this book" in note
    assert "rerun with a longer --time-limit" in note
    assert "less loaded machine" not in note


def _stopped_by_load(real_allocate):
    """``allocate`` whose result says the clock cut the LNS after it had 40 % of a core, with
    5 s of the idle machine's work done: the look of a run on a loaded machine."""

    def allocate(*args, **kwargs):
        result = real_allocate(*args, **kwargs)
        result.stats["wall_clock_stop"] = "lns"
        result.stats["work"] = {**result.stats["work"], "spent_s": 5.0}
        result.stats["work"]["phases"] = {"lns": [5.0, 6.0, 10.0, 4.0]}  # wall 10, cpu 4
        return result

    return allocate


def test_a_search_cut_by_the_load_keeps_the_machine_load_note(book, tmp_path, monkeypatch):
    """A 60-s run whose phases had 40 % of a core when the clock cut them: the note keeps
    the load as the reason (a longer limit does not help) and says what share it had."""
    import solver.allocation.portfolio as portfolio

    monkeypatch.setattr(portfolio, "allocate", _stopped_by_load(portfolio.allocate))
    out = tmp_path / "a.csv"
    code, stdout, err = run_workout("allocate", book, "--out", out, "--time-limit", "60")
    assert code == 0, err
    note = _words(stdout)
    assert "the wall clock stopped the search (lns)" in note
    assert "rerun on a less loaded machine" in note and "40% of a core" in note
    assert "too short" not in note


def test_the_note_tells_the_limit_from_the_load_by_the_work_and_the_processor():
    """The cause of a cut search: the limit when it is 0, when the work done at the idle
    paces plus the set-up estimate (9 µs per account) reaches it, or when the phases had
    at least 80 % of a core; the load when they had less and the work fits."""
    from commands.allocate_output import clock_stop_note

    def note(limit, spent, wall, cpu, accounts=1000):
        work = {"spent_s": spent, "phases": {"lns": [spent, spent, wall, cpu]}}
        return clock_stop_note("lns", {"work": work}, limit, accounts)

    assert "too short" in note(0.0, 0.0, 0.0, 0.0)
    # 0.02 s of work + 0.009 s of set-up > 0.025 s, on a loaded machine: still the limit
    assert "too short" in note(0.025, 0.02, 0.04, 0.02)
    assert "too short" in note(10.0, 3.0, 10.0, 9.5)  # 95 % of a core: not the load
    loaded = note(10.0, 3.0, 10.0, 5.0)  # half a core, 3 s of 10: the load
    assert "less loaded machine" in loaded and "50% of a core" in loaded
    assert "too short" not in loaded


# ---------------------------------------------------------------------------------------
# 2. An unknown --jurisdiction names the option, not the treatments file
# ---------------------------------------------------------------------------------------


def test_an_unknown_jurisdiction_names_the_option_and_the_value(book, tmp_path):
    """README's `allocate BOOK --out OUT --jurisdiction xx`: exit 2 naming --jurisdiction and
    'xx' with the known profiles, not the treatments file; no traceback, nothing written."""
    out = tmp_path / "allocation.csv"
    code, _, err = run_workout("allocate", book, "--out", out, "--jurisdiction", "xx")
    assert code == 2, err
    assert "--jurisdiction" in err and "'xx'" in err and "cn, uk, us" in err
    assert "treatments.toml" not in err
    assert "Traceback" not in err
    assert not out.exists()


def test_calendar_names_an_unknown_jurisdiction_as_the_option_too(book, tmp_path):
    """`calendar ... --jurisdiction mars` (the other command with the option): exit 2 naming
    --jurisdiction and 'mars', not the treatments file, nothing written."""
    out = tmp_path / "calendar.csv"
    code, _, err = run_workout(
        "calendar", book, "--allocation", book, "--out", out, "--jurisdiction", "mars"
    )
    assert code == 2, err
    assert "--jurisdiction" in err and "'mars'" in err
    assert "treatments.toml" not in err and "Traceback" not in err
    assert not out.exists()


def test_the_catalogue_does_not_blame_its_file_for_a_bad_override():
    """Catalogue.from_toml(jurisdiction='xx') raises InputError naming the profile 'xx',
    not the catalogue file (whose own [compliance] jurisdiction key is fine)."""
    from solver.allocation.catalogue import Catalogue
    from solver.errors import InputError

    with pytest.raises(InputError) as caught:
        Catalogue.from_toml(jurisdiction="xx")
    assert "unknown profile 'xx'" in str(caught.value)
    assert "treatments.toml" not in str(caught.value)


# ---------------------------------------------------------------------------------------
# 3. A baseline on the same accounts with other balances is refused
# ---------------------------------------------------------------------------------------


def _scenario(root: Path, name: str, book: str) -> Path:
    """A scenario without plans or treatments on ``book`` (12 months, 4 paths)."""
    path = root / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\n[model]\npath = "{(SCENARIOS / "behaviour.toml").as_posix()}"\n'
        "[plans]\nrestructure = false\n"
        "[simulation]\npaths = 4\nhorizon_months = 12\nseed = 5\n"
        f'[portfolio]\npath = "{book}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def pair(tmp_path):
    """A 30-account book (seed 11) and a copy of it; a scenario on each."""
    frame = generate_portfolio(30, seed=11)
    frame.to_csv(tmp_path / "book.csv", index=False)
    frame.to_csv(tmp_path / "copy.csv", index=False)
    return tmp_path, frame, _scenario(tmp_path, "scen", "book.csv")


def test_a_baseline_with_other_balances_is_refused_before_running(pair):
    """`scenario run A --baseline B` where B's book has A's accounts but one owes a cent
    more in fees: exit 2 naming both scenario files, the account and both balances owed;
    no report written."""
    root, frame, scen = pair
    other = frame.copy()
    other.loc[3, "fees_due"] += 0.01
    other.to_csv(root / "copy.csv", index=False)
    base = _scenario(root, "base", "copy.csv")
    out = root / "out"
    code, _, err = run_workout("scenario", "run", scen, "--baseline", base, "--out-dir", out)
    assert code == 2, err
    message = _words(err)
    assert "base.toml" in message and "scen.toml" in message
    owed = frame.loc[3, "principal"] + frame.loc[3, "interest_due"] + frame.loc[3, "fees_due"]
    assert f"{frame.loc[3, 'account_id']}: {owed:,.2f} vs the baseline's {owed + 0.01:,.2f}" in (
        message
    )
    assert "1 owe another balance" in message and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_the_check_reads_only_the_id_and_balance_columns(pair, suffix):
    """A baseline book in another file with the same ids and balances passes, though its
    income column holds text that the whole validated read refuses (so that column was not
    read), in CSV and in Parquet."""
    from solver.scenarios.same_book import check_same_book
    from solver.scenarios.spec import load_scenario

    root, frame, scen = pair
    other = frame.astype({"income": str})  # text throughout: Parquet takes one type
    other.loc[0, "income"] = "not a number"
    path = root / f"copy.{suffix}"
    other.to_csv(path, index=False) if suffix == "csv" else other.to_parquet(path)
    check_same_book(load_scenario(scen), load_scenario(_scenario(root, "base", path.name)))


def test_a_bad_balance_cell_is_named_by_the_validator(pair):
    """A baseline book whose principal cell is text: the check reads that book whole and the
    validator's error names the file, the row and the column (exit 2), not a balance gap."""
    from solver.errors import InputError
    from solver.scenarios.same_book import check_same_book
    from solver.scenarios.spec import load_scenario

    root, frame, scen = pair
    other = frame.astype({"principal": object})
    other.loc[2, "principal"] = "12k"
    other.to_csv(root / "copy.csv", index=False)
    with pytest.raises(InputError) as caught:
        check_same_book(load_scenario(scen), load_scenario(_scenario(root, "base", "copy.csv")))
    text = str(caught.value)
    assert "copy.csv" in text and "row 3" in text and "principal" in text


def test_a_generated_book_is_compared_on_balances_too(tmp_path):
    """A scenario on the generator (n=30, seed 11) and a baseline on the same book written to
    CSV pass; with one principal 1.00 lower the baseline is refused naming both files."""
    from solver.errors import InputError
    from solver.scenarios.same_book import check_same_book
    from solver.scenarios.spec import load_scenario

    generated = tmp_path / "gen.toml"
    generated.write_text(
        'name = "gen"\n[plans]\nrestructure = false\n[portfolio]\nn = 30\nseed = 11\n',
        encoding="utf-8",
    )
    frame = generate_portfolio(30, seed=11)
    frame.to_csv(tmp_path / "book.csv", index=False)
    check_same_book(load_scenario(generated), load_scenario(_scenario(tmp_path, "b", "book.csv")))
    frame.loc[7, "principal"] -= 1.0
    frame.to_csv(tmp_path / "book.csv", index=False)
    with pytest.raises(InputError, match=r"b\.toml.*gen\.toml.*1 owe another balance"):
        check_same_book(
            load_scenario(generated), load_scenario(_scenario(tmp_path, "b", "book.csv"))
        )


# ---------------------------------------------------------------------------------------
# 4. One balance owed: solver.core.account.balance_owed in the plans and the offers
# ---------------------------------------------------------------------------------------


def test_balance_owed_takes_a_mapping_and_sums_to_the_bit():
    """balance_owed of a mapping of arrays (and of scalars) is principal + interest_due +
    fees_due summed left to right, bit for bit, as of the DataFrame of the same columns."""
    from solver.core.account import balance_owed

    rng = np.random.default_rng(24)
    columns = {
        "principal": rng.uniform(100, 1e6, 500),
        "interest_due": rng.uniform(0, 1e4, 500).round(2),
        "fees_due": rng.uniform(0, 1e3, 500).round(2),
    }
    expected = columns["principal"] + columns["interest_due"] + columns["fees_due"]
    owed = balance_owed(columns)
    assert owed.dtype == np.float64
    assert np.array_equal(owed.view(np.int64), expected.view(np.int64))
    assert np.array_equal(balance_owed(pd.DataFrame(columns)), expected)
    one = {k: float(v[0]) for k, v in columns.items()}
    assert float(balance_owed(one)) == one["principal"] + one["interest_due"] + one["fees_due"]


def _spy(monkeypatch, module):
    """Replace ``module.balance_owed`` by a wrapper that records each call's argument."""
    from solver.core.account import balance_owed

    calls: list[object] = []

    def spy(frame):
        calls.append(frame)
        return balance_owed(frame)

    monkeypatch.setattr(module, "balance_owed", spy)
    return calls


def test_the_plan_context_balance_is_the_balance_owed(monkeypatch):
    """PlanContext.balance comes from solver.core.account.balance_owed of its fields and is
    principal + interest_due + fees_due to the bit."""
    import solver.plans.context as context
    from solver.core import Policy, read_account
    from solver.core.model import BehaviourModel

    calls = _spy(monkeypatch, context)
    account = read_account(SCENARIOS / "sample_account.toml")
    ctx = context.context_from_account(account, Policy(), BehaviourModel())
    balance = ctx.balance
    assert calls and calls[-1] is ctx.fields
    f = ctx.fields
    assert balance.tobytes() == (f["principal"] + f["interest_due"] + f["fees_due"]).tobytes()


def test_an_offers_relief_uses_the_balance_owed(monkeypatch):
    """Offer.relief is the balance owed (solver.core.account.balance_owed of the offer's
    owed amounts) less the amount financed, rounded to the cent, at least 0."""
    import solver.officer.offers as offers
    from solver.core import read_account
    from solver.officer import choose_offer
    from solver.plans import plan_options

    account = read_account(SCENARIOS / "sample_account.toml")
    plans = plan_options(account)
    offer = choose_offer(account, plans.recommended, plans).offer
    calls = _spy(monkeypatch, offers)
    owed = account.principal + account.interest_due + account.fees_due
    assert offer.relief == max(0.0, round(owed - offer.schedule.opening_balance / 100, 2))
    assert calls and calls[-1] is offer.owed
