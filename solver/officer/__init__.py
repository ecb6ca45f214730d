"""The restructuring officer's tools (issue 16): a customer's counter-offer evaluated
against the policy and the NPV test, the offer chosen, and its printable letter.

* :mod:`~solver.officer.proposal` -- the customer's proposal and the schedule it books;
* :mod:`~solver.officer.counter_offer` -- its figures, policy check, verdict and the
  nearest feasible plan (the verdicts: :mod:`~solver.officer.verdict`; the policy check:
  :mod:`~solver.officer.policy_check`);
* :mod:`~solver.officer.dating` -- the as-of date plans and offers are dated from;
* :mod:`~solver.officer.offers` -- the offer an officer chooses (a plan option or the
  counter-offer), dated;
* :mod:`~solver.officer.letter` -- the bilingual offer letter (Jinja2 templates in
  ``templates/``);
* :mod:`~solver.officer.documents` -- the JSON documents the CLI and the service share;
* :mod:`~solver.officer.templating` -- Jinja2 environments and zh/en word lists.
"""

from __future__ import annotations

from solver._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Proposal": "solver.officer.proposal",
    "parse_payments": "solver.officer.proposal",
    "proposal_schedule": "solver.officer.proposal",
    "CounterOffer": "solver.officer.counter_offer",
    "Verdict": "solver.officer.verdict",
    "evaluate_counter_offer": "solver.officer.counter_offer",
    "schedule_figures": "solver.officer.counter_offer",
    "policy_violations": "solver.officer.policy_check",
    "nearest_option": "solver.officer.counter_offer",
    "AS_OF_FORMAT": "solver.officer.dating",
    "parse_as_of": "solver.officer.dating",
    "Offer": "solver.officer.offers",
    "OfferChoice": "solver.officer.offers",
    "COUNTER_OFFER": "solver.officer.offers",
    "choose_offer": "solver.officer.offers",
    "LetterSettings": "solver.officer.letter",
    "render_letter": "solver.officer.letter",
    "letter_sha256": "solver.officer.letter",
    "plan_result": "solver.officer.documents",
    "plan_document": "solver.officer.documents",
    "counter_offer_document": "solver.officer.documents",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
