"""The project's vocabulary, defined once (issue 14): tiers, delinquency buckets, plan
families, deferral modes and the statuses of every result.

Every module takes these names from here. The enums are ``StrEnum``: a member equals its
string (``Tier.A == "A"``), prints as it (``str(Status.OPTIMAL) == "OPTIMAL"``) and is
written as it to CSV, JSON, Parquet and Excel, so files and messages read the same as when
these were plain strings. The tuples beside them are the same names as plain strings, in
their display order, for code that indexes or builds arrays.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ABSORBING_STATES",
    "BUCKETS",
    "DEFAULT_DPD",
    "DEFAULT_TIME_LIMIT",
    "HISTORY_STATUSES",
    "CP_SAT_STATUS",
    "DEFAULT_CURRENCY",
    "DEFERRAL_MODES",
    "FAMILIES",
    "LEVEL_FAMILIES",
    "OFFERED_FAMILIES",
    "TIERS",
    "Bucket",
    "DeferralMode",
    "Family",
    "Status",
    "Tier",
    "cp_sat_status",
]


class Tier(StrEnum):
    """Risk tier of an account, A (best) to E (worst) (SPEC §3)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class Bucket(StrEnum):
    """Delinquency bucket by days past due: M0 (current), M1 (1–30), …, M4+ (over 90)."""

    M0 = "M0"
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4_PLUS = "M4+"


class Family(StrEnum):
    """A plan family (SPEC §6); ``waterfall`` is the HAMP-style reference, never offered."""

    INSTALMENT = "instalment"
    DEFERRAL = "deferral"
    STEP = "step"
    CONCESSION = "concession"
    SETTLEMENT = "settlement"
    CUSTOM = "custom"
    WATERFALL = "waterfall"


class DeferralMode(StrEnum):
    """What happens to interest during a payment holiday."""

    CAPITALIZE = "capitalize"
    INTEREST_ONLY = "interest_only"
    WAIVE = "waive"


class Status(StrEnum):
    """How far a result can be trusted, and what became of it: one vocabulary for plans,
    the GAP core and CP-SAT.

    Solve statuses (a plan family's search, the assignment core, a CP-SAT call):

    OPTIMAL
        The objective equals the proven bound (within the integrality of the data).
    FEASIBLE
        A solution that satisfies every constraint; its gap says how far from optimal.
    INFEASIBLE
        Proven that no solution satisfies the constraints.
    TIME_LIMIT
        The limit was reached before any feasible solution was found (CP-SAT ``UNKNOWN``).
    MODEL_INVALID
        CP-SAT rejected the model: a bug in the model building, never a user error.
    NOT_EVALUATED
        Not searched, because another result makes it unnecessary (a ``step`` plan when
        the ``custom`` plan is already a step plan).
    REFERENCE
        Evaluated, not optimised: the status quo and the waterfall reference.
    POLICY_INFEASIBLE
        A reference plan that breaks the policy. No longer produced (session 17: the
        waterfall walks on to the first step that passes the policy, else it is
        ``INFEASIBLE``); kept so that results and audit records written before still read.

    Plan outcomes (one account's ``plan`` / a row of ``plan-portfolio``):

    RECOMMENDED
        A plan passed the NPV test and is recommended.
    NPV_TEST_FAILED
        Plans exist but none beats the status quo by the policy's margin.
    CONTRACT_AFFORDABLE
        The contract meets the affordability rules in every month, so no plan is
        recommended (the policy's ``need_test``); the options are still listed.
    ERROR
        The account could not be planned (its error is reported beside it).
    """

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    TIME_LIMIT = "TIME_LIMIT"
    MODEL_INVALID = "MODEL_INVALID"
    NOT_EVALUATED = "NOT_EVALUATED"
    REFERENCE = "REFERENCE"
    POLICY_INFEASIBLE = "POLICY_INFEASIBLE"
    RECOMMENDED = "RECOMMENDED"
    NPV_TEST_FAILED = "NPV_TEST_FAILED"
    CONTRACT_AFFORDABLE = "CONTRACT_AFFORDABLE"
    ERROR = "ERROR"

    @property
    def has_solution(self) -> bool:
        """Whether a result with this status carries a feasible solution."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


TIERS: tuple[str, ...] = tuple(t.value for t in Tier)
BUCKETS: tuple[str, ...] = tuple(b.value for b in Bucket)
FAMILIES: tuple[str, ...] = tuple(f.value for f in Family)
#: The families offered to a customer (every family but the waterfall reference).
OFFERED_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILIES if f != Family.WATERFALL)
#: The families with level instalments (solved by enumerating a grid).
LEVEL_FAMILIES: tuple[str, ...] = (
    Family.INSTALMENT.value,
    Family.DEFERRAL.value,
    Family.CONCESSION.value,
    Family.SETTLEMENT.value,
    Family.WATERFALL.value,
)
DEFERRAL_MODES: tuple[str, ...] = tuple(m.value for m in DeferralMode)
#: Account status in a monthly payment history (issue 18): ``open`` (running), ``paid``
#: (closed, paid off) and ``charged_off`` (written off); the last two end the account's rows.
HISTORY_STATUSES: tuple[str, ...] = ("open", "paid", "charged_off")
#: The statuses that end an account (absorbing states of a roll-rate chain).
ABSORBING_STATES: tuple[str, ...] = HISTORY_STATUSES[1:]
#: Days past due at which a history's account is in default unless told otherwise (Basel's
#: "90 days past due"; a charge-off is a default at any dpd).
DEFAULT_DPD = 90

#: The currency of amounts unless the policy says otherwise (SPEC §2; ISO 4217).
DEFAULT_CURRENCY = "CNY"

#: ``allocate``'s and ``workout allocate``'s time limit, in seconds (here, not with the
#: solver: the command's option needs it without importing the solver).
DEFAULT_TIME_LIMIT = 60.0

#: Every CP-SAT status by name (``CpSolver.status_name``). ``UNKNOWN`` means the limit
#: came first; ``MODEL_INVALID`` is kept apart so a bug never reads as a time limit.
CP_SAT_STATUS: dict[str, Status] = {
    "OPTIMAL": Status.OPTIMAL,
    "FEASIBLE": Status.FEASIBLE,
    "INFEASIBLE": Status.INFEASIBLE,
    "UNKNOWN": Status.TIME_LIMIT,
    "MODEL_INVALID": Status.MODEL_INVALID,
}


def cp_sat_status(name: str) -> Status:
    """The :class:`Status` of a CP-SAT status name; an unknown name is an error."""
    try:
        return CP_SAT_STATUS[name]
    except KeyError:
        raise ValueError(f"unknown CP-SAT status {name!r}") from None
