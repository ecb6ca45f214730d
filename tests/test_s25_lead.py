"""Session 25 lead's mends: ``offer --option`` refuses a plainly wrong label before the plan
search, and ``evaluate``'s comparison table shows the policy's currency and its decimals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_inprocess import run_workout

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"


@pytest.fixture
def no_search(monkeypatch):
    """The plan search replaced by one that fails the test if it is called."""
    import solver.officer.documents as documents

    def searched(*args, **kwargs):
        raise AssertionError("the plan search ran before the label was refused")

    monkeypatch.setattr(documents, "plan_result", searched)


def test_offer_refuses_a_misspelt_family_before_the_search(tmp_path, no_search):
    """offer --option custm: exit 2 without searching, no letter written, a hint to custom."""
    letter = tmp_path / "letter.html"
    code, stdout, err = run_workout("offer", SAMPLE, "--option", "custm", "--out", letter)
    assert code == 2, err
    assert not letter.exists() and stdout == ""
    assert "--option custm" in err and "did you mean custom" in err


def test_evaluate_table_in_yen_has_no_minor_units():
    """evaluate --set policy.currency=JPY: the table's title says JPY and every amount and
    NPV is a whole number of yen (the yen has no minor unit), never CNY's two decimals."""
    code, stdout, err = run_workout(
        "evaluate", SAMPLE, "--amount", "1500", "--set", "policy.currency=JPY"
    )
    assert code == 0, err
    assert "(JPY)" in stdout and "(CNY)" not in stdout
    rows = [line for line in stdout.splitlines() if line.startswith("│")]
    assert len(rows) >= 3
    for line in rows:
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        first_payment, npv = cells[2], cells[3]
        assert re.fullmatch(r"[\d,]+", first_payment), line
        assert re.fullmatch(r"[\d,]+", npv), line
