"""Session 25 review of `workout scenario`: compare() applies the one same-book rule (ids and
balances owed), and a run's manifest hashes the bytes it writes instead of reading them back."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest


def _result(balances: dict[str, float], credit_loss: list[float]):
    """A minimal run result: the accounts' book balances and per-path credit losses."""
    from solver.scenarios.scenario_result import ScenarioResult

    accounts = pd.DataFrame(
        {"account_id": list(balances), "opening_balance": list(balances.values())}
    )
    return ScenarioResult(
        name="r",
        description="",
        scenario=None,
        paths=len(credit_loss),
        seed=0,
        horizon=12,
        kpis=pd.DataFrame(),
        accounts=accounts,
        monthly=pd.DataFrame(),
        roll_rates=pd.DataFrame(),
        path_values={("total", "all"): {"credit_loss": np.array(credit_loss)}},
    )


def test_compare_refuses_the_same_accounts_owing_other_balances():
    """compare() refuses two results on the same account ids when one account owes another
    balance (one cent), as the baseline check before a run does; main checked ids only."""
    from solver.scenarios.scenario_result import compare

    scen = _result({"A1": 100.00, "A2": 250.50}, [10.0, 12.0, 14.0])
    base = _result({"A1": 100.00, "A2": 250.51}, [9.0, 10.0, 11.0])
    with pytest.raises(ValueError, match="another book") as err:
        compare(scen, base)
    assert "1 owe another balance" in str(err.value) and "A2" in str(err.value)
    assert "250.50 vs the baseline's 250.51" in str(err.value)


def test_compare_on_one_book_pairs_paths():
    """On one book (ids in another order, same balances) compare() gives the paired delta:
    mean of x − y = (1 + 2 + 3) / 3 = 2, interval 2 ± t(0.975, 2)·sd(1, 2, 3)/√3 = 2 ±
    4.303/√3 (Student's t since session 25's second review; it was 1.96)."""
    from scipy.stats import t

    from solver.scenarios.scenario_result import compare

    scen = _result({"A1": 100.0, "A2": 250.5}, [10.0, 12.0, 14.0])
    base = _result({"A2": 250.5, "A1": 100.0}, [9.0, 10.0, 11.0])
    row = compare(scen, base).iloc[0]
    half = t.ppf(0.975, 2) / np.sqrt(3)
    assert row["delta"] == pytest.approx(2.0)
    assert row["delta_ci_low"] == pytest.approx(round(2.0 - half, 2))
    assert row["delta_ci_high"] == pytest.approx(round(2.0 + half, 2))


def test_one_definition_of_the_same_book():
    """same_book has no balance rule of its own: it calls scenario_result.book_difference,
    whose message for other ids names the counts."""
    import inspect

    import solver.scenarios.same_book as same_book
    from solver.scenarios.scenario_result import book_cents, book_difference

    source = inspect.getsource(same_book)
    assert "book_difference(" in source and "flatnonzero" not in source
    owed = book_cents(["A1", "A2"], [1.0, 2.0])
    assert book_difference(owed, book_cents(["A1"], [1.0])).startswith(
        "2 accounts vs the baseline's 1"
    )
    assert book_difference(owed, book_cents(["A2", "A1"], [2.0, 1.0])) is None


def test_sweep_manifest_hashes_the_bytes_written_without_reading_them_back(tmp_path, monkeypatch):
    """write_sweep_report into a fresh folder records each file's SHA-256 without reading a
    written file back (report._digest is only for an earlier run's files); the recorded
    hashes are those of the files on disk."""
    import solver.scenarios.report as report

    def no_read_back(path):
        raise AssertionError(f"read back {path}")

    monkeypatch.setattr(report, "_digest", no_read_back)
    table = pd.DataFrame(
        {
            "max_deferral_months": [0, 3],
            "collection_cost": [10.0, 12.0],
            "total_value_discounted": [100.0, 110.0],
            "on_frontier": [True, True],
        }
    )
    sweep = SimpleNamespace(
        name="s",
        table=table,
        keys=["policy.max_deferral_months"],
        combinations=[(0,), (3,)],
        frontier_x="collection_cost",
        frontier_y="total_value_discounted",
        currency="CNY",
        paths=2,
        seed=0,
    )
    written = report.write_sweep_report(sweep, tmp_path)
    manifest = json.loads((tmp_path / report.MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest) == sorted(p.name for p in written)
    for path in written:
        assert manifest[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
