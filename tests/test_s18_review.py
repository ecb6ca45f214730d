"""Findings of the session-18 product review, mended: as-of dates out of range and
``--set extends``.

A late as-of date (9999-12-31) made the schedules' due dates pass Python's last year: an
internal error (exit 1) on the command line and a 500 from the service. The accepted range
is 1970-01-01 .. 2199-12-31 (:mod:`solver.officer.dating`, the decision written there); out
of it, the command line exits 2 naming ``--as-of`` and the service answers 422 naming
``as_of``, and nothing is written. ``--set extends=…`` on a scenario was accepted and
silently ignored (``extends`` is merged before the overrides); it is now a listed problem.
``plan-portfolio --schedules FILE`` now says it wrote the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from cli_inprocess import run_workout
from serve_process import in_process_client

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
ACCOUNT = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
OUT_OF_RANGE = ("9999-12-31", "9998-06-01", "1900-01-01", "2200-01-01")


@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_plan_refuses_an_as_of_out_of_range(tmp_path, day):
    """workout plan --as-of out of 1970..2199 exits 2 naming --as-of and the range, no file."""
    out = tmp_path / "plan.json"
    code, _, err = run_workout("plan", SAMPLE, "--as-of", day, "--format", "json", "--out", out)
    assert code == 2, err
    assert "--as-of" in err and "1970-01-01 to 2199-12-31" in err
    assert "Traceback" not in err and not out.exists()


def test_the_range_ends_are_accepted(tmp_path):
    """The first and the last accepted dates plan normally (exit 0), dated from them."""
    for day, first_due in (("1970-01-01", "1970-02-01"), ("2199-12-31", "2200-01-31")):
        code, out, err = run_workout("plan", SAMPLE, "--as-of", day, "--format", "json")
        assert code == 0, err
        assert f'"due_date": "{first_due}"' in out


def test_plan_portfolio_and_offer_refuse_an_as_of_out_of_range(tmp_path):
    """plan-portfolio --schedules and offer with --as-of 9999-12-31 exit 2, writing nothing."""
    book = tmp_path / "book.csv"
    assert run_workout("generate", "portfolio", "--n", "5", "--seed", "1", "--out", book)[0] == 0
    plans, schedules = tmp_path / "plans.csv", tmp_path / "s.csv"
    code, _, err = run_workout(
        "plan-portfolio", book, "--out", plans, "--schedules", schedules, "--as-of", "9999-12-31"
    )
    assert code == 2 and "--as-of" in err, err
    assert not plans.exists() and not schedules.exists()
    letter = tmp_path / "letter.html"
    code, _, err = run_workout(
        "offer", SAMPLE, "--option", "custom", "--as-of", "9999-12-01", "--out", letter
    )
    assert code == 2 and "--as-of" in err, err
    assert not letter.exists()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with in_process_client(tmp_path_factory, "review18") as c:
        yield c


@pytest.mark.parametrize("path", ["/api/plan", "/api/letter"])
@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_service_answers_422_for_an_as_of_out_of_range(client, path, day):
    """POST /api/plan and /api/letter with as_of out of range: 422 naming as_of, not a 500."""
    body = {"account": ACCOUNT, "as_of": day}
    if path == "/api/letter":
        body |= {"option": "custom", "lang": "en"}
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [p["field"] for p in detail] == ["as_of"]
    assert "1970-01-01 to 2199-12-31" in detail[0]["message"]


def test_set_extends_is_refused_not_ignored(tmp_path):
    """scenario run --set extends=FILE exits 2 with '--set extends: cannot be overridden'
    and runs nothing (before: exit 0, the override silently dropped)."""
    out_dir = tmp_path / "run"
    code, _, err = run_workout(
        "scenario", "run", ROOT / "scenarios" / "recession.toml",
        "--set", "extends=nothere.toml", "--set", "portfolio.n=abc",
        "--paths", "5", "--out-dir", out_dir,
    )  # fmt: skip
    assert code == 2, err
    assert "--set extends: cannot be overridden" in err
    assert "--set portfolio.n:" in err  # listed with the other problems
    assert not out_dir.exists()


def test_plan_portfolio_says_it_wrote_the_schedules(tmp_path):
    """plan-portfolio --schedules FILE confirms the file and its row count on stderr, and
    the count is the file's."""
    book = tmp_path / "book.csv"
    assert run_workout("generate", "portfolio", "--n", "5", "--seed", "2", "--out", book)[0] == 0
    schedules = tmp_path / "s.csv"
    code, _, err = run_workout(
        "plan-portfolio", book, "--out", tmp_path / "p.csv", "--schedules", schedules,
        "--as-of", "2026-12-01",
    )  # fmt: skip
    assert code == 0, err
    rows = len(schedules.read_text(encoding="utf-8").splitlines()) - 1  # less the header
    assert f"wrote {schedules} ({rows:,} schedule rows)" in err
