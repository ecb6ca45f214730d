"""``workout evaluate`` and ``workout offer``: the restructuring officer's counter-offer and
offer letter (parse, call, format).

Business logic lives in :mod:`solver.officer`; the account options (file, ``--account-id``,
``--set``, ``--policy``, ``--model``, ``--forecast``) are read exactly as ``workout plan``
reads them.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from commands import accounts
from commands.audit import db_option, letter_out_option
from commands.common import SHARED_HELP, choice_option, file_option
from commands.output import (
    VERDICT_COLOURS,
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
from commands.sources import input_path
from commands.tables import MIN_TEXT_WIDTH, Column, print_fitted
from solver.officer.pdf import HTML_SUFFIXES

#: Suffixes of an offer letter file.


@dataclass(frozen=True)
class AccountInput:
    """The account options of a command: the file, the id in a book, the settings and the
    policy, model and forecast files (read as ``workout plan`` reads them)."""

    account_file: Path
    account_id: str | None
    settings: tuple[str, ...]
    policy_path: Path | None
    model_path: Path | None
    forecast_path: Any

    @property
    def inputs(self) -> dict[str, Path | None]:
        """The files read, by option, for :func:`commands.output.check_out`."""
        return {
            "ACCOUNT_FILE": self.account_file,
            "--policy": self.policy_path,
            "--model": self.model_path,
            "--forecast": input_path(self.forecast_path),
        }

    def load(self) -> tuple[Any, Any, Any]:
        """The account (with ``--set`` what-ifs), the policy and the behaviour model."""
        return accounts.load_account(
            self.account_file,
            self.account_id,
            self.forecast_path,
            self.policy_path,
            self.model_path,
            self.settings,
        )


def account_options(func: Any) -> Any:
    """ACCOUNT_FILE and the options that pick and adjust the account (as ``workout plan``);
    the command receives them as one :class:`AccountInput` (``source``)."""

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        fields = AccountInput.__dataclass_fields__
        source = AccountInput(**{name: kwargs.pop(name) for name in fields})
        return func(source=source, **kwargs)

    decorators = (
        click.argument("account_file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option(
            "--account-id",
            "account_id",
            default=None,
            metavar="ID",
            help="This account of a portfolio file (CSV, Parquet, Excel, or TOML/JSON "
            "with several accounts); the whole book is validated.",
        ),
        accounts.ACCOUNT_SET_OPTION,
        accounts.policy_model_options(
            "Policy TOML (default: scenarios/policy.toml values).", SHARED_HELP["--model"]
        ),
        accounts.forecast_option("Rows of other accounts are errors."),
    )
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def proposal_options(func: Any) -> Any:
    """The customer's proposal: ``--payments``, or ``--term``/``--holiday``/``--amount``;
    the command receives the :class:`~solver.officer.Proposal` or ``None`` (``proposal``)."""

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        names = ("payments", "term", "holiday", "holiday_mode", "amount")
        return func(proposal=_proposal(*(kwargs.pop(name) for name in names)), **kwargs)

    decorators = (
        click.option(
            "--payments",
            default=None,
            metavar="LIST",
            help="The proposed monthly payments from month 1, e.g. '0*3,1500*24,1200' "
            "(AMOUNT*MONTHS repeats an amount); the last one becomes what clears the "
            "balance.",
        ),
        click.option(
            "--term",
            type=click.IntRange(1, 600),
            default=None,
            help="Proposed total months, holiday included (without --amount: level "
            "instalments after the holiday).",
        ),
        click.option(
            "--holiday",
            type=click.IntRange(0, 599),
            default=0,
            show_default=True,
            help="Proposed months without instalments at the start.",
        ),
        choice_option(
            "--holiday-mode",
            ["capitalize", "interest_only", "waive"],
            "Interest during the holiday: added to the balance, paid, or waived.",
        ),
        click.option(
            "--amount",
            type=click.FloatRange(min=0.0, min_open=True),
            default=None,
            help="Proposed monthly instalment after the holiday (without --term: paid "
            "until the balance is cleared).",
        ),
    )
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def _proposal(
    payments: str | None, term: int | None, holiday: int, holiday_mode: str, amount: float | None
) -> Any:
    """The proposal the options describe, or ``None`` when none is given."""
    from solver.errors import InputError
    from solver.officer.proposal import Proposal, parse_payments

    if payments is None and term is None and amount is None:
        if holiday:
            raise InputError("--holiday: give --term and/or --amount with it")
        return None
    if payments is not None and (term is not None or amount is not None or holiday):
        raise InputError(
            "--payments: give either the payments or --term/--holiday/--amount, not both"
        )
    try:
        if payments is not None:
            return Proposal(payments=parse_payments(payments))
        return Proposal(term=term, holiday=holiday, holiday_mode=holiday_mode, amount=amount)
    except InputError as exc:  # name the option as it was given: "holiday: ..." -> "--holiday: ..."
        field, sep, rest = str(exc).partition(": ")
        if sep and field in ("payments", "term", "holiday", "holiday_mode", "amount"):
            raise InputError(f"--{field.replace('_', '-')}: {rest}") from None
        raise


def _money(x: float | None) -> str:
    import math

    return "—" if x is None or not math.isfinite(x) else f"{x:,.2f}"


_COMPARE_COLUMNS: tuple[Column, ...] = (
    Column("option", "left", 0),
    Column("term", "right", 3),
    Column("first payment", "right", 4, short="first\npayment"),
    Column("NPV", "right", 1),
    Column("Δ vs status quo", "right", 2, short="Δ vs\nstatus quo"),
    Column("PD 12m", "right", 5, short="PD\n12m"),
    Column("APR", "right", 7),
    Column("max DTI", "right", 6, short="max\nDTI"),
    Column("verdict / role", "left", 0, wraps=True, min_width=MIN_TEXT_WIDTH),
)


def _render_counter(offer: Any) -> None:
    from commands.common import console

    out = console(min_width=120)
    rows: list[tuple[list[str], str | None]] = []
    for row in _rows(offer):
        rows.append(
            (
                [
                    row["option"],
                    str(row["term"]),
                    _money(row["first_payment"]),
                    _money(row["npv"]),
                    "" if row["option"] == "status_quo" else f"{row['npv_vs_status_quo']:+,.2f}",
                    f"{row['pd_12m']:.1%}",
                    f"{row['apr']:.2%}",
                    f"{row['max_dti']:.2f}",
                    str(row["verdict"]),
                ],
                "bold" if row["option"] == "counter_offer" else "dim",
            )
        )
    print_fitted(out, f"Counter-offer for {offer.account_id} (CNY)", _COMPARE_COLUMNS, rows)
    colour = VERDICT_COLOURS[offer.verdict]
    out.print(f"[bold {colour}]{offer.verdict}[/]: {offer.explanation}", highlight=False)
    for note in offer.booked.notes:
        out.print(f"note: {note}", highlight=False)


def _rows(offer: Any) -> list[dict[str, Any]]:
    from solver.officer.documents import counter_offer_rows

    return counter_offer_rows(offer)


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
        _render_counter(offer)
        wrote(out_path, fmt)
    else:
        emit(fmt, table=table, payload=payload)
    if offer.verdict == Verdict.BREAKS_POLICY and offer.nearest is None:
        raise InfeasibleError(f"account {offer.account_id}: the counter-offer {offer.explanation}")
    return 0


def letter_path_check(path: Path, inputs: dict[str, Any]) -> None:
    """Refuse, before any work, a letter path that is not .html/.pdf, cannot be written,
    or asks for a PDF on a machine that cannot make one."""
    from solver.core.atomic import check_writable
    from solver.errors import InputError
    from solver.officer.pdf import HTML_SUFFIXES, PDF_SUFFIXES, pdf_renderer

    suffix = path.suffix.lower()
    if suffix not in HTML_SUFFIXES + PDF_SUFFIXES:
        raise InputError(
            f"--out {path}: an offer letter is HTML or PDF: give a file ending in .html or "
            f".pdf (got {path.suffix or 'no extension'!r})"
        )
    if suffix in PDF_SUFFIXES:
        pdf_renderer(f"--out {path}")
    check_writable(path, option="--out", inputs=inputs)


def write_letter(path: Path, html: str) -> Any:
    """A context manager that writes the letter (HTML, or PDF by the suffix) atomically:
    the file appears when the block ends without an error."""
    import contextlib

    from solver.core.atomic import atomic_path
    from solver.officer.pdf import PDF_SUFFIXES, letter_pdf

    data = letter_pdf(html, f"--out {path}") if path.suffix.lower() in PDF_SUFFIXES else None

    @contextlib.contextmanager
    def writing() -> Any:
        with atomic_path(path) as tmp:
            if data is None:
                Path(tmp).write_text(html, encoding="utf-8", newline="\n")
            else:
                Path(tmp).write_bytes(data)
            yield

    return writing()


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

    from solver.officer.documents import plan_result
    from solver.officer.letter import LetterSettings, letter_sha256, render_letter
    from solver.officer.offers import choose_offer

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
    summary = _offer_summary(choice.offer, out_path, letter_sha256(html))
    summary["currency"] = policy.currency
    summary["audit_record"] = None if receipt is None else receipt.seq
    summary["audit_row_hash"] = None if receipt is None else receipt.row_hash
    if fmt == "table":
        _render_offer(summary)
    else:
        import pandas as pd

        emit(fmt, table=pd.DataFrame([summary]), payload=summary)
    return 0


def _offer_summary(offer: Any, path: Path, sha256: str) -> dict[str, Any]:
    """What ``offer`` prints; ``sha256`` is the letter's HTML's (the audit trail's record,
    also for a PDF letter, which is a rendering of that HTML)."""
    return {
        "account_id": offer.account_id,
        "option": offer.label,
        "letter": str(path),
        "sha256": sha256,
        "as_of": offer.as_of.isoformat(),
        "valid_until": offer.valid_until.isoformat(),
        "term": offer.schedule.term,
        "first_due": offer.first_due.isoformat(),
        "apr": offer.apr,
        "amount_financed": offer.amount_financed,
        "finance_charge": offer.finance_charge,
        "total_of_payments": offer.total_of_payments,
        "npv": offer.figures.get("npv"),
        "npv_vs_status_quo": offer.figures.get("npv_vs_status_quo"),
    }


def _render_offer(summary: dict[str, Any]) -> None:
    from commands.common import console
    from solver.core.currency import format_amount

    out = console()
    code = summary["currency"]
    # The term counts from the letter's date (as_of), as the letter's "Term" row does:
    # month t falls due t months after it, holiday months included, so the last payment is
    # `term` months after as_of. Counted from the first due date (as this line did), a plan
    # with a 3-month holiday seemed to end 4 months later than its letter says.
    out.print(
        f"offer {summary['option']} for {summary['account_id']}: {summary['term']} months from "
        f"{summary['as_of']} (first payment due {summary['first_due']}), APR "
        f"{summary['apr']:.2%}, total of payments "
        f"{format_amount(summary['total_of_payments'], code)} {code} (finance charge "
        f"{format_amount(summary['finance_charge'], code)}); open until {summary['valid_until']}",
        highlight=False,
    )
    hashed = "sha256" if summary["letter"].lower().endswith(HTML_SUFFIXES) else "HTML sha256"
    out.print(f"wrote {summary['letter']} ({hashed} {summary['sha256']})", highlight=False)
    if summary["audit_record"] is not None:
        out.print(
            f"recorded as audit record {summary['audit_record']} (row hash "
            f"{summary['audit_row_hash']})",
            highlight=False,
        )
