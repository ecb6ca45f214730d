"""UCI credit-card adapter: bucket mapping, months, features, validation, data-directory lookup."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from input_errors import input_error
from risk_data import DATA, UCI, needs_uci

from solver.errors import InputError
from solver.risk.uci import (
    UCI_COLUMNS,
    normalise_uci,
    read_uci,
    require_uci_csv,
    resolve_data_dir,
    status_to_bucket,
    uci_features,
    uci_panel,
)


@pytest.fixture(scope="module")
def tiny():
    """tests/data/risk/uci_tiny.csv: three made-up accounts in UCI's raw ID,X1..X23,Y layout."""
    return read_uci(DATA / "uci_tiny.csv")


def test_status_buckets():
    """Statuses <= 0 are current (M0); 1, 2, 3 are M1-M3; 4 and above are M4+."""
    np.testing.assert_array_equal(
        status_to_bucket(np.array([-2, -1, 0, 1, 2, 3, 4, 8])),
        ["M0", "M0", "M0", "M1", "M2", "M3", "M4+", "M4+"],
    )


def test_panel_runs_april_to_september(tiny):
    """Account 1 (PAY_0..PAY_6 = -2,-1,0,1,2,3) reads forward Apr M3, May M2, Jun M1, Jul-Sep M0."""
    panel = uci_panel(tiny)
    one = panel[panel["account_id"] == "1"]
    assert one["month"].tolist() == [
        "2005-04",
        "2005-05",
        "2005-06",
        "2005-07",
        "2005-08",
        "2005-09",
    ]
    assert one["dpd_bucket"].tolist() == ["M3", "M2", "M1", "M0", "M0", "M0"]
    # Balances: BILL_AMT6 is April, BILL_AMT1 September.
    assert one["balance"].tolist() == [5000, 4000, 3000, 2000, 1000, 0]
    assert one["payment"].tolist() == [100, 0, 0, 500, 1000, 0]
    assert panel.loc[panel["account_id"] == "3", "dpd_bucket"].iloc[-1] == "M4+"
    assert set(panel["limit_band"]) == {"<50k", "50k-140k"}
    assert len(panel) == 18


def test_features_by_hand(tiny):
    """Utilisation, payment-to-bill ratio, delinquency counts and recency for the tiny accounts.

    Account 1: statuses latest-first [-2,-1,0,1,2,3] -> 3 months delinquent, worst 3, last
    delinquent 3 months before September; utilisation_5 = 5000/50000 = 0.1;
    pay_to_bill_0 = PAY_AMT1 / BILL_AMT2 = 0 / 1000 = 0, pay_to_bill_1 = 1000 / 2000 = 0.5.
    Account 3: BILL_AMT2 = -500 (credit balance) -> pay_to_bill_0 missing; status 8 in September.
    """
    f = uci_features(tiny)
    assert f.loc[0, "months_delinquent"] == 3 and f.loc[0, "max_delay"] == 3
    assert f.loc[0, "months_since_delinquent"] == 3
    assert f.loc[0, "utilisation_5"] == pytest.approx(0.1)
    assert f.loc[0, "pay_to_bill_0"] == 0.0 and f.loc[0, "pay_to_bill_1"] == pytest.approx(0.5)
    assert np.isnan(f.loc[2, "pay_to_bill_0"])
    assert f.loc[2, "months_since_delinquent"] == 0 and f.loc[2, "max_delay"] == 8
    assert f.loc[0, "months_paid_in_full"] == 1 and f.loc[0, "months_no_consumption"] == 1
    assert not any(c in f.columns for c in ("SEX", "MARRIAGE", "EDUCATION", "AGE", "sex"))


def test_named_header_is_accepted(tiny):
    """The Kaggle copy (named columns, default.payment.next.month) normalises to the same table."""
    raw = pd.read_csv(DATA / "uci_tiny.csv")
    named = raw.rename(columns={f"X{k}": n for k, n in enumerate(UCI_COLUMNS, start=1)})
    named = named.rename(columns={"Y": "default.payment.next.month"})
    pd.testing.assert_frame_equal(normalise_uci(named), tiny)


def test_bad_uci_file_lists_every_problem():
    """uci_bad.csv: limit 0, status 12 and 'x', a negative payment and Y = 2 all reported."""
    text = input_error(read_uci, DATA / "uci_bad.csv")
    assert "5 problems" in text
    # personal amounts are withheld unless --verbose (docs/reliability.md)
    assert "row 1 (account_id 1): X1 (LIMIT_BAL): credit limit must be > 0 (got <withheld>)" in text
    assert "row 2 (account_id 2): X6 (PAY_0): repayment status must be an integer in -2..9" in text
    assert "row 3 (account_id 3): X6 (PAY_0): not a number (got 'x')" in text
    assert "X18 (PAY_AMT1): payment must be >= 0 (got <withheld>)" in text
    assert "row 2 (account_id 2): Y: default flag must be 0 or 1 (got 2)" in text


def test_a_partitions_problems_count_rows_from_its_offset(monkeypatch):
    """A partition (``row_offset``) of a named-column table without ids: rows and the
    generated account ids count from the offset, columns keep their own names, and with
    ``--verbose`` the personal values are shown."""
    raw = pd.read_csv(DATA / "uci_tiny.csv").drop(columns="ID")
    named = raw.rename(columns={f"X{k}": n for k, n in enumerate(UCI_COLUMNS, start=1)})
    named.loc[1, "LIMIT_BAL"] = -5
    named.loc[2, "PAY_AMT1"] = -7
    monkeypatch.setenv("WORKOUT_VERBOSE", "1")
    text = input_error(normalise_uci, named, source="part", row_offset=100)
    assert "part: 2 problems" in text
    assert "part: row 102 (account_id 102): LIMIT_BAL: credit limit must be > 0 (got -5)" in text
    assert "part: row 103 (account_id 103): PAY_AMT1: payment must be >= 0 (got -7)" in text
    monkeypatch.delenv("WORKOUT_VERBOSE")
    text = input_error(normalise_uci, named, source="part", row_offset=100)
    assert "row 102 (account_id 102): LIMIT_BAL: credit limit must be > 0 (got <withheld>)" in text


def test_not_a_uci_table():
    """A table without the UCI columns is rejected with the missing names."""
    with pytest.raises(InputError, match="missing columns: LIMIT_BAL"):
        normalise_uci(pd.DataFrame({"a": [1]}))


def test_data_dir_argument_then_environment(monkeypatch, tmp_path):
    """An explicit directory wins over WORKOUT_DATA_DIR, which wins over ../shared/data."""
    monkeypatch.setenv("WORKOUT_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    with pytest.raises(InputError, match="WORKOUT_DATA_DIR"):
        require_uci_csv()


@pytest.mark.data
@needs_uci
def test_real_file_shape():
    """The shared UCI file: 30,000 accounts, 22.12 % defaults, a 180,000-row panel."""
    uci = read_uci(UCI)
    assert len(uci) == 30_000
    assert uci["default_next_month"].mean() == pytest.approx(0.2212, abs=1e-4)
    assert len(uci_panel(uci)) == 180_000
    assert uci_features(uci).shape == (30_000, 46)
