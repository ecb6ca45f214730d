"""The evaluation of a champion/challenger experiment (SPEC §9): uplift of the challenger
over the champion with intervals and tests, sample sizes, notes and the report files.

The outcomes come from :mod:`solver.scenarios.experiment_outcomes`; the tests are in
:mod:`solver.scenarios.experiment_stats`; the split in :mod:`solver.scenarios.experiment`.

Every metric's uplift (challenger − champion) has a 95 % interval and a test from one
standard error and one distribution, Welch's t with the Welch–Satterthwaite degrees of
freedom, at every group size (session 25: the z-tests before were anti-conservative for
small groups; :mod:`solver.scenarios.experiment_stats` says why, and what it costs).

* **Cure rate** (share of accounts cured): Welch's t-test on the 0/1 outcomes; when a
  group has no variance (all cured or none), the p-value is Fisher's exact test and the
  interval stays Welch's (:func:`~solver.scenarios.experiment_stats.binary_test`).
* **Recovery rate**, per account (``collected / balance``, the mean over accounts):
  Welch's t-test.
* **Pooled recovery rate** (``Σ collected / Σ balance``): delta-method (ratio-estimator)
  standard error, tested as Welch's test is.
* **Net recovery rate** (``(collected − cost) / balance``) when ``cost`` is given: as the
  per-account recovery rate.
* **Sample size**: for each metric, the accounts per group needed to detect the *observed*
  uplift with 80 % power in a two-sided 5 % test at the observed allocation ratio, and the
  minimum detectable uplift ``mde`` of the groups as they are, each from the distribution
  of the metric's own test (the noncentral t power of Welch's test with the observed
  standard deviations). :mod:`solver.scenarios.experiment_stats` holds the tests.
* **Not testable**: a metric whose standard error is zero (every account of each group
  has the same value) has no interval, statistic or p-value, and its note says so
  (session 24; :mod:`solver.scenarios.experiment_stats` says why not p = 0).
* **Notes**: a significant metric (p < 5 %) is called significant, with its interval. A
  non-significant one gets the minimum detectable uplift and the accounts needed to detect
  an uplift of the observed size. Post-hoc power at the observed uplift is *not* reported
  (session 20): it is a function of the p-value alone (below 50 % whenever p > 5 %, above
  it whenever p < 5 %), and it told a reader that a significant result (p = 0.007) came from
  an experiment "too small" (issue riskux-2). The ``power`` column became ``mde``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solver.core.atomic import atomic_path
from solver.scenarios.experiment_stats import (
    ALPHA,
    binary_test,
    ratio_test,
    sample_note,
    welch_test,
)
from solver.scenarios.report_html import PAGE_CSS, html_table
from solver.scenarios.workbook import write_workbook

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["UPLIFT_TITLES", "ExperimentEvaluation", "evaluate_outcomes", "write_evaluation"]


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentEvaluation:
    """Result of :func:`evaluate_outcomes`.

    Attributes
    ----------
    groups
        Per group: accounts, balance, collected, cost, cure rate, recovery rates.
    uplift
        Per metric: champion, challenger, uplift, 95 % interval, test, statistic, p-value,
        significant, required accounts per group for 80 % power to detect the observed
        uplift, minimum detectable uplift ``mde`` of these groups (80 % power).
    notes
        One sentence per metric: significant, or what the experiment could detect.
    segments
        Uplift of cure and recovery rates by segment column (when present).
    """

    groups: Any
    uplift: Any
    notes: tuple[str, ...] = ()
    segments: Any = None


def evaluate_outcomes(outcomes: pd.DataFrame) -> ExperimentEvaluation:
    """Uplift of the challenger over the champion with intervals, tests and sample sizes."""
    import pandas as pd

    frame = outcomes
    champion = frame[frame["group"] == "champion"]
    challenger = frame[frame["group"] == "challenger"]
    n1, n2 = len(champion), len(challenger)

    def group_row(name: str, g: pd.DataFrame) -> dict[str, Any]:
        rate = g["collected"].to_numpy(float) / g["balance"].to_numpy(float)
        row = {
            "group": name,
            "accounts": len(g),
            "balance": round(float(g["balance"].sum()), 2),
            "collected": round(float(g["collected"].sum()), 2),
            "cured": int(g["cured"].sum()),
            "cure_rate": round(float(g["cured"].mean()), 6),
            "recovery_rate_mean": round(float(rate.mean()), 6),
            "recovery_rate_pooled": round(float(g["collected"].sum() / g["balance"].sum()), 6),
        }
        if "cost" in g:
            row["cost"] = round(float(g["cost"].sum()), 2)
        return row

    groups = pd.DataFrame([group_row("champion", champion), group_row("challenger", challenger)])
    rows: list[dict[str, Any]] = []
    cure, cure_test = binary_test(
        champion["cured"].to_numpy(float), challenger["cured"].to_numpy(float)
    )
    rows.append({"metric": "cure_rate", "test": cure_test, **cure})
    rate1 = champion["collected"].to_numpy(float) / champion["balance"].to_numpy(float)
    rate2 = challenger["collected"].to_numpy(float) / challenger["balance"].to_numpy(float)
    rows.append({"metric": "recovery_rate", "test": "Welch t-test", **welch_test(rate1, rate2)})
    rows.append(
        {
            "metric": "recovery_rate_pooled",
            "test": "Welch t-test (ratio by delta method)",
            **ratio_test(
                champion["collected"].to_numpy(float),
                champion["balance"].to_numpy(float),
                challenger["collected"].to_numpy(float),
                challenger["balance"].to_numpy(float),
            ),
        }
    )
    if "cost" in frame.columns:
        net1 = (champion["collected"] - champion["cost"]).to_numpy(float) / champion[
            "balance"
        ].to_numpy(float)
        net2 = (challenger["collected"] - challenger["cost"]).to_numpy(float) / challenger[
            "balance"
        ].to_numpy(float)
        rows.append(
            {"metric": "net_recovery_rate", "test": "Welch t-test", **welch_test(net1, net2)}
        )
    for row in rows:
        row["significant"] = bool(row["p_value"] < ALPHA)
    notes = tuple(sample_note(row["metric"], row, n1, n2) for row in rows)
    uplift = pd.DataFrame(rows)
    for column in (
        "champion",
        "challenger",
        "uplift",
        "ci_low",
        "ci_high",
        "statistic",
        "p_value",
        "mde",
    ):
        uplift[column] = uplift[column].astype(float).round(6)
    for column in ("need_champion", "need_challenger"):
        uplift[column] = (
            uplift[column].map(lambda v: int(v) if math.isfinite(v) else None).astype("Int64")
        )
    segments = _segment_uplift(frame)
    return ExperimentEvaluation(groups=groups, uplift=uplift, notes=notes, segments=segments)


def _segment_uplift(frame: pd.DataFrame) -> pd.DataFrame | None:
    import pandas as pd

    rows = []
    for column in ("tier", "dpd_bucket", "product"):
        if column not in frame.columns:
            continue
        for label, part in frame.groupby(column, sort=True):
            a = part[part["group"] == "champion"]
            b = part[part["group"] == "challenger"]
            if len(a) < 2 or len(b) < 2:
                continue
            cure = welch_test(a["cured"].to_numpy(float), b["cured"].to_numpy(float))
            rate = welch_test(
                a["collected"].to_numpy(float) / a["balance"].to_numpy(float),
                b["collected"].to_numpy(float) / b["balance"].to_numpy(float),
            )
            rows.append(
                {
                    "segment_type": column,
                    "segment": str(label),
                    "champion_accounts": len(a),
                    "challenger_accounts": len(b),
                    "cure_uplift": round(cure["uplift"], 6),
                    "cure_ci_low": round(cure["ci_low"], 6),
                    "cure_ci_high": round(cure["ci_high"], 6),
                    "recovery_uplift": round(rate["uplift"], 6),
                    "recovery_ci_low": round(rate["ci_low"], 6),
                    "recovery_ci_high": round(rate["ci_high"], 6),
                }
            )
    return pd.DataFrame(rows) if rows else None


#: Headers of the uplift table's interval: the interval of the difference challenger −
#: champion, not of a mean (the reports' default title of ``ci_low``).
UPLIFT_TITLES = {"ci_low": "95% CI of uplift: low", "ci_high": "95% CI of uplift: high"}


def write_evaluation(evaluation: ExperimentEvaluation, out_dir: str | Path) -> list[Path]:
    """Write ``uplift.csv``, ``groups.csv``, ``report.xlsx`` and ``report.html`` to ``out_dir``."""
    import html as html_lib

    out = Path(out_dir)
    sheets: dict[str, Any] = {"Uplift": evaluation.uplift, "Groups": evaluation.groups}
    if evaluation.segments is not None:
        sheets["By segment"] = evaluation.segments
    page = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Champion/challenger evaluation</title>',
        f"<style>{PAGE_CSS}</style></head><body><h1>Champion/challenger evaluation</h1>",
        "<h2>Groups</h2>",
        html_table(evaluation.groups, table_id="groups"),
        "<h2>Uplift (challenger − champion)</h2>",
        html_table(evaluation.uplift, table_id="uplift", titles=UPLIFT_TITLES),
        "<h2>Significance and sample size</h2><ul>",
        *[f"<li>{html_lib.escape(n)}</li>" for n in evaluation.notes],
        "</ul>",
    ]
    if evaluation.segments is not None:
        page += ["<h2>By segment</h2>", html_table(evaluation.segments, table_id="segments")]
    page.append("</body></html>")
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "uplift.csv": evaluation.uplift.to_csv(index=False, lineterminator="\n").encode(),
        "groups.csv": evaluation.groups.to_csv(index=False, lineterminator="\n").encode(),
        "report.html": "\n".join(page).encode("utf-8"),
    }
    written = [
        write_workbook(
            sheets,
            out / "report.xlsx",
            unit_column="",
            notes={"Notes": " ".join(evaluation.notes)},
            titles=UPLIFT_TITLES,  # only the Uplift sheet has ci_low/ci_high
        )
    ]
    for name, data in files.items():
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data)
        written.append(out / name)
    return written
