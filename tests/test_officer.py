"""The officer's tools (issue 16, part a): counter-offers, offers and the offer letter.

Oracles: the plan optimizer's own plans (their reported figures and their policy
feasibility, computed by separate code), hand-built schedules from ``solver.core.amortisation``,
and the letter's figures recomputed from its schedule.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import replace
from datetime import date
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from cli_inprocess import run_workout

from solver.core import Account, Policy, level_plan, read_account
from solver.errors import InfeasibleError, InputError
from solver.officer import (
    LetterSettings,
    Proposal,
    Verdict,
    choose_offer,
    evaluate_counter_offer,
    nearest_option,
    parse_payments,
    policy_violations,
    proposal_schedule,
    render_letter,
    schedule_figures,
)
from solver.officer.counter_offer import payment_distance
from solver.officer.documents import counter_offer_document, plan_result
from solver.officer.proposal import ProposalSchedule, payments_text
from solver.plans import plan_options

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scenarios" / "sample_account.toml"
AS_OF = date(2026, 5, 4)


@pytest.fixture(scope="module")
def account() -> Account:
    return read_account(SAMPLE)


@pytest.fixture(scope="module")
def plans(account):
    return plan_options(account)


def _sha256(text: str) -> str:
    """The SHA-256 of a letter's UTF-8 text, computed here (not by the code under test)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the evaluator against the optimizer ------------------------------------------------------


def test_optimizer_plans_reproduce_their_figures_and_pass_the_policy_check(account, plans):
    """Every feasible plan of plan_options, evaluated here, has its reported figures
    (to 1e-9) and breaks no policy rule (two independent implementations agree)."""
    for option in plans.options:
        if not option.feasible:
            continue
        figures = schedule_figures(account, option.schedule)
        for key, value in option.metrics().items():
            assert figures[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (option.label, key)
        booked = ProposalSchedule(
            option.schedule,
            option.terms.deferral_months or 0,
            option.terms.deferral_mode or "capitalize",
        )
        assert policy_violations(account, booked, Policy()) == [], option.label


def test_status_quo_figures_match_the_plan_result(account, plans):
    """The status quo through schedule_figures has the status quo's reported figures."""
    figures = schedule_figures(account, plans.status_quo.schedule)
    assert figures["npv"] == pytest.approx(plans.status_quo.npv, rel=1e-12)
    assert figures["npv_vs_status_quo"] == 0.0 and figures["concession_cost"] == 0.0


# -- proposals ----------------------------------------------------------------------------------


def test_parse_payments_and_back():
    """AMOUNT*COUNT runs, separators and the inverse text."""
    assert parse_payments("0*3, 1500x2;1200.5") == (0, 0, 0, 1500, 1500, 1200.5)
    assert parse_payments("0 * 2 1500") == (0, 0, 1500)
    assert payments_text(parse_payments("0*3,1500*24,1200")) == "0*3, 1500*24, 1200"
    for bad in ("", "abc", "1500*0", "-5", "1500*601", "1,5e3"):
        with pytest.raises(InputError, match="--payments"):
            parse_payments(bad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "give the payments"),
        ({"payments": (100.0,), "term": 12}, "not both"),
        ({"payments": (0.0, 0.0)}, "every payment is 0"),
        ({"payments": (100.0, -1.0)}, "month 2"),
        ({"term": 12, "holiday": 12}, "holiday"),
        ({"term": 0}, "term"),
        ({"amount": -5.0}, "amount"),
        ({"term": 12, "holiday_mode": "skip"}, "holiday_mode"),
    ],
)
def test_bad_proposals_name_the_field(kwargs, message):
    """A proposal that cannot be booked is an InputError naming the field."""
    with pytest.raises(InputError, match=message):
        Proposal(**kwargs)


def test_term_and_holiday_book_the_deferral_family_schedule(account):
    """term + holiday without amount is the level plan the deferral family builds."""
    balance = account.principal + account.interest_due + account.fees_due
    for mode in ("capitalize", "interest_only", "waive"):
        booked = proposal_schedule(account, Proposal(term=40, holiday=3, holiday_mode=mode))
        expected = level_plan(
            balance, account.annual_rate, 40, deferral_months=3, deferral_mode=mode
        )
        assert np.array_equal(booked.schedule.payment, expected.payment), mode
        assert booked.deferral_months == 3 and booked.deferral_mode == mode


def test_amount_with_interest_only_holiday_pays_the_interest(account):
    """Interest-only holiday months pay exactly the month's interest, then the amount."""
    booked = proposal_schedule(
        account, Proposal(term=40, holiday=2, holiday_mode="interest_only", amount=2600)
    )
    s = booked.schedule
    s.check()
    assert np.array_equal(s.payment[:2], s.interest[:2]) and (s.principal[:2] == 0).all()
    assert (s.payments[2:-1] == 2600).all() and s.term == 40


def test_amount_without_term_runs_until_repaid(account):
    """An amount alone is paid until the balance clears; the note says when."""
    booked = proposal_schedule(account, Proposal(amount=3000))
    s = booked.schedule
    s.check()
    assert (s.payments[:-1] == 3000).all() and 0 < s.payments[-1] <= 3000
    assert f"repaid in month {s.term}" in booked.notes[0]
    with pytest.raises(InputError, match="does not repay"):
        proposal_schedule(account, Proposal(amount=100))  # below the monthly interest


def test_explicit_payments_clear_with_the_last_and_stop_when_repaid(account):
    """The last payment clears the balance; payments past the repayment are dropped."""
    short = proposal_schedule(account, Proposal(payments=(2000.0,) * 12))
    assert short.schedule.term == 12 and short.schedule.payments[-1] > 2000
    assert "what clears the balance" in short.notes[0]
    long = proposal_schedule(account, Proposal(payments=(5000.0,) * 40))
    assert long.schedule.term < 40 and "not needed" in long.notes[0]
    assert long.proposed_payments == (5000.0,) * long.schedule.term


# -- verdicts -------------------------------------------------------------------------------------


def test_acceptable_counter_offer(account, plans):
    """Within policy and beating the status quo: ACCEPTABLE, no nearest plan needed."""
    offer = evaluate_counter_offer(
        account, Proposal(payments=parse_payments("0*3,2500*40")), plans=plans
    )
    assert offer.verdict == Verdict.ACCEPTABLE and offer.violations == ()
    assert offer.npv_test_passed and offer.figures["npv"] > plans.status_quo.npv
    assert offer.nearest is None


def test_npv_test_failed_counter_offer():
    """A longer interest-free plan for a customer who can pay: worth less than the contract."""
    acc = Account.from_mapping(
        dict(account_id="Z", principal=20000, annual_rate=0.0, remaining_term=12,
             income=20000, expenses=3000, tier="A")
    )  # fmt: skip
    offer = evaluate_counter_offer(acc, Proposal(term=60))
    assert offer.verdict == Verdict.NPV_TEST_FAILED and not offer.npv_test_passed
    assert offer.nearest is not None and offer.nearest.npv > offer.plans.status_quo.npv
    assert "fails the NPV test" in offer.explanation


@pytest.mark.parametrize(
    "proposal, policy, rule, months",
    [
        (Proposal(amount=1500), Policy(), "max_term_months", ()),
        (Proposal(term=40, holiday=8), Policy(), "max_deferral_months", ()),
        (
            Proposal(term=40, holiday=2),
            Policy(deferral_interest=("waive",)),
            "deferral_interest",
            (),
        ),
        (Proposal(payments=(50.0,) * 3 + (2600.0,) * 40), Policy(), "min_payment", (1, 2, 3)),
        (Proposal(payments=(2600.5,) * 41), Policy(), "rounding", "all but the last"),
        (Proposal(payments=(6000.0,) * 2 + (2600.0,) * 40), Policy(), "max_dti", (1, 2)),
    ],
)
def test_policy_violations_name_rule_and_months(account, plans, proposal, policy, rule, months):
    """Each broken rule is named with its months; the verdict is BREAKS_POLICY with the
    nearest feasible plan."""
    offer = evaluate_counter_offer(account, proposal, policy, plans=plans)
    assert offer.verdict == Verdict.BREAKS_POLICY
    broken = {v.rule: v for v in offer.violations}
    assert rule in broken, offer.explanation
    if months == "all but the last":
        months = tuple(range(1, offer.schedule.term))
    if months:
        assert broken[rule].months == months
        assert re.search(r"months? \d", broken[rule].text)
    assert offer.nearest is not None and offer.nearest.feasible
    assert offer.nearest.label in offer.explanation


def test_nearest_plan_is_the_closest_passing_option(account, plans):
    """Brute force over the options: the nearest has the smallest payment distance among
    the feasible offered plans that pass the NPV test."""
    target = parse_payments("0*3,2000*33")
    best, distance = nearest_option(plans, target)
    passing = [
        o for o in plans.options
        if o.feasible and o.family != "waterfall" and o.npv > plans.status_quo.npv
    ]  # fmt: skip
    assert distance == min(payment_distance(o.payments, target) for o in passing)
    assert best in passing


def test_counter_offer_document_is_json_ready(account, plans):
    """The document has the verdict, the figures, violations and the schedule rows."""
    offer = evaluate_counter_offer(account, Proposal(term=36, holiday=3, amount=2000), plans=plans)
    doc = json.loads(json.dumps(counter_offer_document(offer), allow_nan=False))
    assert doc["verdict"] == "BREAKS_POLICY" and doc["nearest"]["label"] == offer.nearest.label
    assert len(doc["schedule"]) == offer.schedule.term
    assert doc["violations"][0]["rule"] == "max_dti" and doc["violations"][0]["months"] == [36]
    assert math.isclose(sum(r["payment"] for r in doc["schedule"]), doc["total_paid"])


# -- offers and the letter --------------------------------------------------------------------


def test_choose_offer_refuses_what_may_not_be_offered(account, plans):
    """Status quo and waterfall are references; infeasible options and a counter-offer
    that breaks the policy cannot be offered; proposal options need counter_offer."""
    for name in ("status_quo", "waterfall"):
        with pytest.raises(InputError, match="reference"):
            choose_offer(account, name, plans)
    with pytest.raises(InputError, match="no such option"):
        choose_offer(account, "holiday", plans)
    with pytest.raises(InfeasibleError, match="settlement"):
        choose_offer(account, "settlement", plans)
    with pytest.raises(InfeasibleError, match="Nearest feasible plan"):
        choose_offer(account, "counter_offer", plans, proposal=Proposal(term=36, amount=2000))
    with pytest.raises(InputError, match="counter_offer"):
        choose_offer(account, "custom", plans, proposal=Proposal(term=36))
    with pytest.raises(InputError, match="give the proposal"):
        choose_offer(account, "counter_offer", plans)


def _letter(account, plans, name="deferral/capitalize", lang="zh-en", settings=None):
    choice = choose_offer(account, name, plans, as_of=AS_OF)
    return choice.offer, render_letter(choice.offer, settings, lang)


def test_letter_schedule_reconciles_to_the_cent(account, plans):
    """The letter's schedule rows are the offer's, dated; totals and key figures agree."""
    offer, html = _letter(account, plans)
    rows = re.findall(
        r"<tr(?: class=\"holiday\")?><td>(\d+)</td><td>([\d-]+)</td><td>([\d,.]+)</td>", html
    )
    assert len(rows) == offer.schedule.term
    assert rows[0][1] == "2026-06-04" and rows[-1][1] == offer.schedule.due_dates[-1].isoformat()
    paid = sum(round(float(r[2].replace(",", "")) * 100) for r in rows)
    assert paid == int(offer.schedule.payment.sum())
    assert f"{offer.total_of_payments:,.2f}" in html and f"{offer.apr * 100:.2f}%" in html
    assert offer.finance_charge == pytest.approx(offer.total_of_payments - offer.amount_financed)
    assert "2026-05-18" in html  # open for 14 days
    offer.schedule.check()


def test_letter_has_the_required_sections_in_both_languages(account, plans):
    """APR disclosure, missed payment, rights, validity: in Chinese and in English."""
    _, html = _letter(account, plans)
    for words in ("明示年化利率", "Annual percentage rate", "如果未按时还款", "If a payment is missed",
                  "您的权利", "Your rights", "有效期", "open until", "还款总额", "Total of payments",
                  "@media print", "@page"):  # fmt: skip
        assert words in html, words
    _, english = _letter(account, plans, lang="en")
    assert "明示年化利率" not in english and "Annual percentage rate" in english
    _, chinese = _letter(account, plans, lang="zh")
    assert "Annual percentage rate" not in chinese and "明示年化利率" in chinese


def test_letter_is_deterministic_and_escapes_settings(account, plans):
    """The same offer gives the same bytes; settings text is escaped, not markup."""
    _, a = _letter(account, plans)
    _, b = _letter(account, plans)
    assert _sha256(a) == _sha256(b)
    evil = LetterSettings(bank_name_en="<script>alert(1)</script>", hotline="95500")
    _, html = _letter(account, plans, settings=evil)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html and "95500" in html


def test_letter_settings_from_toml(tmp_path):
    """The shipped example loads; unknown keys and bad values name the key."""
    settings = LetterSettings.from_toml(ROOT / "scenarios" / "letter.toml")
    assert settings.bank_name_en == "Sample Bank" and settings.valid_days == 14
    bad = tmp_path / "letter.toml"
    bad.write_text("[letter]\nvalid_dayz = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="valid_dayz"):
        LetterSettings.from_toml(bad)
    bad.write_text("[letter]\ngrace_days = -1\n", encoding="utf-8")
    with pytest.raises(InputError, match="grace_days"):
        LetterSettings.from_toml(bad)


# -- the command line -------------------------------------------------------------------------


def test_evaluate_json_is_the_document(account, plans):
    """`workout evaluate --format json` prints the counter-offer document (dated --as-of)."""
    code, out, err = run_workout(
        "evaluate", SAMPLE, "--payments", "0*3,2500*40", "--as-of", AS_OF, "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    expected = counter_offer_document(
        evaluate_counter_offer(
            account, Proposal(payments=parse_payments("0*3,2500*40")), plans=plans
        ),
        as_of=AS_OF,
    )
    assert doc == json.loads(json.dumps(expected))


def test_evaluate_table_and_settings(tmp_path):
    """The table names the verdict; --set changes the account as in `workout plan`."""
    code, out, err = run_workout(
        "evaluate", SAMPLE, "--term", "36", "--holiday", "3", "--amount", "2000"
    )
    assert code == 0, err
    assert "BREAKS_POLICY" in out and "nearest" in out
    runs = [
        run_workout("evaluate", SAMPLE, "--term", "36", *extra, "--format", "json")
        for extra in ([], ["--set", "income=30000", "--set", "income_normal=30000"])
    ]
    assert [code for code, _, _ in runs] == [0, 0]
    base, richer = (json.loads(out) for _, out, _ in runs)
    assert richer["max_dti"] == pytest.approx((800 + richer["schedule"][0]["payment"]) / 30000)
    assert base["max_dti"] > richer["max_dti"]


@pytest.mark.parametrize(
    "args, words",
    [
        ([], "give the proposal"),
        (["--holiday", "3"], "--holiday"),
        (["--payments", "1500", "--term", "12"], "not both"),
        (["--payments", "fifteen"], "--payments: item 1"),
        (["--term", "3", "--holiday", "3"], "--holiday"),
        (["--term", "12", "--set", "incme=5"], "incme"),
    ],
)
def test_evaluate_usage_errors_are_exit_2(args, words):
    """Bad proposals and settings: exit 2 with a message naming the option."""
    code, out, err = run_workout("evaluate", SAMPLE, *args)
    assert code == 2 and words in err and "Traceback" not in err and out == ""


def test_offer_writes_the_letter(tmp_path):
    """`workout offer` writes the HTML letter and reports its SHA-256."""
    out = tmp_path / "letter.html"
    code, stdout, err = run_workout(
        "offer",
        SAMPLE,
        "--option",
        "custom",
        "--out",
        out,
        "--as-of",
        "2026-05-04",
        "--format",
        "json",
    )
    assert code == 0, err
    summary = json.loads(stdout)
    html = out.read_text(encoding="utf-8")
    assert summary["sha256"] == _sha256(html) and summary["valid_until"] == "2026-05-18"
    assert summary["option"] == "custom" and "定制化还款计划" in html


def test_offer_of_a_counter_offer_and_refusals(tmp_path):
    """counter_offer with a proposal is written; one that breaks policy is exit 3; a
    --out that is neither HTML nor PDF is exit 2 before any work."""
    out = tmp_path / "c.html"
    code, _, err = run_workout(
        "offer", SAMPLE, "--option", "counter_offer", "--payments", "0*3,2500*40", "--out", out
    )
    assert code == 0, err
    assert "按您提议的还款计划" in out.read_text(encoding="utf-8")
    bad = tmp_path / "bad.html"
    code, _, err = run_workout(
        "offer",
        SAMPLE,
        "--option",
        "counter_offer",
        "--term",
        "36",
        "--amount",
        "2000",
        "--out",
        bad,
    )
    assert code == 3 and "breaks the policy" in err and not bad.exists()
    code, _, err = run_workout("offer", SAMPLE, "--option", "custom", "--out", tmp_path / "l.docx")
    assert code == 2 and ".html or .pdf" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.html"]


def _require_pdf() -> None:
    """Skip where WeasyPrint cannot load (no Pango) on a developer's machine; fail in CI,
    whose .ci/run installs Chromium and with it Pango."""
    from dataset_helpers import running_in_ci

    from solver.officer.pdf import pdf_renderer

    try:
        pdf_renderer()
    except InputError as exc:
        if running_in_ci():
            pytest.fail(f"{exc}; CI is set, so this fails instead of skipping", pytrace=False)
        pytest.skip(str(exc))


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _html_words(text: str) -> Counter[str]:
    """The words a reader sees in an HTML letter (styles and tags dropped, entities
    decoded), counted."""
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", text, flags=re.S)
    return Counter(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_offer_pdf_is_the_html_letter_rendered(tmp_path):
    """`--out letter.pdf` writes a PDF whose text holds every scheduled payment and date of
    the same letter's HTML, to the cent and as many times (a dropped or doubled schedule row
    changes a count); the reported hash is the HTML's (what the audit trail records), and
    `audit letter SEQ --out x.pdf` renders the recorded letter."""
    _require_pdf()
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    common = ["--option", "custom", "--as-of", "2026-05-04", "--lang", "en"]
    code, _, err = run_workout("offer", SAMPLE, *common, "--out", tmp_path / "l.html")
    assert code == 0, err
    code, stdout, err = run_workout(
        "offer", SAMPLE, *common, "--officer", "OF-1", "--db", db,
        "--out", tmp_path / "l.pdf", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    letter = (tmp_path / "l.html").read_text(encoding="utf-8")
    assert json.loads(stdout)["sha256"] == _sha256(letter)
    assert (tmp_path / "l.pdf").read_bytes().startswith(b"%PDF-")
    text = _pdf_text(tmp_path / "l.pdf")
    rows = re.findall(r"<tr><td>(\d+)</td><td>([\d-]+)</td><td>([\d,.]+)</td>", letter)
    assert [int(r[0]) for r in rows] == list(range(1, 61))
    in_pdf, in_html = Counter(text.split()), _html_words(letter)
    # every date and amount of the schedule, as printed in the HTML: the PDF shows it as often
    # as the HTML letter does, which is at least once per schedule row
    in_rows = Counter([r[1] for r in rows] + [r[2] for r in rows])
    for word in in_rows:
        assert in_pdf[word] == in_html[word] >= in_rows[word], word
    # the total sits in the table's footer, which the PDF repeats on every page of the table
    total = re.search(r'id="total-of-payments">([\d,.]+)<', letter)
    assert total is not None and in_pdf[total.group(1)] >= in_html[total.group(1)]
    code, _, err = run_workout("audit", "letter", "1", "--db", db, "--out", tmp_path / "r.pdf")
    assert code == 0, err
    assert (tmp_path / "r.pdf").read_bytes() == (tmp_path / "l.pdf").read_bytes()


def test_offer_pdf_without_weasyprint_is_refused_before_any_work(tmp_path, monkeypatch):
    """Where WeasyPrint (or Pango) cannot load, a .pdf letter is exit 2 saying what to
    install, and nothing is written or recorded."""
    import builtins

    real_import = builtins.__import__

    def no_weasyprint(name, *args, **kwargs):
        if name.startswith("weasyprint"):
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_weasyprint)
    db = tmp_path / "audit.db"
    code, _, err = run_workout(
        "offer", SAMPLE, "--option", "custom", "--officer", "OF-1",
        "--db", f"sqlite:///{db}", "--out", tmp_path / "l.pdf",
    )  # fmt: skip
    assert code == 2 and "libpango-1.0-0" in err and ".html" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no letter, no audit database


def test_plan_result_is_what_plan_reports(account):
    """plan_result for the bank objective is plan_options' result."""
    a, b = plan_result(account, Policy(), None), plan_options(account)
    assert a.to_dict() == b.to_dict()
    assert replace(a, runtime=0.0).recommended == b.recommended


@pytest.mark.parametrize(
    ("currency", "amount", "text"),
    [
        ("CNY", 2345.0, "3 months holiday (capitalize), 2,345.00 a month, over 36 months"),
        ("JPY", 2345.0, "3 months holiday (capitalize), 2,345 a month, over 36 months"),
        ("KWD", 2345.125, "3 months holiday (capitalize), 2,345.125 a month, over 36 months"),
    ],
)
def test_proposal_describe_prints_the_currencys_decimals(currency, amount, text):
    """describe() writes the instalment with ISO 4217's minor digits of the currency
    (CNY 2, JPY 0, KWD 3), not two decimals whatever the currency."""
    proposal = Proposal(term=36, holiday=3, amount=amount)
    assert proposal.describe(currency) == text


def test_counter_offer_document_describes_the_proposal_in_the_policys_currency(account):
    """The evaluate document's proposal text uses the policy's currency: whole yen."""
    offer = evaluate_counter_offer(
        account, Proposal(term=36, holiday=3, amount=2000), Policy(currency="JPY")
    )
    doc = counter_offer_document(offer)
    assert doc["proposal"]["text"] == "3 months holiday (capitalize), 2,000 a month, over 36 months"


@pytest.mark.parametrize("before", [None, "", "1700000000"])
def test_letter_pdf_leaves_the_environment_as_it_was(monkeypatch, before):
    """Rendering a PDF sets SOURCE_DATE_EPOCH only while it writes: unset, empty or a
    caller's value is exactly as before afterwards."""
    _require_pdf()
    import os

    from solver.officer.pdf import letter_pdf

    if before is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", before)
    assert letter_pdf("<p>x</p>").startswith(b"%PDF-")
    assert os.environ.get("SOURCE_DATE_EPOCH") == before
