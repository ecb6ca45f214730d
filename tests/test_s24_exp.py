"""Session 24, s24-exp: the review's findings on Dask addresses and champion/challenger
experiments.

1. A malformed ``--address`` exits 2 naming the option (the dashboard's http:// URL gets
   the scheduler's address), fast, with no traceback and no client left to close itself.
2. ``experiment split`` refuses a share that leaves a whole group empty.
3. ``experiment evaluate``: a zero standard error is "not testable" (interval, p-value and
   note agree); Welch's sample size and mde use the t distribution of its test.
4. The outcomes reader's problems have the project's shape (ProblemLog): by row, capped,
   counted by column; a header-only file says so.

Imports of the code under test are inside the tests, so that each fails on its own on
main's code (where some names do not exist).
"""

from __future__ import annotations

import gc
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nct, t, ttest_ind

from solver.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "portfolio" / "tiny.csv"


def _cli(argv: list[str]) -> int:
    from cli import workout
    from commands.common import run_cli

    return run_cli(workout, argv)


# -- 1. --address ------------------------------------------------------------------------------


def test_dashboard_url_exits_2_fast_without_traceback(tmp_path):
    """`plan-portfolio --engine dask --address http://127.0.0.1:8786`: exit 2 naming --address
    and the scheduler's tcp:// address, no traceback, no Client.__del__ wait (was exit 1, 46 s)."""
    pytest.importorskip("distributed")
    argv = [sys.executable, str(ROOT / "cli.py"), "plan-portfolio", str(TINY)]
    argv += ["--out", str(tmp_path / "x.csv"), "--engine", "dask"]
    argv += ["--address", "http://127.0.0.1:8786"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert "--address http://127.0.0.1:8786" in done.stderr
    assert "dashboard" in done.stderr and "tcp://127.0.0.1:8786" in done.stderr
    assert "Traceback" not in done.stderr and "__del__" not in done.stderr
    assert elapsed < 30, elapsed  # the client's close used to wait 40 s
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("garbage", "no port"),
        ("garbage:xx", "port 'xx' is not a port number"),
        ("tcp://:8786", "no host"),
        ("foo://h:1", "unknown scheme 'foo'"),
        ("inproc://x", "unknown scheme 'inproc'"),
        ("tcp://127.0.0.1:70000", "not a port number"),
        ("::1:8786", "IPv6 host goes in brackets"),
    ],
)
def test_malformed_addresses_are_input_errors(address, expected):
    """Each malformed address is an InputError naming --address and what is wrong."""
    pytest.importorskip("distributed")
    from solver.engines.dask import DaskEngine

    with pytest.raises(InputError) as err:
        DaskEngine(address, timeout=1.0)
    assert str(err.value).startswith(f"--address {address}: ") and expected in str(err.value)


def test_risk_score_with_a_malformed_address_exits_2(tmp_path, capsys):
    """`risk score --engine dask --address garbage:xx`: exit 2 naming --address, no traceback."""
    pytest.importorskip("distributed")
    from test_risk_early_warning import synthetic_uci

    uci, model = tmp_path / "uci.csv", tmp_path / "ew.toml"
    synthetic_uci(600, seed=5).rename(
        columns={"account_id": "ID", "default_next_month": "default.payment.next.month"}
    ).to_csv(uci, index=False)
    assert _cli(["risk", "fit", str(uci), "--out", str(model), "--no-png"]) == 0
    capsys.readouterr()
    code = _cli(
        ["risk", "score", str(uci), "--ew-model", str(model), "--out", str(tmp_path / "s.csv"),
         "--engine", "dask", "--address", "garbage:xx"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--address garbage:xx" in err and "Traceback" not in err


def test_well_formed_addresses_pass_the_check():
    """tcp://, a bare HOST:PORT (Dask's default scheme), bracketed IPv6, tls/ws/wss pass."""
    pytest.importorskip("distributed")
    from solver.engines.dask import check_address

    for address in ("tcp://10.0.0.5:8786", "sched.local:8786", "tcp://[::1]:8786",
                    "tls://h:8786", "ws://h:8786", "wss://h:443"):  # fmt: skip
        assert check_address(address) == address


def test_a_value_error_from_the_client_is_an_input_error_and_leaves_no_client(monkeypatch):
    """A form the check lets through but Dask refuses (ValueError inside Client's start):
    InputError naming --address, and the half-made client is closed at once (no __del__
    traceback at garbage collection, no 40-s wait)."""
    pytest.importorskip("distributed")
    import solver.engines.dask as dask_engine

    monkeypatch.setattr(dask_engine, "check_address", lambda address: address)
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    started = time.monotonic()
    with pytest.raises(InputError, match=r"^--address http://127\.0\.0\.1:8786: Dask cannot"):
        dask_engine.DaskEngine("http://127.0.0.1:8786", timeout=2.0)
    gc.collect()
    assert time.monotonic() - started < 10
    assert unraisable == []


# -- 2. experiment split -------------------------------------------------------------------


@pytest.fixture(scope="module")
def book_500(tmp_path_factory):
    """A generated portfolio of 500 accounts, as a CSV file."""
    from solver.core.generate import generate_portfolio
    from solver.core.writers import write_table

    path = tmp_path_factory.mktemp("book") / "book.csv"
    write_table(generate_portfolio(500, seed=7), path)
    return path


@pytest.mark.parametrize(
    ("share", "group", "fix"),
    [(0.001, "challenger", "0.002 or more"), (0.999, "champion", "0.998 or less")],
)
def test_a_share_that_empties_a_group_exits_2(book_500, tmp_path, capsys, share, group, fix):
    """--share 0.001 of 500 (round(0.5) = 0 challengers) or 0.999 (500): exit 2 naming
    --share and the share that gives the empty group one account; nothing written."""
    out = tmp_path / "split.csv"
    code = _cli(["experiment", "split", str(book_500), "--share", str(share), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert f"--share {share:g} leaves the {group} group empty" in err
    assert f"--share {fix} gives it one account" in err
    # oracle: the named share gives exactly one account to the group (SPEC §9: round(share·n))
    named = float(fix.split()[0])
    challengers = round(named * 500)
    assert (challengers if group == "challenger" else 500 - challengers) == 1


def test_the_smallest_workable_share_still_splits(book_500, tmp_path):
    """--share 0.002 of 500 accounts gives one challenger (the refusal's bound is usable)."""
    out = tmp_path / "split.csv"
    assert _cli(["experiment", "split", str(book_500), "--share", "0.002", "--out", str(out)]) == 0
    assert (pd.read_csv(out)["group"] == "challenger").sum() == 1


# -- 3. experiment evaluate ----------------------------------------------------------------


def _outcomes(champion: list[float], challenger: list[float], cured: bool = False) -> pd.DataFrame:
    """Outcomes with balance 100 and these amounts collected per account."""
    rows = [
        {"account_id": f"{g}-{i}", "group": g, "balance": "100", "collected": str(c),
         "cured": str(cured)}
        for g, values in (("champion", champion), ("challenger", challenger))
        for i, c in enumerate(values)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_zero_variance_is_not_testable_and_consistent():
    """Champion 0,0,0 vs challenger 50,50,50 (balance 100): recovery rates are not testable
    (no interval, p-value or verdict) and the note says so; before, p = 1 "not
    significant" beside an interval +0.5 .. +0.5 that excludes 0."""
    from solver.scenarios.experiment_eval import evaluate_outcomes
    from solver.scenarios.experiment_outcomes import validate_outcomes

    result = evaluate_outcomes(validate_outcomes(_outcomes([0, 0, 0], [50, 50, 50])))
    uplift = result.uplift.set_index("metric")
    for metric in ("recovery_rate", "recovery_rate_pooled"):
        row = uplift.loc[metric]
        assert math.isnan(row["p_value"]) and math.isnan(row["ci_low"]), metric
        assert math.isnan(row["ci_high"]) and not row["significant"]
    # session 25: a 0/1 metric without variance has Fisher's exact p (0/3 vs 0/3 cured: 1),
    # still no interval
    cure = uplift.loc["cure_rate"]
    assert cure["p_value"] == 1.0 and math.isnan(cure["ci_low"]) and not cure["significant"]
    assert uplift.loc["recovery_rate", "uplift"] == pytest.approx(0.5)
    notes = dict(note.split(": ", 1) for note in result.notes)
    assert notes["recovery_rate"].startswith("not testable")
    assert "large enough" not in " ".join(result.notes)


def _welch_power(diff: float, a: np.ndarray, b: np.ndarray, n1: int, n2: int) -> float:
    """Oracle: the power of a two-sided 5 % Welch test, by the noncentral t (own code)."""
    v1, v2 = np.var(a, ddof=1), np.var(b, ddof=1)
    se = math.sqrt(v1 / n1 + v2 / n2)
    df = (v1 / n1 + v2 / n2) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    c = t.ppf(0.975, df)
    return nct.sf(c, df, diff / se) + np.nan_to_num(nct.cdf(-c, df, diff / se))


def test_welch_sample_size_uses_the_tests_distribution(tmp_path):
    """2 accounts per group (rates 0.1, 0.2 vs 0.4, 0.6): Welch p = 0.129 (scipy), and the
    note says the experiment is too small (the z-based note said "large enough"); the
    need is the smallest n with 80 % power by the noncentral t, mde has 80 % power."""
    from solver.scenarios.experiment_eval import evaluate_outcomes
    from solver.scenarios.experiment_outcomes import validate_outcomes

    champion, challenger = [10.0, 20.0], [40.0, 60.0]
    result = evaluate_outcomes(validate_outcomes(_outcomes(champion, challenger)))
    row = result.uplift.set_index("metric").loc["recovery_rate"]
    a, b = np.array(champion) / 100, np.array(challenger) / 100
    assert row["p_value"] == pytest.approx(ttest_ind(b, a, equal_var=False).pvalue, abs=1e-6)
    note = next(n for n in result.notes if n.startswith("recovery_rate:"))
    assert "too small" in note and "large enough" not in note
    need = int(row["need_champion"])
    assert (
        _welch_power(0.35, a, b, need, need) >= 0.8 > _welch_power(0.35, a, b, need - 1, need - 1)
    )
    assert f"about {need:,} champion" in note
    assert _welch_power(row["mde"], a, b, 2, 2) == pytest.approx(0.8, abs=1e-4)


def test_welch_verdict_and_interval_agree():
    """For Welch rows, "significant" holds exactly when the 95 % interval excludes 0."""
    from solver.scenarios.experiment_eval import evaluate_outcomes
    from solver.scenarios.experiment_outcomes import validate_outcomes

    rng = np.random.default_rng(5)
    for shift in (0.0, 2.0, 5.0, 12.0):
        champion = list(np.round(rng.uniform(0, 40, 30), 2))
        challenger = list(np.round(rng.uniform(0, 40, 20) + shift, 2))
        result = evaluate_outcomes(validate_outcomes(_outcomes(champion, challenger)))
        row = result.uplift.set_index("metric").loc["recovery_rate"]
        excludes = row["ci_low"] > 0 or row["ci_high"] < 0
        assert bool(row["significant"]) == excludes, (shift, row.to_dict())


# -- 4. the outcomes reader ----------------------------------------------------------------


def test_header_only_outcomes_say_so(tmp_path):
    """A header-only outcomes file: "header only, no data rows" (was "group 'champion'
    needs at least 2 accounts")."""
    from solver.scenarios.experiment_outcomes import read_outcomes

    path = tmp_path / "o.csv"
    path.write_text("account_id,group,balance,collected,cured\n")
    with pytest.raises(InputError) as err:
        read_outcomes(path)
    assert err.value.problems == [f"{path}: header only, no data rows"]


def test_outcome_problems_by_row_capped_and_counted_by_column(tmp_path):
    """60 rows each with a bad balance and a bad collected: lines in row order (row 1's
    two problems first), 50 lines, then the rest counted by column."""
    from solver.scenarios.experiment_outcomes import read_outcomes

    rows = [f"A{i},champion,-1,x,true" for i in range(1, 61)]
    path = tmp_path / "o.csv"
    path.write_text("account_id,group,balance,collected,cured\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        read_outcomes(path)
    problems = err.value.problems
    assert "120 problems" in str(err.value)
    assert len(problems) == 51
    assert problems[0] == f"{path}: row 1 (account_id A1): balance: must be > 0, got -1"
    assert problems[1] == f"{path}: row 1 (account_id A1): collected: not a number: 'x'"
    assert problems[2].startswith(f"{path}: row 2 (account_id A2): ")
    rows_named = [int(p.split("row ")[1].split(" ")[0]) for p in problems[:50]]
    assert rows_named == sorted(rows_named)
    assert problems[-1] == "... and 70 more problems (by column: balance 60, collected 60)"
