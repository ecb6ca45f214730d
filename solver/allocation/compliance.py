"""Compliance rules of collection contact (SPEC §5, §8) and the eligibility they give.

:class:`Compliance` holds the bank's rules (contact window, call limits, no-contact flags,
hardship, gentle treatment, language match), read from the ``[compliance]`` table of
``scenarios/treatments.toml`` by :class:`~solver.allocation.catalogue.Catalogue`, on the
floor of a jurisdiction profile (:mod:`solver.allocation.jurisdiction`: the catalogue
refuses a looser setting; the profile's protected flags always stop contact).
:func:`eligibility` applies them, with each treatment's own tiers, buckets, balance range,
consent and team coverage, to every account and treatment at once, and records the rule
behind every exclusion (:data:`REASONS`, :func:`reason_text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from solver.allocation.jurisdiction import (
    DEFAULT_JURISDICTION,
    RULES,
    Profile,
    floor_problems,
    load_profile,
)
from solver.domain import BUCKETS, TIERS

if TYPE_CHECKING:  # annotations only (the catalogue imports this module)
    from solver.allocation.catalogue import Catalogue
    from solver.allocation.teams import Teams
    from solver.allocation.treatments import Treatment

__all__ = [
    "NO_CONTACT_FLAGS",
    "REASONS",
    "Compliance",
    "Eligibility",
    "eligibility",
    "flag_column",
    "in_values",
    "label_codes",
    "language_codes",
    "normal_language",
    "reason_text",
    "text_codes",
    "text_column",
    "unserved_language_note",
    "unserved_languages",
]

#: Account flags that forbid every collection contact by default.
NO_CONTACT_FLAGS = ("cease_contact", "dispute", "bankruptcy", "has_plan")


@dataclass(frozen=True)
class Compliance:
    """Contact rules (SPEC §8), enforced as documented in ``scenarios/treatments.toml``.

    ``max_call_attempts_per_day``, ``no_call_days_after_conversation`` and
    ``hardship_max_contacts_per_day`` are enforced by the contact calendar
    (:mod:`solver.allocation.calendar`); the allocation is per week and cannot see them.
    """

    contact_start: float = 8.0
    contact_end: float = 22.0
    max_connected_calls_per_day: int = 3
    max_call_attempts_per_7_days: int = 7
    hardship_forbidden: tuple[str, ...] = ("field_visit", "legal")
    no_contact_flags: tuple[str, ...] = NO_CONTACT_FLAGS
    gentle_tiers: tuple[str, ...] = ("A", "B")
    gentle_buckets: tuple[str, ...] = ("M0", "M1")
    language_match: bool = True
    #: The jurisdiction profile these settings must not loosen (code or TOML path).
    jurisdiction: str = DEFAULT_JURISDICTION
    max_call_attempts_per_day: int = 6
    no_call_days_after_conversation: int = 0
    hardship_max_contacts_per_day: int = 24

    @property
    def profile(self) -> Profile:
        """The jurisdiction profile (:mod:`solver.allocation.jurisdiction`)."""
        return load_profile(self.jurisdiction)

    def blocking_flags(self) -> tuple[str, ...]:
        """Flags that stop all contact: the profile's protected flags and the bank's own."""
        return tuple(dict.fromkeys([*self.profile.protected_flags, *self.no_contact_flags]))

    def floor_problems(self, where: str) -> list[str]:
        """Settings looser than the jurisdiction's floor (each naming its legal source)."""
        settings = {k: getattr(self, k) for k in RULES if hasattr(self, k)}
        return floor_problems(settings, self.profile, where)

    def window_hours(self) -> float:
        """Hours per day in which contact is allowed."""
        return max(0.0, self.contact_end - self.contact_start)

    def shift_overlap_hours(self, start: float, end: float) -> float:
        """Hours of a daily shift ``[start, end)`` that fall inside the contact window."""
        return max(0.0, min(end, self.contact_end) - max(start, self.contact_start))


#: Reason codes of :class:`Eligibility` (0 = eligible). The rules are checked in the order
#: of :func:`eligibility`: the treatment's own tiers, buckets and balance (3, 4, 6) first,
#: then the compliance rules in code order (1, 2, 5, 7, 8; the replan steps add 9, 10).
REASONS = (
    "",
    "{flag}: no collection contact",
    "hardship: no {treatment}",
    "tier {tier}: no {treatment}",
    "{bucket}: no {treatment}",
    "gentle treatment for tier {tier} in {bucket}: no {treatment}",
    "balance {balance:,.0f} outside the {treatment} range",
    "no {consent}: no {treatment}",
    "no {team_type} team serves {region} in {language}",
    "broken plan in its cure window (replan): no {treatment}",
    "broken plan to be re-aged (replan): no {treatment}",
)


@dataclass(frozen=True, eq=False)
class Eligibility:
    """Per treatment (rows, catalogue order) and account (columns): the first failing rule.

    ``code[t, j] == 0`` means treatment ``t`` is allowed for account ``j``; otherwise it indexes
    :data:`REASONS`. ``team_ok[k, j]`` says whether team ``k`` may serve account ``j``
    (language and region), for the treatments that need a team.
    """

    code: np.ndarray
    team_ok: np.ndarray
    names: tuple[str, ...]

    @property
    def allowed(self) -> np.ndarray:
        """``T × n`` mask of allowed treatments."""
        return self.code == 0


def label_codes(values: Any, labels: Sequence[str]) -> np.ndarray:
    """Position of each value in ``labels`` (``-1`` when absent or missing), vectorised: the
    distinct values are looked up, then spread by their codes (a ``Categorical`` with the
    labels as categories would warn, and in pandas 4 raise, on a value that is no label)."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    codes, distinct = pd.factorize(series)
    position = {label: i for i, label in enumerate(labels)}
    found = [position.get(value, -1) for value in distinct]
    return np.asarray(np.r_[found, -1].astype(np.int64)[codes], dtype=np.int64)


def flag_column(portfolio: Any, name: str) -> np.ndarray:
    """A true/false column of the portfolio (false where the column or a value is missing)."""
    if name not in portfolio.columns:
        return np.zeros(len(portfolio), dtype=bool)
    return portfolio[name].to_numpy(dtype=bool, na_value=False)


def _text(portfolio: Any, name: str) -> Any:
    """A text column of the portfolio as a pandas Series (``""`` where the column or a value
    is missing)."""
    import pandas as pd

    if name not in portfolio.columns:
        return pd.Series("", index=portfolio.index, dtype=object)
    return portfolio[name].fillna("").astype(str)


def text_column(portfolio: Any, name: str) -> np.ndarray:
    """A text column of the portfolio (``""`` where the column or a value is missing)."""
    return np.asarray(_text(portfolio, name).to_numpy(dtype=object))


def text_codes(portfolio: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A text column (:func:`text_column`) as codes into its distinct values: ``(codes,
    values)`` with ``values[codes]`` the column (factorised from the column itself: no object
    array of every account's text is built)."""
    import pandas as pd

    codes, values = pd.factorize(_text(portfolio, name))
    return np.asarray(codes, dtype=np.int64), np.asarray(values, dtype=object)


def in_values(
    coded: tuple[np.ndarray, Sequence[str] | np.ndarray], wanted: Sequence[str]
) -> np.ndarray:
    """Whether each value of a coded column -- codes into its values, ``-1`` for none of
    them (:func:`text_codes`, or :func:`label_codes` with their labels) -- is one of
    ``wanted``: ``np.isin`` on the few values, looked up by code, never a search of every
    account's text."""
    codes, values = coded
    return np.r_[np.isin(np.asarray(values, dtype=object), list(wanted)), False][codes]


def normal_language(text: Any) -> str:
    """The one definition of a language as matched (SPEC §3 ``language``, a team's
    ``languages``): surrounding spaces stripped, lower case (``" ZH "`` is ``zh``); a missing
    value is ``""``, *unknown*."""
    return "" if text is None or text != text else str(text).strip().lower()


def language_codes(portfolio: Any) -> tuple[np.ndarray, np.ndarray]:
    """The book's ``language`` as codes into its distinct values (:func:`text_codes`), the
    values normalised by :func:`normal_language` (a missing column: all unknown)."""
    codes, values = text_codes(portfolio, "language")
    return codes, np.array([normal_language(v) for v in values], dtype=object)


def _language_ok(
    language: tuple[np.ndarray, np.ndarray], team: Any, comp: Compliance
) -> np.ndarray | None:
    """Which accounts ``team`` may serve by language (None: the team is not matched by
    language -- matching off, no ``languages`` list, or a legal team).

    An unknown (blank or missing) language puts no requirement on the team: it says
    nothing about what the customer speaks, and reading it as a language nobody speaks
    would silently take every call, visit and AI-voice call from a book without the
    (optional, SPEC §3) column (session 19 review: -42 % net on the demo book)."""
    if not comp.language_match or not team.languages or team.type == "legal":
        return None
    codes, values = language
    unknown = np.r_[values == "", False][codes]
    return in_values(language, [normal_language(x) for x in team.languages]) | unknown


def unserved_languages(portfolio: Any, catalogue: Catalogue, teams: Teams) -> dict[str, int]:
    """Accounts by (normalised) language that no team matched by language speaks (most
    first): they stay ineligible for every team-served treatment, which the caller warns
    about (``workout allocate``). Empty when some such team takes every language."""
    comp = catalogue.compliance
    language = language_codes(portfolio)
    checks = [_language_ok(language, team, comp) for team in teams.teams if team.type != "legal"]
    masks = [ok for ok in checks if ok is not None]
    if not masks or len(masks) < len(checks):  # no team, or one that takes every language
        return {}
    spoken = np.logical_or.reduce(masks)
    codes, values = language
    counts = np.bincount(codes[~spoken], minlength=len(values))
    found: dict[str, int] = {}
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        if count:
            found[value] = found.get(value, 0) + count
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def unserved_language_note(portfolio: Any, catalogue: Catalogue, teams: Teams) -> str | None:
    """One line for the accounts of :func:`unserved_languages` (None when there are none):
    ``12 accounts speak a language no team lists (fr: 10, de: 2); they get no agent_call,
    ... treatment``."""
    found = unserved_languages(portfolio, catalogue, teams)
    if not found:
        return None
    total = sum(found.values())
    names = [t.name for t in catalogue.treatments if t.human and t.team_type != "legal"]
    listed = ", ".join(f"{lang}: {count:,}" for lang, count in found.items())
    treatments = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    speak = "account speaks" if total == 1 else "accounts speak"
    return (
        f"{total:,} {speak} a language no team lists ({listed}); they get no "
        f"{treatments or 'team-served'} treatment"
    )


def eligibility(portfolio: Any, catalogue: Catalogue, teams: Teams) -> Eligibility:
    """Apply every rule of SPEC §5/§8 to every account and treatment (vectorised).

    Rules, in order (the first that fails is recorded): the treatment's tiers, dpd buckets
    and balance range (what the treatment is for: checked first, so that any other code is
    a compliance rule that alone excludes a treatment meant for the account, as the
    ``reason`` column reports it, :mod:`solver.allocation.reasons`); no-contact flags (the
    jurisdiction's protected flags and the bank's own) → only ``none``; hardship → none of
    ``compliance.hardship_forbidden``; gentle treatment for good tiers with short
    delinquency; contact consent; a team of the treatment's type that serves the account's
    region (field teams) and speaks its language (human calls and visits, and the robot's
    languages; languages compare by :func:`normal_language`, and an unknown language fits
    every team).
    """
    n = len(portfolio)
    comp = catalogue.compliance
    tier = label_codes(portfolio["tier"], TIERS), TIERS
    bucket = label_codes(portfolio["dpd_bucket"], BUCKETS), BUCKETS
    balance = (
        portfolio["principal"].to_numpy(dtype=np.float64)
        + portfolio["interest_due"].to_numpy(dtype=np.float64)
        + portfolio["fees_due"].to_numpy(dtype=np.float64)
    )
    hardship = flag_column(portfolio, "hardship")
    no_contact = np.zeros(n, dtype=bool)
    for flag in comp.blocking_flags():
        no_contact |= flag_column(portfolio, flag)
    gentle_acct = in_values(tier, comp.gentle_tiers) & in_values(bucket, comp.gentle_buckets)
    language = language_codes(portfolio)
    region = text_codes(portfolio, "region")

    team_ok = np.ones((len(teams.teams), n), dtype=bool)
    for k, team in enumerate(teams.teams):
        if team.regions:
            team_ok[k] &= in_values(region, team.regions)
        speaks = _language_ok(language, team, comp)
        if speaks is not None:
            team_ok[k] &= speaks

    code = np.zeros((len(catalogue.treatments), n), dtype=np.int8)

    def mark(row: int, mask: np.ndarray, reason: int) -> None:
        fresh = mask & (code[row] == 0)
        code[row][fresh] = reason

    for t_idx, t in enumerate(catalogue.treatments):
        if t.name == "none":
            continue
        # the treatment's own rules first: a compliance code then means that the treatment
        # was for the account and a compliance rule alone took it away (the reason column)
        mark(t_idx, ~in_values(tier, t.tiers), 3)
        mark(t_idx, ~in_values(bucket, t.dpd_buckets), 4)
        mark(t_idx, (balance < t.min_balance) | (balance > t.max_balance), 6)
        if t.contact:
            mark(t_idx, no_contact, 1)
        if t.name in comp.hardship_forbidden:
            mark(t_idx, hardship, 2)
        if not t.gentle:
            mark(t_idx, gentle_acct, 5)
        if t.consent:
            mark(t_idx, ~flag_column(portfolio, t.consent), 7)
        if t.human:
            of_type = [k for k, team in enumerate(teams.teams) if team.type == t.team_type]
            served = (
                np.asarray(team_ok[of_type].any(axis=0)) if of_type else np.zeros(n, dtype=bool)
            )
            mark(t_idx, ~served, 8)
    return Eligibility(code=code, team_ok=team_ok, names=catalogue.names)


def reason_text(
    code: int, *, account: Mapping[str, Any], treatment: Treatment, flags: str = ""
) -> str:
    """Human-readable text of a reason code for one account."""
    if code <= 0:
        return ""
    return REASONS[code].format(
        flag=flags or "no-contact flag",
        treatment=treatment.name,
        tier=account.get("tier", "?"),
        bucket=account.get("dpd_bucket", "?"),
        balance=float(account.get("balance", 0.0)),
        consent=treatment.consent or "consent",
        team_type=treatment.team_type,
        region=account.get("region", "?") or "?",
        language=account.get("language", "?") or "?",
    )
