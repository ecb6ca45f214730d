"""`workout risk` tables on a narrow terminal: every number whole (review of 49935c5).

Oracle: the figures of ``--format json`` (the same run's data), formatted as the tables
print them (probabilities 3 decimals, counts with thousands separators, ...), must each
appear as a whole token of the table output at ``COLUMNS=80``; and no printed number may
be a fragment (every number token of the output is one of the data's numbers or a label).
"""

from __future__ import annotations

import json
import re

import pytest
from cli_inprocess import run_workout

#: A number as printed: digits with separators, decimals, a percent sign; not inside a word.
NUMBER = re.compile(r"(?<![\w.,(-])\d[\d,]*(?:\.\d+)?%?(?![\w])")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A generated 2,000-account book and its 6-month history (the README's B)."""
    folder = tmp_path_factory.mktemp("s16risk")
    code, _, err = run_workout(
        "generate", "portfolio", "--n", 2000, "--seed", 7, "--history", 6,
        "--out", folder / "B.csv",
    )  # fmt: skip
    assert code == 0, err
    return folder / "B.csv", folder / "B_history.csv"


def _narrow(monkeypatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")


def _shown(text: str, width: int, figures: set[str], labels: set[str]) -> None:
    """Every line fits ``width``, nothing is cut, each figure appears whole, and every
    number printed is a figure or part of a label (no fragment such as ``1,5``)."""
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width and "…" not in text, text
    tokens = set(re.findall(r"[^\s\[\]]+", text))
    for figure in figures:
        assert any(t.strip("(),;") == figure for t in tokens), (figure, text)
    allowed = {n for x in figures | labels for n in NUMBER.findall(x)}
    for line in lines:
        for number in NUMBER.findall(line):
            assert number in allowed, f"{number!r} is a fragment:\n{line}"


@pytest.mark.parametrize("width", [80, 50])
def test_rollrates_numbers_whole(book, monkeypatch, width):
    """risk rollrates at 80 and 50 columns prints every probability, count, row total,
    interval bound and absorbing-chain figure of its JSON whole."""
    _, history = book
    code, out, err = run_workout("risk", "rollrates", history, "--no-png", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    overall, chain, loss = data["overall"], data["absorption"], data["expected_loss"]
    figures = {f"{p:.3f}" for row in overall["probabilities"] for p in row}
    figures |= {f"{c:,}" for row in overall["counts"] for c in row}
    figures |= {f"{n:,}" for n in overall["n_from"]}
    figures |= {f"{x:.3f}" for key in ("lower", "upper") for row in overall[key] for x in row}
    figures |= {f"{m:.2f}" for m in chain["expected_months"]}
    figures |= {f"{p:.4f}" for row in chain["absorption_probabilities"] for p in row}
    figures |= {f"{x:,.2f}" for x in [*loss["by_bucket"], loss["total"]]}
    _narrow(monkeypatch, width)
    code, text, err = run_workout("risk", "rollrates", history, "--no-png")
    assert code == 0, err
    balances = set(re.findall(r"\d[\d,]*\.\d\d", text.split("Absorbing chain", 1)[1]))
    labels = {data["summary"], "M4+", "(I - Q)^-1", f"(LGD {loss['lgd']:g})", "95%", "1 of 2"}
    labels |= {"2 of 2"} | balances  # balances (latest month) are not in the JSON
    _shown(text, width, figures, labels)


def test_calibrate_and_fit_numbers_whole(book, monkeypatch, tmp_path):
    """risk calibrate and risk fit at 80 columns: every line fits, nothing is cut, and the
    transition counts, rate intervals and the decile calibration print whole."""
    path, history = book
    args = ("risk", "calibrate", history, "--book", path, "--no-png")
    code, out, err = run_workout(*args, "--out", tmp_path / "a.toml", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)["transitions"]
    _narrow(monkeypatch, 80)
    code, text, err = run_workout(*args, "--out", tmp_path / "b.toml")
    assert code == 0, err
    table = text.split("Base monthly hazard")[0]
    figures = {f"{r['months_at_risk']:,}" for r in rows} | {f"{r['default']:,}" for r in rows}
    for r in rows:
        figures |= {f"{r[k]:.2%}" for k in ("default_rate", "default_lower", "default_upper")}
    assert max(len(line) for line in text.splitlines()) <= 80 and "…" not in text, text
    tokens = {t.strip("[],") for t in table.split()}
    assert figures <= tokens, (figures - tokens, table)
    code, text, err = run_workout("risk", "fit", history, "--out", tmp_path / "ew.toml", "--no-png")
    assert code == 0, err
    assert max(len(line) for line in text.splitlines()) <= 80 and "…" not in text, text
    assert re.search(r"\s0\.\d{4}–0\.\d{4}\s", text)  # a tier's interval, whole
