"""Messages that named nothing (issue 15): each now names the file and what is wrong.

* ``workout risk fit`` on an outcome column with a single class (or too few of one class
  for the stratified split, which was an internal error) is exit 2 naming the file and the
  column as the file spells it (``Y``, ``default.payment.next.month``).
* A roll-rate panel whose delinquency state is entered but never left (the chain loses
  the accounts that reach it: "[Q R] row sums to 0") is exit 2 naming the file and the
  state; so is a balance-weighted state without weight; a hand-built chain with a zero
  row names the state as never left.
* Entries of arrays of tables are counted from 1 in every message (docs/reliability.md,
  "Messages"): ``[[shocks.segments]] entry N`` of a scenario and ``[[teams]] entry N``,
  ``[[collectors]] entry N`` of a teams file alike (the teams file said ``teams[0]``).

Every case runs the CLI in-process (``run_cli``, the entry point's exit-code mapping).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from adv_helpers import DATA, SCENARIOS, assert_rejected, quick_scenario, write

from solver.errors import InputError

UCI_TINY = DATA / "risk" / "uci_tiny.csv"


def _uci(tmp_path: Path, outcomes: list[int], target: str = "Y") -> Path:
    """A UCI-layout file of ``len(outcomes)`` valid rows (copies of uci_tiny's) with these
    default flags, the flag column named ``target``."""
    rows = list(csv.reader(io.StringIO(UCI_TINY.read_text(encoding="utf-8"))))
    header, data = rows[0], rows[1:]
    flag = header.index("Y")
    header[flag] = target
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for k, value in enumerate(outcomes):
        row = list(data[k % len(data)])
        row[0] = str(k + 1)  # unique ids
        row[flag] = str(value)
        writer.writerow(row)
    return write(tmp_path / "uci.csv", out.getvalue())


# -- risk fit: a single class ------------------------------------------------------------


@pytest.mark.parametrize("target", ["Y", "default.payment.next.month"])
@pytest.mark.parametrize("value", [0, 1])
def test_fit_single_class_names_file_and_column(workout, tmp_path, target, value) -> None:
    """Every row 0 (or every row 1): exit 2 naming the file and the flag column; no output."""
    data = _uci(tmp_path, [value] * 12, target)
    out = tmp_path / "out" / "ew.toml"
    result = workout("risk", "fit", data, "--out", out, "--no-png", "--quiet")
    assert_rejected(
        result, (f"Error: {data}: {target}: ", "single class", f"is {value}"), absent=[out.parent]
    )
    assert result.err.count("\n") == 1


def test_fit_too_few_of_one_class_is_exit_2(workout, tmp_path) -> None:
    """One default among 12 rows cannot be split stratified: exit 2 (was an internal error)."""
    data = _uci(tmp_path, [1] + [0] * 11)
    out = tmp_path / "out" / "ew.toml"
    result = workout("risk", "fit", data, "--out", out, "--no-png", "--quiet")
    assert_rejected(result, (f"{data}: Y: only 1 row with 1", "at least 2"), absent=[out.parent])


def test_fit_library_names_the_outcome() -> None:
    """fit_early_warning itself refuses a single class with a sentence, not a crash."""
    import pandas as pd

    from solver.risk.early_warning import fit_early_warning

    features = pd.DataFrame({"x": np.arange(10.0)})
    with pytest.raises(InputError, match=r"^outcome: every one of the 10 rows is 0"):
        fit_early_warning(features, np.zeros(10, dtype=int))


# -- absorbing chains: a state that is never left --------------------------------------------


PANEL_HEAD = "account_id,month,dpd_bucket,balance\n"


@pytest.mark.parametrize(
    ("rows", "state"),
    [
        # M2 entered once (the panel ends there): the M1 row of [Q R] summed to 0.5
        (
            "A1,2024-01,M0,1000\nA1,2024-02,M1,1000\nA1,2024-03,paid,0\n"
            "A2,2024-01,M1,500\nA2,2024-02,M2,400\n"
            "A3,2024-01,M0,300\nA3,2024-02,M0,300\nA3,2024-03,charged_off,300\n",
            "M2",
        ),
        # M1's only exit goes to M3, never left: the M1 row summed to 0
        (
            "A1,2024-01,M0,1000\nA1,2024-02,paid,0\nA2,2024-01,M1,500\nA2,2024-02,M3,400\n",
            "M3",
        ),
    ],
    ids=["partly", "row_sums_to_0"],
)
def test_never_left_state_names_file_and_state(workout, tmp_path, rows, state) -> None:
    """rollrates: a delinquency state entered but never left is exit 2 naming file and state."""
    panel = write(tmp_path / "panel.csv", PANEL_HEAD + rows)
    out = tmp_path / "out" / "rates.csv"
    result = workout("risk", "rollrates", panel, "--no-png", "--out", out)
    assert_rejected(result, (str(panel), f"state {state}", "never left"), absent=[out.parent])
    assert "row sums to" not in result.text


def test_weighted_state_without_weight_names_file_and_state(workout, tmp_path) -> None:
    """Balance-weighted roll rates of a state whose transitions all weigh 0: file and state."""
    rows = (
        "A1,2024-01,M0,1000\nA1,2024-02,M1,1000\nA1,2024-03,paid,0\n"
        "A2,2024-01,M1,500\nA2,2024-02,M2,0\nA2,2024-03,charged_off,0\n"
    )
    panel = write(tmp_path / "panel.csv", PANEL_HEAD + rows)
    result = workout("risk", "rollrates", panel, "--no-png", "--weight", "balance")
    assert_rejected(result, (str(panel), "state M2", "no positive weight"))


def test_chain_with_a_zero_row_names_the_state() -> None:
    """check_chain: a transient row of zeros is a state that is never left, named, with the
    source; the old "[Q R] row sums to 0" is gone."""
    from solver.risk.absorption import absorbing_summary

    q = np.array([[0.5, 0.2], [0.0, 0.0]])
    r = np.array([[0.3], [0.0]])
    with pytest.raises(InputError) as err:
        absorbing_summary(q, r, ("M1", "M2"), ("paid",), source="chain.csv")
    text = str(err.value)
    assert text.startswith("chain.csv: absorbing chain: 1 problem")
    assert "row 2 (M2): the state is never left" in text and "sums to 0" not in text


# -- arrays of tables are counted from 1 -------------------------------------------------------


def test_scenario_segments_count_from_1(workout, tmp_path) -> None:
    """A bad second [[shocks.segments]] is "[[shocks.segments]] entry 2" (key and value)."""
    body = quick_scenario("seg", "n = 20\nseed = 1\n")
    body += (
        "[shocks]\n"
        '[[shocks.segments]]\ntier = ["D"]\nincome_multiplier = 0.9\n'
        '[[shocks.segments]]\ntier = ["Q"]\nincme_multiplier = 0.8\nhazard_multiplier = -1\n'
    )
    path = write(tmp_path / "s.toml", body)
    out = tmp_path / "out"
    result = workout("scenario", "run", path, "--out-dir", out)
    assert_rejected(
        result,
        (
            "[[shocks.segments]] entry 2: unknown key 'incme_multiplier'",
            "(did you mean 'income_multiplier'?)",
        ),
        absent=[out],
    )
    assert "entry 1" not in result.text and "segments[" not in result.text


def test_scenario_segment_values_count_from_1(workout, tmp_path) -> None:
    """Out-of-range values and filter values of the first segment are "entry 1"."""
    body = quick_scenario("seg", "n = 20\nseed = 1\n")
    body += '[shocks]\n[[shocks.segments]]\ntier = ["Q"]\nhazard_multiplier = -1\n'
    path = write(tmp_path / "s.toml", body)
    result = workout("scenario", "run", path, "--out-dir", tmp_path / "out")
    assert_rejected(
        result,
        (
            "[[shocks.segments]] entry 1: hazard_multiplier must be in [0, 100], got -1",
            "[[shocks.segments]] entry 1: tier: unknown value 'Q'",
        ),
    )


def _teams_file(tmp_path: Path, first_team: str, collector: str = "") -> Path:
    """scenarios/teams.toml with its first [[teams]] entry replaced and a collector added."""
    text = (SCENARIOS / "teams.toml").read_text(encoding="utf-8")
    head, _, rest = text.partition("[[teams]]\n")
    _, _, rest = rest.partition("\n\n")  # the first team's block ends at a blank line
    return write(tmp_path / "teams.toml", f"{head}[[teams]]\n{first_team}\n\n{rest}{collector}")


def test_teams_count_from_1_like_segments(workout, tmp_path) -> None:
    """The first [[teams]] entry is "entry 1" (was teams[0]), the second collector "entry 2"."""
    teams = _teams_file(
        tmp_path,
        'name = "robot-voice"\ntype = "robot"\nmembers = 300\nlanguagez = ["zh"]',
        '\n[[collectors]]\nname = "collector-li"\nskil = "senior"\n',
    )
    out = tmp_path / "out" / "a.csv"
    book = DATA / "portfolio" / "tiny.csv"
    result = workout("allocate", book, "--teams", teams, "--out", out)
    assert_rejected(
        result,
        (
            f"{teams}: [[teams]] entry 1 (robot-voice): unknown key 'languagez'",
            "[[collectors]] entry 2 (collector-li): unknown key 'skil'",
        ),
        absent=[out.parent],
    )
    assert "teams[0]" not in result.text and "collectors[" not in result.text


def test_entries_are_counted_alike_in_scenarios_and_teams(workout, tmp_path) -> None:
    """The same wording and the same count (1 for the first entry) in both kinds of file."""
    import re

    teams = _teams_file(tmp_path, 'name = "robot-voice"\ntype = "robot"\nmembers = 300\nx = 1')
    team_text = workout(
        "allocate", DATA / "portfolio" / "tiny.csv", "--teams", teams, "--out", tmp_path / "a.csv"
    ).err
    body = quick_scenario("seg", "n = 20\nseed = 1\n")
    body += '[shocks]\n[[shocks.segments]]\ntier = ["D"]\nx = 1\n'
    scenario = write(tmp_path / "s.toml", body)
    scenario_text = workout("scenario", "run", scenario, "--out-dir", tmp_path / "o").err
    pattern = re.compile(r"\[\[([a-z.]+)\]\] entry (\d+)")
    assert {n for _, n in pattern.findall(team_text)} == {"1"}
    assert {n for _, n in pattern.findall(scenario_text)} == {"1"}
