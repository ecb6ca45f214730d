"""The KPIs of a scenario run (SPEC §9): what each one is, and which way is better.

:data:`KPIS` defines every KPI (unit, description, table order), :data:`UNIT_DECIMALS` how its
unit is rounded in tables, :data:`HEADLINE_KPIS` the ones summaries open with, and
:data:`HIGHER_IS_BETTER`, :data:`LOWER_IS_BETTER` and :data:`NO_DIRECTION` (with
:func:`better_for_bank`) the one definition of a "better" delta. Their per-path values are
computed in :mod:`solver.scenarios.kpis`.

Recovery within and beyond the horizon (session 17 review). ``recovery_rate`` counts the
discounted cash of the simulated months only: the payments of months 1…H and the
recoveries of the defaults in months 1…H (received up to L months after H). A scenario
that lengthens plans moves cash past H and so looked as if it recovered less while the
model's NPV said more. Decision: ``recovery_rate`` keeps its name and meaning (sweeps,
baselines and reports compare it run to run) and its description says "within the
horizon"; ``recovery_rate_total`` adds the model value beyond the horizon of the accounts
open at H (``value_beyond_horizon``: their remaining scheduled payments and the recoveries
of their later defaults, valued by the one evaluator,
:func:`solver.scenarios.decisions.residual_values`), i.e. ``total_value_discounted /
opening_balance``, whose mean over paths converges to the evaluator's NPV of the whole
schedules over the opening balance. It is a headline KPI beside ``recovery_rate``.

The opening balance is the book's, for every run (session 23 review). ``opening_balance``
was the plans' balance of month 1, so the fees and interest a plan waives and the principal
it cuts vanished from every KPI, and a scenario's recovery_rate and loss_rate were divided
by a different balance from its baseline's (generous_policy vs baseline on 300 accounts:
18,485,244.08 vs 18,486,653.32 for one book of 18,488,873.71). Decision: ``opening_balance``
is what the book says the accounts owe before any plan (``principal + interest_due +
fees_due``, :func:`solver.core.account.balance_owed`), the same for every scenario
on one book, so every ratio over it compares run to run; ``concession_forgiven`` is what
the plans forgive (book balance − the plans' balance of month 1: waivers and haircuts) and
``forgiven_rate`` its share of the opening balance, so the money a generous policy gives
away is a KPI of its own and ``recovery_rate``, ``loss_rate`` and ``forgiven_rate`` share
one denominator.
"""

from __future__ import annotations

import math

__all__ = [
    "HEADLINE_KPIS",
    "HIGHER_IS_BETTER",
    "KPIS",
    "LOWER_IS_BETTER",
    "NO_DIRECTION",
    "UNIT_DECIMALS",
    "better_for_bank",
]

#: Money KPIs are rounded to the cent in tables; ratios to 6 decimals; counts to 2.
UNIT_DECIMALS = {"CNY": 2, "ratio": 6, "accounts": 2, "DTI": 4}

#: The headline KPIs: :meth:`ScenarioResult.summary` prints them, and the report's key KPIs
#: open with them.
HEADLINE_KPIS = (
    "cash_collected_discounted",
    "recovery_rate",
    "recovery_rate_total",
    "credit_loss",
    "default_rate",
    "npl_ratio_at_horizon",
    "collection_cost",
)

#: KPI name → (unit, description). The order is the order of every table.
KPIS: dict[str, tuple[str, str]] = {
    "accounts": ("accounts", "accounts in the portfolio"),
    "opening_balance": (
        "CNY",
        "balance the book says is owed before any plan (principal + interest due + fees due), "
        "the same for every scenario on the book",
    ),
    "concession_forgiven": (
        "CNY",
        "what the plans forgive: fee and interest waivers and principal haircuts (opening "
        "balance − the plans' balance of month 1)",
    ),
    "forgiven_rate": ("ratio", "concession forgiven / opening balance"),
    "cash_collected": (
        "CNY",
        "payments plus recoveries, nominal (recoveries of defaults within the horizon, "
        "received up to L months after it)",
    ),
    "cash_collected_discounted": (
        "CNY",
        "payments plus recoveries discounted at the cost of funds (the realised NPV)",
    ),
    "payments_collected": ("CNY", "scheduled payments received, nominal"),
    "recoveries": ("CNY", "collateral and unsecured recoveries after default, nominal"),
    "recovery_rate": (
        "ratio",
        "discounted cash collected within the horizon / opening balance (payments of months "
        "1..H, recoveries of defaults in months 1..H; see recovery_rate_total)",
    ),
    "recovery_rate_total": (
        "ratio",
        "total value discounted / opening balance: recovery_rate plus the model value "
        "beyond the horizon of the accounts open at it (comparable across plan lengths)",
    ),
    "value_beyond_horizon": (
        "CNY",
        "model value (discounted) of the payments and recoveries still expected after the "
        "horizon from accounts open at the horizon",
    ),
    "total_value_discounted": (
        "CNY",
        "discounted cash collected plus the value beyond the horizon (comparable across "
        "plans of different lengths)",
    ),
    "credit_loss": (
        "CNY",
        "exposure at default not recovered, nominal (its mean is the expected loss)",
    ),
    "loss_rate": ("ratio", "credit loss / opening balance"),
    "defaults": ("accounts", "defaults within the horizon (each is a charge-off)"),
    "default_rate": ("ratio", "defaults / accounts"),
    "exposure_at_default": ("CNY", "balance owed at the defaults"),
    "balance_at_horizon": ("CNY", "balance still owed by open accounts at the horizon"),
    "npl_ratio_at_horizon": ("ratio", "M3+ share of the open balance at the horizon"),
    "npl_ratio_peak": (
        "ratio",
        "highest M3+ share of the open balance over months 1..H, after the plans start "
        "(month 0, the opening book, is left out: see monthly.csv)",
    ),
    "npl_share_at_horizon": ("ratio", "M3+ share of the open accounts at the horizon"),
    "collection_cost": ("CNY", "cost of the allocated collection treatments"),
    "net_collected_discounted": ("CNY", "discounted cash collected minus collection cost"),
    "net_total_value_discounted": (
        "CNY",
        "total value (within and beyond the horizon) minus collection cost",
    ),
    "dti_mean": (
        "DTI",
        "customer burden: mean over accounts of (other_debt + payment)/expected income, "
        "averaged over each schedule's payment months",
    ),
    "dti_p90": (
        "DTI",
        "90th percentile over accounts of that debt-to-income (NaN above 1,000: "
        "solver.scenarios.path_outcomes.DTI_MAX)",
    ),
    "accounts_restructured": ("accounts", "accounts put on a restructuring plan"),
    "restructured_share": ("ratio", "accounts restructured / accounts"),
    "unemployed_accounts": ("accounts", "accounts hit by the unemployment shock"),
}


#: Every KPI in one of three sets (a test checks that they cover :data:`KPIS` exactly): the
#: one definition of "better" for every coloured delta (``kpi_deltas.png`` and the HTML
#: report's tables). Rises good for the bank: value and cash collected, recovery, and
#: restructuring (the share with the count).
HIGHER_IS_BETTER = frozenset(
    {
        "total_value_discounted",
        "net_total_value_discounted",
        "value_beyond_horizon",
        "cash_collected",
        "cash_collected_discounted",
        "payments_collected",
        "recoveries",
        "recovery_rate",
        "recovery_rate_total",
        "net_collected_discounted",
        "accounts_restructured",
        "restructured_share",
    }
)

#: Rises bad for the bank (or its customers): losses, defaults, NPL, cost, what concessions
#: forgive, the customers' burden.
LOWER_IS_BETTER = frozenset(
    {
        "concession_forgiven",
        "forgiven_rate",
        "credit_loss",
        "loss_rate",
        "defaults",
        "default_rate",
        "exposure_at_default",
        "npl_ratio_at_horizon",
        "npl_ratio_peak",
        "npl_share_at_horizon",
        "collection_cost",
        "dti_mean",
        "dti_p90",
    }
)

#: KPIs whose change is neither good nor bad: the book itself (they differ only when a
#: baseline runs on another book), the shock's reach (an input), and the balance still owed
#: at the horizon (more of it is value kept on a longer plan, or exposure left).
NO_DIRECTION = frozenset(
    {"accounts", "opening_balance", "unemployed_accounts", "balance_at_horizon"}
)


def better_for_bank(kpi: str, delta: float) -> bool | None:
    """Whether a change of ``delta`` in ``kpi`` is good for the bank (``None``: no change,
    not a number, or a KPI without a better direction, :data:`NO_DIRECTION`)."""
    if kpi not in HIGHER_IS_BETTER | LOWER_IS_BETTER or not math.isfinite(delta) or delta == 0:
        return None
    return (delta > 0) == (kpi in HIGHER_IS_BETTER)
