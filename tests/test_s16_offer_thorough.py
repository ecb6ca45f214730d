"""An offer made with ``thorough`` holds the plan ``plan --thorough`` shows (review of 49935c5).

Oracle: the schedule of the ``custom`` option in the ``--format json`` plan document (of
``POST /api/plan`` or ``workout plan``), compared with the schedule table the offer letter
prints, read back from the HTML with a regular expression; the sample account's thorough
custom plan differs from its default one, which the tests check first so that they can fail.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from cli_inprocess import run_workout
from serve_process import in_process_client

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
ACCOUNT = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
AS_OF = "2026-05-04"
_ROW = re.compile(r"<tr><td>(\d+)</td><td>[\d-]+</td><td>([\d,.]+)</td>")


def _letter_payments(html: str) -> list[float]:
    """The payments of the letter's schedule table, month by month."""
    table = html.split('id="schedule"', 1)[1].split("</table>", 1)[0]
    rows = _ROW.findall(table)
    assert [int(month) for month, _ in rows] == list(range(1, len(rows) + 1))
    return [float(amount.replace(",", "")) for _, amount in rows]


def _custom_payments(document: dict) -> list[float]:
    """The payments of the ``custom`` option of a plan document."""
    (custom,) = [o for o in document["options"] if o["label"] == "custom"]
    return [row["payment"] for row in custom["schedule"]]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with in_process_client(tmp_path_factory, "s16") as c:
        yield c


@pytest.fixture(scope="module")
def shown(client) -> tuple[list[float], list[float]]:
    """The custom payments ``POST /api/plan`` shows: default search, thorough search."""
    plans = [
        client.post("/api/plan", json={"account": ACCOUNT, "thorough": thorough}).json()
        for thorough in (False, True)
    ]
    default, thorough = (_custom_payments(p) for p in plans)
    assert default != thorough  # the account tells the two searches apart
    return default, thorough


def test_api_letter_and_decision_hold_the_thorough_plan(client, shown):
    """POST /api/letter and /api/decisions with thorough print the schedule of the
    thorough plan /api/plan showed (and without it, the default plan's)."""
    default, thorough = shown
    body = {"account": ACCOUNT, "option": "custom", "as_of": AS_OF, "lang": "en"}
    for flag, expected in ((True, thorough), (False, default)):
        preview = client.post("/api/letter", json={**body, "thorough": flag})
        assert preview.status_code == 200
        assert _letter_payments(preview.text) == expected
    receipt = client.post(
        "/api/decisions", json={**body, "thorough": True, "officer_id": "OF-16"}
    ).json()
    recorded = client.get(receipt["letter_url"])
    assert _letter_payments(recorded.text) == thorough


def test_cli_offer_thorough_holds_the_plan_thorough_plan(tmp_path):
    """`workout offer --thorough` writes the schedule `workout plan --thorough` shows."""
    code, out, err = run_workout("plan", SAMPLE, "--thorough", "--format", "json")
    assert code == 0, err
    expected = _custom_payments(json.loads(out))
    letter = tmp_path / "letter.html"
    code, _, err = run_workout(
        "offer", SAMPLE, "--option", "custom", "--thorough", "--as-of", AS_OF,
        "--lang", "en", "--out", letter, "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert _letter_payments(letter.read_text(encoding="utf-8")) == expected
