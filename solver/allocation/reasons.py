"""The ``reason`` column of the allocation: why an account did not get its most valuable treatment.

A compliance or eligibility rule when the best treatment ignoring the rules is excluded
(:func:`solver.allocation.compliance.reason_text`, vectorised for the common codes), else
the capacity of the teams or the budget; the product rules (tier, dpd bucket, balance range)
say what a treatment is for and give no reason (:data:`PRODUCT_RULES`).

The eligibility checks a treatment's product rules before its compliance rules
(:func:`solver.allocation.compliance.eligibility`), so a compliance code is recorded only
for a treatment the account could otherwise get: "hardship: no field_visit" is never said
of an M1 account, which no field visit is for (session 19 review: 37 of 67 hardship
reasons of the demo book were). When the best such treatment is allowed but not given, the
reason is the capacity or the budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from solver.allocation.build import AllocationProblem
from solver.allocation.catalogue import Catalogue
from solver.allocation.compliance import reason_text

__all__ = ["PRODUCT_RULES", "reason_column"]

#: Eligibility codes of product rules (tier, dpd bucket, balance): not reported as reasons.
PRODUCT_RULES = (3, 4, 6)


def _forced_reasons(
    accounts: Any, codes: np.ndarray, treatments: np.ndarray, catalogue: Catalogue
) -> np.ndarray:
    """Vectorised :func:`solver.allocation.compliance.reason_text` for many accounts."""
    import pandas as pd

    n = len(accounts)
    t_name = pd.Series(np.array(catalogue.names, dtype=object)[treatments], dtype=object)
    consent = pd.Series(
        np.array([t.consent or "consent" for t in catalogue.treatments], dtype=object)[treatments],
        dtype=object,
    )
    team_type = pd.Series(
        np.array([t.team_type for t in catalogue.treatments], dtype=object)[treatments],
        dtype=object,
    )

    def col(name: str) -> Any:
        if name not in accounts.columns:
            return pd.Series(["?"] * n, dtype=object)
        values = accounts[name].fillna("").astype(str).to_numpy(dtype=object)
        return pd.Series(np.where(values == "", "?", values), dtype=object)

    tier, bucket, region, language = col("tier"), col("dpd_bucket"), col("region"), col("language")
    text = pd.Series([""] * n, dtype=object)
    for code in np.unique(codes).tolist():
        pick = codes == code
        if code == 2:
            part = "hardship: no " + t_name[pick]
        elif code == 5:
            part = (
                "gentle treatment for tier "
                + tier[pick]
                + " in "
                + bucket[pick]
                + ": no "
                + t_name[pick]
            )
        elif code == 7:
            part = "no " + consent[pick] + ": no " + t_name[pick]
        elif code == 8:
            part = (
                "no " + team_type[pick] + " team serves " + region[pick] + " in " + language[pick]
            )
        else:  # other codes are rare here: format one by one
            rows = accounts.iloc[np.flatnonzero(pick)].to_dict(orient="records")
            for pos, rec in zip(np.flatnonzero(pick).tolist(), rows, strict=True):
                rec["balance"] = (
                    rec.get("principal", 0.0)
                    + rec.get("interest_due", 0.0)
                    + rec.get("fees_due", 0.0)
                )
                text[pos] = reason_text(
                    int(code), account=rec, treatment=catalogue.treatments[int(treatments[pos])]
                )
            continue
        text[pick] = part.to_numpy(dtype=object)
    return text.to_numpy(dtype=object)


def reason_column(
    portfolio: Any, catalogue: Catalogue, built: AllocationProblem, t_of: np.ndarray
) -> np.ndarray:
    """Why an account did not get its most valuable treatment (empty when it did).

    A compliance or eligibility rule when the best treatment ignoring the rules is excluded
    (e.g. "hardship: no field_visit"), else "capacity" or "budget" when the best allowed
    treatment could not be given.
    """
    n = t_of.size
    cols = np.arange(n)
    out = np.full(n, "", dtype=object)
    comp = catalogue.compliance
    flag_cols = [f for f in comp.blocking_flags() if f in portfolio.columns]
    flags = np.zeros(n, dtype=bool)
    for f in flag_cols:
        flags |= portfolio[f].to_numpy(dtype=bool, na_value=False)
    if flags.any():
        idx = np.flatnonzero(flags)
        sub = portfolio.iloc[idx]
        names = np.array([""] * idx.size, dtype=object)
        for f in flag_cols:
            on = sub[f].to_numpy(dtype=bool, na_value=False)
            names = np.where(on, np.where(names == "", f, names + "/" + f), names)
        out[idx] = [f"{nm}: no collection contact" for nm in names]
    # Product eligibility (tier, dpd bucket, balance range) defines what a treatment is for;
    # only the compliance rules "force" a different treatment and give a reason.
    applicable = ~np.isin(built.code, PRODUCT_RULES)
    best_any = np.where(applicable, built.unconstrained_value, -np.inf).argmax(axis=0)
    best_code = built.code[best_any, cols]
    forced = (best_code > 0) & ~flags & (t_of != best_any)
    if forced.any():
        idx = np.flatnonzero(forced)
        out[idx] = _forced_reasons(portfolio.iloc[idx], best_code[idx], best_any[idx], catalogue)
    best_allowed = built.treatment_value.argmax(axis=0)
    short = (
        (out == "")
        & (t_of != best_allowed)
        & np.isfinite(built.treatment_value[best_allowed, cols])
    )
    short &= built.treatment_value[best_allowed, cols] > built.treatment_value[t_of, cols] + 0.005
    if short.any():
        lacking = np.array(
            [
                f"capacity: {catalogue.treatments[t].team_type or catalogue.treatments[t].name} teams full"
                if catalogue.treatments[t].human
                else "budget"
                for t in range(len(catalogue.treatments))
            ],
            dtype=object,
        )
        if built.problem.global_capacity.size:
            lacking = np.where(
                [catalogue.treatments[t].human for t in range(len(catalogue.treatments))],
                np.char.add(lacking.astype(str), " or budget"),
                lacking,
            ).astype(object)
        out[short] = lacking[best_allowed[short]]
    return out
