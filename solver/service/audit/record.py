"""What one audit record holds: a decision on one account, with everything needed to
show later what was offered, on which inputs, under which policy and model.

:class:`DecisionRecord` is the record before it is appended (the trail adds the sequence
number, the time, the versions' hashes and the chain); :func:`decision_record` builds one
from the officer's objects. The officer id is recorded as given: it is not used for
anything else (no permission is derived from it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from solver.core.writers import json_safe
from solver.errors import InputError
from solver.officer.letter import software_version
from solver.service.audit.chain import canonical_json, sha256_text

#: What a record may say was decided.
ACTIONS = ("offer", "no_offer")
#: Longest officer id.
MAX_OFFICER_ID = 64


def check_officer_id(officer_id: str, option: str = "officer_id") -> str:
    """The officer id, stripped: 1 to 64 printable characters."""
    text = str(officer_id).strip()
    if not text or len(text) > MAX_OFFICER_ID or not text.isprintable():
        raise InputError(
            f"{option}: must be 1 to {MAX_OFFICER_ID} printable characters, got {officer_id!r}"
        )
    return text


@dataclass(frozen=True)
class DecisionRecord:
    """One decision before it is appended to the trail.

    Attributes
    ----------
    officer_id
        Who decided (recorded, not trusted for anything else).
    account_id, action, chosen_option
        The account, ``offer`` (a letter was issued) or ``no_offer``, and the option
        offered (a plan option's label or ``counter_offer``; ``none`` without an offer).
    inputs
        The account's fields, the what-ifs (``--set``) and the customer's proposal.
    policy, model
        The policy and behaviour-model parameters in force (their hashes are the versions).
    options
        Every option shown, with its NPV and status.
    letter_html
        The offer letter as issued (``None`` without an offer).
    """

    officer_id: str
    account_id: str
    action: str
    chosen_option: str
    inputs: Mapping[str, Any]
    policy: Mapping[str, Any]
    model: Mapping[str, Any]
    options: Sequence[Mapping[str, Any]]
    letter_html: str | None = None
    software_version: str = field(default_factory=software_version)

    def __post_init__(self) -> None:
        object.__setattr__(self, "officer_id", check_officer_id(self.officer_id))
        if self.action not in ACTIONS:
            raise InputError(f"action: must be one of {', '.join(ACTIONS)}, got {self.action!r}")
        if self.action == "offer" and self.letter_html is None:
            raise InputError("letter_html: an offer is recorded with its letter")
        for name, limit in (("account_id", 128), ("chosen_option", 64)):
            value = str(getattr(self, name))
            if not value or len(value) > limit:
                raise InputError(f"{name}: must be 1 to {limit} characters, got {value!r}")

    def columns(self) -> dict[str, Any]:
        """The record's columns as stored (JSON as canonical text, versions as hashes)."""
        policy = canonical_json(json_safe(dict(self.policy)))
        model = canonical_json(json_safe(dict(self.model)))
        return {
            "officer_id": self.officer_id,
            "account_id": str(self.account_id),
            "action": self.action,
            "chosen_option": str(self.chosen_option),
            "inputs": canonical_json(json_safe(dict(self.inputs))),
            "policy_hash": sha256_text(policy),
            "policy": policy,
            "model_hash": sha256_text(model),
            "model": model,
            "options": canonical_json(json_safe(list(self.options))),
            "letter_sha256": None if self.letter_html is None else sha256_text(self.letter_html),
            "letter_html": self.letter_html,
            "software_version": self.software_version,
        }


def option_summaries(plans: Any, counter: Any = None) -> list[dict[str, Any]]:
    """Every option shown to the officer: label, family, feasibility, NPV, Δ vs the status
    quo, status, and whether it was recommended (the counter-offer last, with its verdict)."""
    out = []
    for option in (plans.status_quo, *plans.options):
        out.append(
            {
                "label": option.label,
                "family": option.family,
                "feasible": option.feasible,
                "npv": option.npv,
                "npv_vs_status_quo": option.npv_vs_status_quo,
                "status": str(option.status),
                "recommended": option.label == plans.recommended,
            }
        )
    if counter is not None:
        out.append(
            {
                "label": "counter_offer",
                "family": "counter_offer",
                "feasible": not counter.violations,
                "npv": counter.figures["npv"],
                "npv_vs_status_quo": counter.figures["npv_vs_status_quo"],
                "status": str(counter.verdict),
                "recommended": False,
                "proposal": counter.proposal.describe(counter.policy.currency),
            }
        )
    return out


def decision_record(
    account: Any,
    plans: Any,
    *,
    officer_id: str,
    policy: Any,
    model: Any,
    chosen_option: str = "none",
    letter_html: str | None = None,
    settings: Sequence[str] = (),
    proposal: Any = None,
    counter: Any = None,
) -> DecisionRecord:
    """The record of an officer's decision on ``account`` (an offer when ``letter_html``).

    Parameters
    ----------
    plans
        The plan options shown (:class:`~solver.plans.PlanResult`).
    policy, model
        The :class:`~solver.core.Policy` and behaviour model in force.
    settings
        The what-ifs applied to the account (``KEY=VALUE``).
    proposal, counter
        The customer's proposal and its evaluation, when there was one.
    """
    inputs = {
        "account": account.to_dict(),
        "settings": list(settings),
        "proposal": None if proposal is None else proposal.to_dict(),
    }
    return DecisionRecord(
        officer_id=officer_id,
        account_id=str(account.account_id),
        action="offer" if letter_html is not None else "no_offer",
        chosen_option=chosen_option,
        inputs=inputs,
        policy=policy.to_dict(),
        model=model.to_dict(),
        options=option_summaries(plans, counter),
        letter_html=letter_html,
    )
