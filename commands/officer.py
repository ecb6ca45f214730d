"""``workout evaluate`` and ``workout offer``: the restructuring officer's counter-offer and
offer letter (parse, call, format).

Business logic lives in :mod:`solver.officer`; the account options (file, ``--account-id``,
``--set``, ``--policy``, ``--model``, ``--forecast``) are read exactly as ``workout plan``
reads them (:mod:`commands.officer_options`); the tables and summaries are
:mod:`commands.officer_output`'s, the letter file :mod:`commands.letter_file`'s.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from commands.audit import db_option, letter_out_option
from commands.letter_file import letter_path_check, write_letter
from commands.officer_options import AccountInput, account_options, proposal_options
from commands.officer_output import offer_summary, render_counter, render_offer
from commands.options import choice_option, file_option
from commands.output import (
    as_of_date,
    as_of_option,
    check_out,
    emit,
    format_option,
    objective_options,
    out_option,
    write_out,
    wrote,
)


@click.command("evaluate")
@account_options
@proposal_options
@format_option(
    "Here json is the evaluation (figures, violations, verdict, nearest plan, schedule); "
    "csv the comparison table."
)
@out_option(
    "the comparison table (counter-offer, status quo, recommended and nearest plan)",
    "A .json file holds the whole evaluation (as --format json prints it), an .xlsx file "
    "also the schedules: the counter-offer's (sheet schedule) and the nearest plan's "
    "(nearest_schedule).",
    dest="out_path",
)
@as_of_option()
def evaluate(
    source: AccountInput, proposal: Any, fmt: str, out_path: Path | None, as_of: Any
) -> int:
    """Evaluate a customer's counter-offer: figures, policy check, NPV test, nearest plan.

    The proposal is booked like an instalment plan (principal, accrued interest and fees
    restructured at the contract rate; the last payment clears the balance) and evaluated
    by the behaviour model, on the same scale as the options of `workout plan`. The
    verdict is ACCEPTABLE (within policy, beats the status quo), NPV_TEST_FAILED or
    BREAKS_POLICY (the rules broken, by month); for these two the nearest feasible plan
    is named (the offered plan whose payments differ least from the proposal's). With
    the policy's need_test (--set policy.need_test=true) and a contract the customer can
    afford in every month it is CONTRACT_AFFORDABLE (keep the contract), as `workout
    plan` reports; without it the explanation says when the contract itself is
    affordable. The schedule (and the nearest plan's) is in --format json and in an .xlsx
    --out, month t due t months after --as-of (default today), as `workout plan` dates it.

    Exit code 0 with any verdict (CONTRACT_AFFORDABLE too, as for `workout plan`); 3
    when the proposal breaks the policy and no plan satisfies it either.

    \b
    Examples:
      workout evaluate scenarios/sample_account.toml --payments '0*3,2500*40'
      workout evaluate scenarios/sample_account.toml --term 36 --holiday 3 --amount 2000
      workout evaluate scenarios/sample_account.toml --amount 1500 --format json
      workout evaluate scenarios/sample_account.toml --amount 1500 --as-of 2026-05-04 \\
          --out out/evaluation.xlsx
      workout evaluate tests/data/portfolio/tiny.csv --account-id T002 --term 48
    """
    from solver.errors import InfeasibleError, InputError
    from solver.officer.counter_offer import Verdict, evaluate_counter_offer
    from solver.officer.documents import counter_offer_document, counter_offer_sheets

    check_out(out_path, inputs=source.inputs)
    if proposal is None:
        raise InputError("give the proposal: --payments LIST, or --term/--holiday/--amount")
    account, policy, model = source.load()
    offer = evaluate_counter_offer(account, proposal, policy, model)
    start = as_of_date(as_of)  # month t of every schedule shown is due t months later
    payload = counter_offer_document(offer, as_of=start)
    sheets = counter_offer_sheets(offer, as_of=start)  # the comparison, then the schedules
    table = sheets["comparison"]
    if out_path is not None:
        write_out(out_path, table, sheet_name="comparison", payload=payload, sheets=sheets)
    if fmt == "table":
        render_counter(offer, policy.currency)
        wrote(out_path, fmt)
    else:
        emit(fmt, table=table, payload=payload)
    if offer.verdict == Verdict.BREAKS_POLICY and offer.nearest is None:
        raise InfeasibleError(f"account {offer.account_id}: the counter-offer {offer.explanation}")
    return 0


@click.command("offer")
@account_options
@click.option(
    "--option",
    "option_name",
    required=True,
    metavar="NAME",
    help="The plan to offer: an option label `workout plan` prints with the same --objective,"
    " --within and --thorough (custom, deferral/capitalize, the recommended or a frontier plan"
    " such as 'deferral/interest_only 4+29m'), the best of a family such as deferral, or "
    "counter_offer with the proposal options.",
)
@letter_out_option(
    "Write the offer letter to this file (atomically): .html (printable, with print CSS) "
    "or .pdf (the same letter rendered by WeasyPrint)."
)
@proposal_options
@choice_option(
    "--lang",
    ["zh-en", "zh", "en"],
    "Letter language: Chinese and English side by side, Chinese, or English.",
)
@as_of_option(
    "Date of the letter; month t of the schedule falls due t months later (default: today)."
)
@file_option(
    "--letter-settings",
    "TOML with the bank's letter settings (bank_name_zh, bank_name_en, hotline, "
    "grace_days, cancel_after_missed, valid_days, ...; see scenarios/letter.toml).",
    dest="letter_settings_path",
)
@click.option(
    "--officer",
    "officer_id",
    default=None,
    metavar="ID",
    help="Record the offer in the audit trail under this officer id (inputs, policy and "
    "model versions, every option shown, the choice, the letter's hash).",
)
@db_option
@click.option(
    "--thorough",
    is_flag=True,
    help="Plan as plan --thorough does (finer custom/step search, custom over every "
    "amount): the letter then holds the plan `workout plan --thorough` shows.",
)
@objective_options
@format_option(
    "Here json is the offer's summary (letter file, SHA-256, APR, totals, validity, the "
    "audit record); csv the same as one row."
)
def offer(
    source: AccountInput,
    option_name: str,
    out_path: Path,
    proposal: Any,
    lang: str,
    as_of: dt.date | None,
    letter_settings_path: Path | None,
    officer_id: str | None,
    db_url: str,
    thorough: bool,
    objective: str,
    within_pct: float,
    fmt: str,
) -> int:
    """Write the printable offer letter of one plan (bilingual zh/en HTML, or PDF).

    The letter holds the schedule to the cent with due dates, the APR disclosure
    (明示年化利率), the finance charge, amount financed and total of payments, what the
    customer owes today and under the current contract, what happens if a payment is
    missed, the customer's rights, and the date until which the offer is open.

    --option takes every label `workout plan` prints for the account with the same
    --objective, --within and --thorough: the recommended plan (with --objective customer a
    plan at chosen terms), each family's best, and the frontier's plans; the letter holds
    that plan's schedule and figures as `workout plan` shows them.

    With --officer ID the offer is recorded in the audit trail (--db) before the letter
    is in place: no letter without its record. Without it nothing is recorded.

    Exit code 3 when the option has no feasible plan or the counter-offer breaks the
    policy; an option that fails the NPV test, or that the policy's need_test finds not
    needed (the contract is affordable: `workout plan` says CONTRACT_AFFORDABLE), is
    written with a note on stderr.

    \b
    Examples:
      workout offer scenarios/sample_account.toml --option custom --out out/letter.html
      workout offer scenarios/sample_account.toml --option custom --lang zh --out out/letter.pdf
      workout offer scenarios/sample_account.toml --option deferral/capitalize \\
          --lang en --as-of 2026-05-04 --out out/letter.html
      workout offer scenarios/sample_account.toml --option counter_offer \\
          --payments '0*3,2500*40' --out out/counter.html
      workout offer scenarios/sample_account.toml --option custom --officer OF-1024 \\
          --db sqlite:///workout.db --out out/letter.html
      workout offer tests/data/portfolio/tiny.csv --account-id T002 --option custom \\
          --thorough --out out/letter-T002.html
      workout offer scenarios/sample_account.toml --objective customer --within 2 \\
          --option "deferral/interest_only 4+29m" --out out/letter.html
    """
    import contextlib

    from solver.officer.documents import COUNTER_OFFER, plan_result
    from solver.officer.letter import LetterSettings, letter_sha256, render_letter
    from solver.officer.offers import check_plan_label, choose_offer

    if option_name != COUNTER_OFFER:  # a plainly wrong label fails before the search
        check_plan_label(option_name, "--option")
    letter_path_check(out_path, {**source.inputs, "--letter-settings": letter_settings_path})
    letter_settings = (
        LetterSettings.from_toml(letter_settings_path) if letter_settings_path else LetterSettings()
    )
    trail = None
    if officer_id is not None:  # a bad officer id or database fails before any work
        from solver.service.audit.record import check_officer_id
        from solver.service.audit.trail import AuditTrail

        officer_id = check_officer_id(officer_id, "--officer")
        trail = AuditTrail(db_url)
    account, policy, model = source.load()
    # the same search and choice as `workout plan [--thorough] [--objective ... --within ...]`:
    # the letter holds the plan shown there, under the label shown there
    plans = plan_result(
        account, policy, model, objective=objective, within_pct=within_pct, thorough=thorough
    )
    choice = choose_offer(
        account,
        option_name,
        plans,
        policy=policy,
        model=model,
        proposal=proposal,
        as_of=as_of,
        valid_days=letter_settings.valid_days,
    )
    html = render_letter(choice.offer, letter_settings, lang)
    receipt = None
    with contextlib.closing(trail) if trail is not None else contextlib.nullcontext():
        with write_letter(out_path, html):
            if trail is not None:
                from solver.service.audit.record import decision_record

                record = decision_record(
                    account,
                    choice.plans,  # with a frontier plan chosen, that plan too
                    officer_id=str(officer_id),
                    policy=policy.for_product(account.product),
                    model=model,
                    chosen_option=choice.offer.label,
                    letter_html=html,
                    settings=source.settings,
                    proposal=proposal,
                    counter=choice.counter,
                )
                receipt = trail.append(record)
    for note in choice.notes:
        click.echo(f"note: {note}", err=True)
    summary = offer_summary(choice.offer, out_path, letter_sha256(html))
    summary["currency"] = policy.currency
    summary["audit_record"] = None if receipt is None else receipt.seq
    summary["audit_row_hash"] = None if receipt is None else receipt.row_hash
    if fmt == "table":
        render_offer(summary)
    else:
        import pandas as pd

        emit(fmt, table=pd.DataFrame([summary]), payload=summary)
    return 0
