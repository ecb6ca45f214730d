"""Malformed scenario files for ``workout scenario run`` / ``sweep`` (issue 8, SPEC §9, §11).

Each case writes a scenario (or one of the files it names) with one planted problem:
exit code 2, a message naming the file and the dotted key (or the row and column of a
named portfolio), no traceback, and no --out-dir created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from adv_helpers import (
    GOOD_ROWS,
    assert_rejected,
    big_text_file,
    csv_text,
    garbage,
    quick_scenario,
    rows_with,
    write,
)

BASE = quick_scenario("adv", "n = 50\nseed = 3\n")


@dataclass(frozen=True)
class Case:
    """A broken scenario: files to write (name -> content) and what the message names."""

    name: str
    files: Callable[[Path], dict[str, str | bytes]]
    fragments: tuple[str, ...]
    main: str = "s.toml"


def one(text: str) -> Callable[[Path], dict[str, str | bytes]]:
    return lambda d: {"s.toml": text}


def with_portfolio(content: str) -> Callable[[Path], dict[str, str | bytes]]:
    return lambda d: {
        "p.csv": content,
        "s.toml": BASE.replace("n = 50\nseed = 3\n", 'path = "p.csv"\n'),
    }


def _big(d: Path) -> dict[str, str | bytes]:
    big_text_file(d / "s.toml", 'name = "big"\n')
    return {}


CASES = [
    Case("extends_itself", one('extends = "s.toml"\n' + BASE), ("s.toml", "'extends' cycle")),
    Case("extends_cycle", lambda d: {"s.toml": 'extends = "t.toml"\n' + BASE,
                                      "t.toml": 'extends = "s.toml"\n'},
         ("t.toml", "'extends' cycle")),
    Case("extends_missing", one('extends = "nowhere.toml"\n' + BASE),
         ("nowhere.toml", "not found", "extends")),
    Case("extends_garbage", lambda d: {"s.toml": 'extends = "g.toml"\n' + BASE,
                                        "g.toml": garbage()}, ("g.toml", "TOML")),
    Case("unknown_key", one(BASE + "[shocks]\nincome_multiplyer = 0.85\n"),
         ("shocks.income_multiplyer", "income_multiplier")),
    Case("unknown_section", one(BASE + "[simulaton]\npaths = 3\n"), ("simulaton", "simulation")),
    Case("wrong_type", one(BASE.replace("paths = 2", 'paths = "many"')), ("simulation.paths",)),
    Case("out_of_range", one(BASE.replace("paths = 2", "paths = 0")), ("simulation.paths",)),
    Case("probability_above_1", one(BASE + "[shocks]\nunemployment_probability = 1.5\n"),
         ("shocks.unemployment_probability", "[0, 1]")),
    Case("nan_multiplier", one(BASE + "[shocks]\nincome_multiplier = nan\n"),
         ("shocks.income_multiplier",)),
    Case("inf_multiplier", one(BASE + "[shocks]\nhazard_multiplier = inf\n"),
         ("shocks.hazard_multiplier",)),
    Case("negative_horizon", one(BASE.replace("horizon_months = 3", "horizon_months = -3")),
         ("simulation.horizon_months",)),
    Case("segment_unknown_tier", one(BASE + '[[shocks.segments]]\ntier = ["F"]\n'
                                     "income_multiplier = 0.9\n"),
         ("[[shocks.segments]] entry 1: tier", "'F'")),
    Case("inline_model_bad", one(BASE.replace("[plans]", "kappa = 2.0\n[plans]")),
         ("kappa",)),
    Case("inline_policy_unknown", one(BASE + "[policy]\nmax_dtii = 0.4\n"), ("max_dtii",)),
    Case("policy_file_bad", lambda d: {"pol.toml": "max_dti = -1\n",
                                        "s.toml": BASE + '[policy]\npath = "pol.toml"\n'},
         ("pol.toml", "max_dti")),
    Case("portfolio_missing", one(BASE.replace("n = 50\nseed = 3\n", 'path = "none.csv"\n')),
         ("none.csv", "not found")),
    Case("portfolio_bad_cell", with_portfolio(csv_text(rows_with(2, "annual_rate", "1.5"))),
         ("p.csv", "row 2", "ADV002", "annual_rate")),
    Case("portfolio_duplicate_id", with_portfolio(csv_text(rows_with(3, "account_id", "ADV001"))),
         ("p.csv", "row 3", "account_id", "duplicate")),
    Case("portfolio_missing_column",
         with_portfolio(csv_text([r[:6] + r[7:] for r in GOOD_ROWS],
                                 [c for c in __import__("adv_helpers").HEADER if c != "annual_rate"])),
         ("p.csv", "annual_rate", "required column")),
    Case("syntax", one(BASE + "[shocks\n"), ("s.toml", "TOML")),
    Case("empty", one(""), ("s.toml", "empty")),
    Case("binary_garbage", lambda d: {"s.toml": garbage()}, ("s.toml", "binary data")),
    Case("big_200mb_text", _big, ("s.toml", "too large")),
]  # fmt: skip


def _write_case(case: Case, tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir(parents=True, exist_ok=True)
    for name, content in case.files(d).items():
        write(d / name, content)
    return d / case.main


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scenario_run_rejects(case: Case, tmp_path: Path, workout) -> None:
    """scenario run: exit 2 naming file and key (or row/column); no --out-dir written."""
    path = _write_case(case, tmp_path)
    out = tmp_path / "out"
    result = workout("scenario", "run", path, "--out-dir", out, "--no-cache", "--quiet")
    assert_rejected(result, case.fragments, absent=[out])


@pytest.mark.parametrize("name", ["extends_itself", "unknown_key", "portfolio_bad_cell"])
def test_scenario_sweep_rejects(name: str, tmp_path: Path, workout) -> None:
    """scenario sweep: the same bad files give exit 2 before any run; nothing written."""
    case = next(c for c in CASES if c.name == name)
    path = _write_case(case, tmp_path)
    out = tmp_path / "out"
    result = workout(
        "scenario",
        "sweep",
        path,
        "--set",
        "shocks.income_multiplier=0.9,1.0",
        "--out-dir",
        out,
        "--no-cache",
        "--quiet",
    )
    assert_rejected(result, case.fragments, absent=[out])


@pytest.mark.parametrize(
    "setting, fragments",
    [
        ("shocks.income_multiplyer=0.9", ("shocks.income_multiplyer",)),
        ("simulation.paths=abc", ("simulation.paths",)),
        ("policy.max_dti=-2", ("max_dti",)),
    ],
)
def test_scenario_set_override_rejected(setting, fragments, tmp_path: Path, workout) -> None:
    """--set KEY=VALUE with an unknown key or a bad value: exit 2 naming the key."""
    path = write(tmp_path / "in" / "s.toml", BASE)
    out = tmp_path / "out"
    result = workout(
        "scenario", "run", path, "--set", setting, "--out-dir", out, "--no-cache", "--quiet"
    )
    assert_rejected(result, fragments, absent=[out])
