"""Fixtures shared by several test files (helpers without fixtures live in their own
modules: oracles.py, calendar_helpers.py, cli_inprocess.py, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def risk_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Early-warning models fitted through the CLI, once per session (test_s22_risk_scoring
    and test_s24_risk each fitted the same two): ``uci`` (600 synthetic accounts in the
    Kaggle copy's named-column layout) with its model ``ew``, and ``history`` (the payment
    history of a generated 300-account book, 6 months) with its history-v1 model ``ewh``
    (horizon 3). The UCI fit skips the baseline model, which only adds metrics."""
    # imported here, not at collection: only the risk tests need the CLI and the generator
    from cli_inprocess import run_workout
    from test_risk_early_warning import synthetic_uci

    root = tmp_path_factory.mktemp("risk_models")
    uci = root / "uci.csv"
    synthetic_uci(600, seed=5).rename(
        columns={"account_id": "ID", "default_next_month": "default.payment.next.month"}
    ).to_csv(uci, index=False)
    book = root / "book.csv"
    for args in (
        ["generate", "portfolio", "--n", "300", "--history", "6", "--seed", "2", "--out", book],
        ["risk", "fit", root / "book_history.csv", "--out", root / "ewh.toml", "--no-png"],
        ["risk", "fit", uci, "--out", root / "ew.toml", "--no-png", "--no-baseline"],
    ):
        code, _, err = run_workout(*args)
        assert code == 0, err
    return {
        "history": root / "book_history.csv",
        "ewh": root / "ewh.toml",
        "ew": root / "ew.toml",
        "uci": uci,
    }
