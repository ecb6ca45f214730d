"""Summary tables of a validated portfolio (``workout validate``, reports), also of a
portfolio read in chunks (:func:`merge_summaries`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from solver.core.account import effective_income_normal
from solver.core.schema import DPD_BUCKETS, PRODUCTS, SEQUENCE_FIELDS, TIERS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["merge_summaries", "summarize_portfolio"]


def summarize_portfolio(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Summary tables of a validated portfolio (for ``workout validate`` and reports).

    Returns
    -------
    dict
        ``by_product``, ``by_tier`` and ``by_dpd_bucket``: accounts, share and money totals
        (principal, interest_due, fees_due, arrears, vehicle_value) per group, with a
        ``total`` row; ``flags``: count and share of each flag, of missing scores, of
        income shocks (``income`` below the effective ``income_normal``) and of accounts
        with an income forecast or inflows.
    """
    import pandas as pd

    money = ["principal", "interest_due", "fees_due", "arrears", "vehicle_value"]
    n = len(frame)

    def grouped(key: str, order: tuple[str, ...]) -> pd.DataFrame:
        groups = frame.groupby(key, sort=False, observed=True)
        table = groups[money].sum()
        table.insert(0, "accounts", groups.size())
        table = table.reindex([k for k in order if k in table.index])
        table.insert(1, "share", table["accounts"] / max(n, 1))
        total = pd.DataFrame(
            {"accounts": [n], "share": [1.0], **{m: [frame[m].sum()] for m in money}},
            index=["total"],
        )
        table = pd.concat([table, total])
        table.index.name = key
        return table

    flags = {
        name: int(frame[name].sum())
        for name in ("hardship", "cease_contact", "dispute", "bankruptcy", "has_plan")
    }
    flags["no_sms_consent"] = int((~frame["consent_sms"]).sum())
    flags["no_email_consent"] = int((~frame["consent_email"]).sum())
    flags["missing_credit_score"] = int(frame["credit_score"].isna().sum())
    flags["income_shock"] = int((frame["income"] < effective_income_normal(frame)).sum())
    for name in SEQUENCE_FIELDS:
        flags[name] = int(frame[name].notna().sum()) if name in frame.columns else 0
    flag_table = pd.DataFrame(
        {"accounts": list(flags.values()), "share": [v / max(n, 1) for v in flags.values()]},
        index=pd.Index(list(flags), name="flag"),
    )
    return {
        "by_product": grouped("product", PRODUCTS),
        "by_tier": grouped("tier", TIERS),
        "by_dpd_bucket": grouped("dpd_bucket", DPD_BUCKETS),
        "flags": flag_table,
    }


def merge_summaries(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Combine :func:`summarize_portfolio` results of disjoint chunks of one portfolio.

    Counts and money totals add up; shares are recomputed from the combined counts. The
    result equals ``summarize_portfolio`` of the concatenated chunks.
    """
    import pandas as pd

    if len(parts) == 1:
        return parts[0]
    out: dict[str, pd.DataFrame] = {}
    for key, order in (
        ("by_product", PRODUCTS),
        ("by_tier", TIERS),
        ("by_dpd_bucket", DPD_BUCKETS),
    ):
        tables = [p[key] for p in parts]
        name = tables[0].index.name
        summed = pd.concat(tables).drop(columns="share").groupby(level=0, sort=False).sum()
        labels = [k for k in (*order, "total") if k in summed.index]
        summed = summed.reindex(labels)
        total = float(summed.loc["total", "accounts"])
        summed.insert(1, "share", summed["accounts"] / max(total, 1.0))
        summed.index.name = name
        out[key] = summed
    flags = pd.concat([p["flags"] for p in parts]).groupby(level=0, sort=False)["accounts"].sum()
    n = float(out["by_product"].loc["total", "accounts"])
    out["flags"] = pd.DataFrame(
        {"accounts": flags, "share": flags / max(n, 1.0)},
        index=pd.Index(list(flags.index), name="flag"),
    )
    return out
