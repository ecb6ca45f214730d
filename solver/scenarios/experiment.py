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
  uplift with 80 % power in a two-sided 5 % test at the observed allocation ratio
  (proportions: Fleiss' formula with unequal groups; means: the normal approximation with
  the observed standard deviations), and the minimum detectable uplift ``mde`` of the groups
  as they are, ``(z_0.975 + z_0.8)·se``.
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
from solver.core.tables import read_table
from solver.errors import InputError
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
ALPHA = 0.05
POWER = 0.80


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
    keys = _hash_order(seed, ids)
    if strata:
        labels = frame[list(strata)].astype(str).agg(" | ".join, axis=1).to_numpy()
    else:
        labels = np.full(n, "all", dtype=object)
    names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = share * counts
    k = np.floor(quota).astype(np.int64)
    remaining = int(round(share * n)) - int(k.sum())
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


def validate_outcomes(raw: pd.DataFrame, source: str = "<outcomes>") -> pd.DataFrame:
    """Typed outcomes table from a raw one, or InputError listing every problem (cap 50)."""
    import difflib

    import pandas as pd

    raw = raw.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    problems: list[str] = []
    missing = [c for c in OUTCOME_COLUMNS if c not in raw.columns]
    for column in missing:
        extra = [c for c in raw.columns if c not in OUTCOME_COLUMNS + OPTIONAL_COLUMNS]
        close = difflib.get_close_matches(column, extra, n=1)
        hint = f" (is {close[0]!r} meant to be it?)" if close else ""
        problems.append(f"{source}: missing required column {column!r}{hint}")
    if problems:
        raise InputError(f"{source}: {len(problems)} problem(s) in the outcomes file", problems)
    ids = raw["account_id"].astype(str).str.strip().to_numpy()

    def where(i: Any) -> str:
        return f"{source}: row {i + 1} (account_id {ids[i] or '?'})"

    out = pd.DataFrame({"account_id": ids})
    for i in np.nonzero(ids == "")[0]:
        problems.append(f"{where(i)}: account_id: missing")
    dup = pd.Series(ids).duplicated(keep="first").to_numpy()
    for i in np.nonzero(dup & (ids != ""))[0]:
        problems.append(f"{where(i)}: account_id: duplicate")
    group = raw["group"].astype(str).str.strip().str.lower().to_numpy()
    for i in np.nonzero(~np.isin(group, GROUPS))[0]:
        problems.append(
            f"{where(i)}: group: must be champion or challenger, got {raw['group'].iloc[i]!r}"
        )
    out["group"] = group
    for column, lower, strict in (
        ("balance", 0.0, True),
        ("collected", 0.0, False),
        ("cost", 0.0, False),
    ):
        if column not in raw.columns:
            continue
        values = pd.to_numeric(
            raw[column].astype(str).str.replace(",", "").str.strip(), errors="coerce"
        ).to_numpy(float)
        for i in np.nonzero(~np.isfinite(values))[0]:
            problems.append(f"{where(i)}: {column}: not a number: {raw[column].iloc[i]!r}")
        bad = np.isfinite(values) & ((values <= lower) if strict else (values < lower))
        for i in np.nonzero(bad)[0]:
            rule = "> 0" if strict else ">= 0"
            problems.append(f"{where(i)}: {column}: must be {rule}, got {values[i]:g}")
        out[column] = values
    cured_raw = raw["cured"].astype(str).str.strip().str.lower().to_numpy()
    cured = np.isin(cured_raw, list(_TRUE))
    for i in np.nonzero(~cured & ~np.isin(cured_raw, list(_FALSE)))[0]:
        problems.append(
            f"{where(i)}: cured: must be true/false (or 1/0), got {raw['cured'].iloc[i]!r}"
        )
    out["cured"] = cured
    for column in ("tier", "dpd_bucket", "product"):
        if column in raw.columns:
            out[column] = raw[column].astype(str).to_numpy()
    if problems:
        shown = problems[:50]
        if len(problems) > 50:
            shown.append(f"... and {len(problems) - 50} more")
        raise InputError(f"{source}: {len(problems)} problem(s) in the outcomes file", shown)
    for g in GROUPS:
        if int((out["group"] == g).sum()) < 2:
            raise InputError(f"{source}: group {g!r} needs at least 2 accounts to be evaluated")
    return out


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


def _z(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def _test_row(
    champion: float,
    challenger: float,
    se: float,
    half_width: float,
    statistic: float,
    p_value: float,
    k: float,
    need1: float,
) -> dict[str, float]:
    """One uplift row: ``challenger − champion`` ± ``half_width``, the test, the sample
    sizes (``need1`` champion accounts, ``k`` challengers per champion) and the minimum
    detectable uplift (normal approximation with standard error ``se``)."""
    diff = challenger - champion
    za, zb = _z(1 - ALPHA / 2), _z(POWER)
    return {
        "champion": champion,
        "challenger": challenger,
        "uplift": diff,
        "ci_low": diff - half_width,
        "ci_high": diff + half_width,
        "statistic": statistic,
        "p_value": p_value,
        "need_champion": need1,
        "need_challenger": math.ceil(k * need1) if math.isfinite(need1) else math.inf,
        "mde": (za + zb) * se if se > 0 else math.nan,
    }


def _proportion_test(x1: int, n1: int, x2: int, n2: int) -> dict[str, float]:
    """Champion x1/n1, challenger x2/n2: uplift p2 − p1, Wald CI, pooled z-test, sample size."""
    from scipy.stats import norm

    p1, p2 = x1 / n1, x2 / n2
    diff = p2 - p1
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = diff / se0 if se0 > 0 else 0.0
    p_value = float(2 * norm.sf(abs(z))) if se0 > 0 else 1.0
    za, zb = _z(1 - ALPHA / 2), _z(POWER)
    k = n2 / n1
    if diff != 0:
        pbar = (p1 + k * p2) / (1 + k)
        root = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k)) + zb * math.sqrt(
            p1 * (1 - p1) + p2 * (1 - p2) / k
        )
        need1: float = math.ceil((root / diff) ** 2)
    else:
        need1 = math.inf
    return _test_row(p1, p2, se, za * se, z, p_value, k, need1)


def _welch_test(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Champion sample a, challenger sample b: mean uplift with Welch CI and t-test."""
    from scipy.stats import t, ttest_ind

    n1, n2 = len(a), len(b)
    m1, m2 = float(np.mean(a)), float(np.mean(b))
    v1, v2 = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    se = math.sqrt(v1 / n1 + v2 / n2)
    diff = m2 - m1
    if se > 0:
        df = (v1 / n1 + v2 / n2) ** 2 / (
            (v1 / n1) ** 2 / max(n1 - 1, 1) + (v2 / n2) ** 2 / max(n2 - 1, 1)
        )
        test = ttest_ind(b, a, equal_var=False)
        stat, p_value = float(test.statistic), float(test.pvalue)
        tq = float(t.ppf(1 - ALPHA / 2, df))
    else:
        df, stat, p_value, tq = math.nan, 0.0, 1.0, 0.0
    za, zb = _z(1 - ALPHA / 2), _z(POWER)
    k = n2 / n1
    need1 = math.ceil((za + zb) ** 2 * (v1 + v2 / k) / diff**2) if diff != 0 else math.inf
    return _test_row(m1, m2, se, tq * se, stat, p_value, k, need1)


def _ratio_test(y1: np.ndarray, x1: np.ndarray, y2: np.ndarray, x2: np.ndarray) -> dict[str, float]:
    """Pooled ratios Σy/Σx per group: uplift with delta-method CI and z-test."""
    from scipy.stats import norm

    def ratio(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
        r = float(y.sum() / x.sum())
        resid = y - r * x
        var = float(np.var(resid, ddof=1)) / (len(x) * float(np.mean(x)) ** 2)
        return r, var, float(np.var(resid, ddof=1)) / float(np.mean(x)) ** 2

    r1, v1, s1 = ratio(y1, x1)
    r2, v2, s2 = ratio(y2, x2)
    diff = r2 - r1
    se = math.sqrt(v1 + v2)
    z = diff / se if se > 0 else 0.0
    za, zb = _z(1 - ALPHA / 2), _z(POWER)
    n1, n2 = len(x1), len(x2)
    k = n2 / n1
    need1 = math.ceil((za + zb) ** 2 * (s1 + s2 / k) / diff**2) if diff != 0 else math.inf
    p_value = float(2 * norm.sf(abs(z))) if se > 0 else 1.0
    return _test_row(r1, r2, se, za * se, z, p_value, k, need1)


def _sample_note(metric: str, row: dict[str, Any], n1: int, n2: int) -> str:
    """The note of one metric: "significant" when p < ALPHA (no sample-size verdict then);
    otherwise the minimum detectable uplift of these groups and the accounts an uplift of
    the observed size would need (never post-hoc power: see the module docstring)."""
    p_value, uplift = row["p_value"], row["uplift"]
    if p_value < ALPHA:
        return (
            f"{metric}: significant (p = {p_value:.4f} < {ALPHA:g}): uplift {uplift:+.4f}, "
            f"95% interval {row['ci_low']:+.4f} .. {row['ci_high']:+.4f}."
        )
    head = f"{metric}: not significant (p = {p_value:.4f} >= {ALPHA:g})"
    mde = (
        f"; the smallest uplift these groups ({n1:,} champion, {n2:,} challenger accounts) "
        f"detect with {POWER:.0%} power in a two-sided {ALPHA:.0%} test is "
        f"±{row['mde']:.4f}"
        if math.isfinite(row["mde"])
        else ""
    )
    if not math.isfinite(row["need_champion"]):
        return f"{head}{mde}; no difference was observed."
    need1, need2 = int(row["need_champion"]), int(row["need_challenger"])
    if n1 >= need1 and n2 >= need2:  # se differs from the test's pooled se0: can happen
        size = "the groups are large enough for an uplift of the observed size"
    else:
        size = "the experiment is too small for an uplift of the observed size"
    return (
        f"{head}{mde}; {size} ({uplift:+.4f}), which needs about {need1:,} champion and "
        f"{need2:,} challenger accounts."
    )


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
    notes = tuple(_sample_note(row["metric"], row, n1, n2) for row in rows)
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
