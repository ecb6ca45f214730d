"""Champion/challenger experiments (SPEC §9): a stratified random split and its evaluation.

Split
-----
:func:`split_portfolio` assigns a share of the accounts to the *challenger* strategy and
the rest to the *champion* (the current strategy), stratified by columns such as ``tier``
and ``dpd_bucket`` so that both groups have the same mix. Within each stratum accounts are
ordered by a keyed hash of ``(seed, account_id)`` and the first ``k`` become challengers;
the per-stratum counts ``k`` follow the largest-remainder rule so that the total is
``round(share·n)`` and every stratum is within one account of its exact share. The split of
an account depends only on the seed, its id and its stratum's composition — not on the row
order of the file.

A share that leaves either whole group empty (``round(share·n)`` of 0 or ``n``: 0.001 of 500
accounts) is refused, naming the share that gives that group one account: there would be
nothing to compare. A *stratum* without a challenger is not refused (session 24): with a
10 % share every stratum of fewer than 5 accounts has none by the largest-remainder rule,
which is the split's promise (each stratum within one account of its exact share), and the
split's summary shows each stratum's count.

Outcomes file
-------------
After the observation window the bank records, per account (CSV, Parquet or Excel):

=================  ===========================================================================
column             meaning
=================  ===========================================================================
``account_id``     unique id (text), required
``group``          ``champion`` or ``challenger`` (case-insensitive), required
``balance``        balance owed at the start of the window (CNY, > 0), required
``collected``      cash collected in the window (CNY, ≥ 0), required
``cured``          back to current (M0) at the end of the window: true/false, 1/0, yes/no; required
``cost``           collection cost spent on the account (CNY, ≥ 0), optional
``tier``, ``dpd_bucket``, ``product``  optional segment columns (carried into the report)
=================  ===========================================================================

Evaluation
----------
* **Cure rate** (share of accounts cured): uplift = challenger − champion with a 95 %
  Wald interval, two-proportion z-test (pooled variance under H0).
* **Recovery rate**, per account (``collected / balance``, the mean over accounts):
  uplift with a 95 % Welch interval (Welch–Satterthwaite degrees of freedom) and Welch's
  t-test.
* **Pooled recovery rate** (``Σ collected / Σ balance``): uplift with a delta-method
  (ratio-estimator) 95 % interval and z-test.
* **Net recovery rate** (``(collected − cost) / balance``) when ``cost`` is given: as the
  per-account recovery rate.
* **Sample size**: for each metric, the accounts per group needed to detect the *observed*
  uplift with 80 % power in a two-sided 5 % test at the observed allocation ratio, and the
  minimum detectable uplift ``mde`` of the groups as they are, each from the distribution
  of the metric's own test (proportions: Fleiss' formula with unequal groups and
  ``(z_0.975 + z_0.8)·se``; Welch: the noncentral t power with the observed standard
  deviations; pooled ratio: the normal one). :mod:`solver.scenarios.experiment_stats`
  holds the tests.
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

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.core.atomic import atomic_path
from solver.core.messages import fmt_num, fmt_raw
from solver.core.problems import ProblemLog
from solver.core.tables import read_table
from solver.errors import InputError
from solver.scenarios.experiment_stats import ALPHA, sample_note
from solver.scenarios.experiment_stats import proportion_test as _proportion_test
from solver.scenarios.experiment_stats import ratio_test as _ratio_test
from solver.scenarios.experiment_stats import welch_test as _welch_test
from solver.scenarios.report_html import PAGE_CSS, html_table
from solver.scenarios.workbook import write_workbook

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ExperimentEvaluation",
    "ExperimentSplit",
    "evaluate_outcomes",
    "read_outcomes",
    "split_portfolio",
]

GROUPS: tuple[str, ...] = ("champion", "challenger")
OUTCOME_COLUMNS: tuple[str, ...] = ("account_id", "group", "balance", "collected", "cured")
OPTIONAL_COLUMNS: tuple[str, ...] = ("cost", "tier", "dpd_bucket", "product")


# --------------------------------------------------------------------------------------
# Split
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentSplit:
    """A champion/challenger split.

    Attributes
    ----------
    table
        ``account_id``, ``group`` and the stratum columns, in the portfolio's row order.
    summary
        One row per stratum: accounts, challengers, challenger share.
    share, seed, strata
        Settings used.
    """

    table: Any
    summary: Any
    share: float
    seed: int
    strata: tuple[str, ...]


def _hash_order(seed: int, ids: Sequence[str]) -> np.ndarray:
    keys = np.empty(len(ids), dtype=np.uint64)
    for i, account_id in enumerate(ids):
        digest = hashlib.blake2b(
            f"{int(seed)}\x1f{account_id}".encode(), digest_size=8, person=b"workout-split"
        ).digest()
        keys[i] = int.from_bytes(digest, "little")
    return keys


def _challenger_total(share: float, n: int, source: str) -> int:
    """Challengers of a split of ``n`` accounts, ``round(share·n)``; InputError when either
    whole-book group would be empty (nothing to compare), naming ``--share`` and the share
    that gives the empty group one account. A stratum may have no challenger: see the module
    docstring."""
    if n < 2:
        raise InputError(f"{source}: {n} account(s): a champion/challenger split needs at least 2")
    total = int(round(share * n))
    if 0 < total < n:
        return total
    group, fix, want = (
        ("challenger", "or more", 1) if total == 0 else ("champion", "or less", n - 1)
    )
    # the shortest printed share that gives ``want`` challengers (1/n, n = 3,000: 0.000333)
    shown = next(
        text
        for digits in range(1, 18)
        if int(round(float(text := f"{want / n:.{digits}g}") * n)) == want
    )
    raise InputError(
        f"--share {share:g} leaves the {group} group empty ({share:g} × {n:,} accounts ="
        f" {share * n:g}, which rounds to {total:,} challengers); --share {shown} {fix}"
        f" gives it one account"
    )


def split_portfolio(
    frame: pd.DataFrame,
    share: float,
    seed: int = 0,
    strata: Sequence[str] = ("tier", "dpd_bucket"),
    source: str = "<portfolio>",
) -> ExperimentSplit:
    """Stratified random champion/challenger split (see the module docstring).

    Parameters
    ----------
    frame
        The portfolio (needs ``account_id`` and the strata columns).
    share
        Share of accounts in the challenger group, 0 < share < 1.
    seed
        Seed of the keyed hash that orders accounts within a stratum.
    strata
        Columns to stratify by (may be empty).
    source
        File name for messages.
    """
    import difflib

    import pandas as pd

    if not (0.0 < share < 1.0):
        raise InputError(f"--share must be strictly between 0 and 1, got {share}")
    strata = tuple(strata)
    missing = [c for c in strata if c not in frame.columns]
    if missing:
        problems = []
        for column in missing:
            close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{source}: no column {column!r} to stratify by{hint}")
        raise InputError(f"{source}: unknown strata column(s)", problems)
    ids = frame["account_id"].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        raise InputError(f"{source}: account_id values must be unique to split")
    n = len(ids)
    total = _challenger_total(share, n, source)
    keys = _hash_order(seed, ids)
    if strata:
        labels = frame[list(strata)].astype(str).agg(" | ".join, axis=1).to_numpy()
    else:
        labels = np.full(n, "all", dtype=object)
    names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = share * counts
    k = np.floor(quota).astype(np.int64)
    remaining = total - int(k.sum())
    if remaining > 0:
        # largest remainder first; ties broken by a keyed hash of the stratum name
        ties = _hash_order(seed, [f"stratum:{s}" for s in names])
        order = np.lexsort((ties, -(quota - k)))
        k[order[:remaining]] += 1
    challenger = np.zeros(n, dtype=bool)
    for s in range(len(names)):
        members = np.nonzero(inverse == s)[0]
        ranked = members[np.lexsort((ids[members], keys[members]))]
        challenger[ranked[: k[s]]] = True
    table = pd.DataFrame(
        {"account_id": ids, "group": np.where(challenger, "challenger", "champion")}
    )
    for column in strata:
        table[column] = frame[column].astype(str).to_numpy()
    summary = pd.DataFrame(
        {
            "stratum": names.astype(str),
            "accounts": counts.astype(np.int64),
            "challenger": k,
            "challenger_share": np.round(k / counts, 6),
        }
    )
    return ExperimentSplit(table=table, summary=summary, share=share, seed=int(seed), strata=strata)


# --------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------

_TRUE = {"true", "t", "yes", "y", "1", "1.0", "cured", "是"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "not_cured", "否"}


def read_outcomes(path: str | Path) -> pd.DataFrame:
    """Read and validate an outcomes file (CSV, Parquet or Excel; format in the docstring).

    Raises
    ------
    InputError
        Listing every problem as ``FILE: row N (account_id X): column: what is wrong``;
        an unreadable file as :func:`solver.core.tables.read_table` reports it.
    """
    path = Path(path)
    return validate_outcomes(read_table(path, all_text=True), source=str(path))


#: How the problem lines count rows (after the headline).
ROW_NOTE = "row N = the Nth data row below the header"


def validate_outcomes(raw: pd.DataFrame, source: str = "<outcomes>") -> pd.DataFrame:
    """Typed outcomes table from a raw one (every cell as text, or typed from Parquet).

    Problems are collected in a :class:`~solver.core.problems.ProblemLog`, as every reader
    of the project does (session 24; before, a hand-written list grouped them by column):
    ``FILE: row N (account_id X): column: what is wrong``, ordered by row, at most
    :data:`~solver.core.schema.MAX_PROBLEMS` lines, then the rest counted by column. A file
    with a header and no rows says so.

    Raises
    ------
    InputError
        Listing every problem (rows numbered from 1, the first data row).
    """
    import difflib

    import pandas as pd

    raw = raw.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    log = ProblemLog(source, np.arange(1, len(raw) + 1))
    extra = [c for c in raw.columns if c not in OUTCOME_COLUMNS + OPTIONAL_COLUMNS]
    for column in (c for c in OUTCOME_COLUMNS if c not in raw.columns):
        close = difflib.get_close_matches(column, extra, n=1)
        hint = f" (is {close[0]!r} meant to be it?)" if close else ""
        log.file(f"missing required column {column!r}{hint}")
    if raw.empty:
        log.file("header only, no data rows")
    log.raise_if_any(ROW_NOTE, subject="outcomes file")
    text = {c: raw[c].astype(str).str.strip() for c in raw.columns}
    ids = text["account_id"].to_numpy(dtype=object)
    log.account_ids = text["account_id"]
    out = pd.DataFrame({"account_id": ids})
    log.add("account_id", ids == "", lambda i: "missing")
    duplicate = pd.Series(ids).duplicated(keep="first").to_numpy() & (ids != "")
    log.add("account_id", duplicate, lambda i: "duplicate")
    group = text["group"].str.lower().to_numpy(dtype=object)
    log.add(
        "group",
        ~np.isin(group, GROUPS),
        lambda i: f"must be champion or challenger, got {fmt_raw(raw['group'].iloc[i])}",
    )
    out["group"] = group
    for column, strict in (("balance", True), ("collected", False), ("cost", False)):
        if column in raw.columns:
            out[column] = _amounts(log, column, text[column], strict)
    cured_text = text["cured"].str.lower().to_numpy(dtype=object)
    cured = np.isin(cured_text, list(_TRUE))
    log.add(
        "cured",
        ~cured & ~np.isin(cured_text, list(_FALSE)),
        lambda i: f"must be true/false (or 1/0), got {fmt_raw(raw['cured'].iloc[i])}",
    )
    out["cured"] = cured
    for column in ("tier", "dpd_bucket", "product"):
        if column in raw.columns:
            out[column] = raw[column].astype(str).to_numpy()
    log.raise_if_any(ROW_NOTE, subject="outcomes file")
    for g in GROUPS:
        count = int((out["group"] == g).sum())
        if count < 2:
            log.file(f"group {g!r} needs at least 2 accounts to be evaluated, has {count}")
    log.raise_if_any(subject="outcomes file", outcome="nothing was evaluated")
    return out


def _amounts(log: ProblemLog, column: str, cells: pd.Series, strict: bool) -> np.ndarray:
    """The amounts of one column (CNY, thousands separators allowed), its problems logged:
    not a number, or not > 0 (``strict``) / not >= 0."""
    import pandas as pd

    values = pd.to_numeric(cells.str.replace(",", ""), errors="coerce").to_numpy(float)
    log.add(column, ~np.isfinite(values), lambda i: f"not a number: {fmt_raw(cells.iloc[i])}")
    rule = "> 0" if strict else ">= 0"
    bad = np.isfinite(values) & ((values <= 0) if strict else (values < 0))
    log.add(column, bad, lambda i: f"must be {rule}, got {fmt_num(values[i])}")
    return values


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
    cure = _proportion_test(int(champion["cured"].sum()), n1, int(challenger["cured"].sum()), n2)
    rows.append({"metric": "cure_rate", "test": "two-proportion z-test", **cure})
    rate1 = champion["collected"].to_numpy(float) / champion["balance"].to_numpy(float)
    rate2 = challenger["collected"].to_numpy(float) / challenger["balance"].to_numpy(float)
    rows.append({"metric": "recovery_rate", "test": "Welch t-test", **_welch_test(rate1, rate2)})
    rows.append(
        {
            "metric": "recovery_rate_pooled",
            "test": "ratio z-test (delta method)",
            **_ratio_test(
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
            {"metric": "net_recovery_rate", "test": "Welch t-test", **_welch_test(net1, net2)}
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
            cure = _proportion_test(int(a["cured"].sum()), len(a), int(b["cured"].sum()), len(b))
            rate = _welch_test(
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
