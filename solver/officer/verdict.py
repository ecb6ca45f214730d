"""The verdicts on a customer's counter-offer (:mod:`solver.officer.counter_offer`).

A module of its own, without the solver's heavy imports, so that the command line can
key its colours by the enum (``commands.output.VERDICT_COLOURS``) without loading the
plan search at start-up.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Verdict"]


class Verdict(StrEnum):
    """What the officer may do with a counter-offer.

    ACCEPTABLE
        Within policy and it beats the status quo: it may be offered.
    NPV_TEST_FAILED
        Within policy but worth less to the bank than the contract as it stands.
    BREAKS_POLICY
        A policy rule is broken (the violations say which, and in which months).
    CONTRACT_AFFORDABLE
        The policy's ``need_test`` is on and the customer can afford the contract in every
        month: no proposal is needed, keep the contract (``workout plan``'s status of the
        same name).
    """

    ACCEPTABLE = "ACCEPTABLE"
    NPV_TEST_FAILED = "NPV_TEST_FAILED"
    BREAKS_POLICY = "BREAKS_POLICY"
    CONTRACT_AFFORDABLE = "CONTRACT_AFFORDABLE"
