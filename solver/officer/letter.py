"""The printable offer letter (bilingual zh/en HTML with print CSS).

:func:`render_letter` fills the Jinja2 template ``templates/offer_letter.html.j2``
(shipped with the package, its words in ``templates/letter_text.toml``) with an
:class:`~solver.officer.offers.Offer` (the schedule to the cent, the APR as 明示年化利率 /
Regulation Z, finance charge, amount financed, total of payments, what is waived) and the
bank's :class:`LetterSettings` (name, hotlines, grace days, how long the offer is open).

The HTML is self-contained (CSS inline, no scripts: print it from the browser), deterministic
for the same offer, settings and software version, and identified by its SHA-256
(:func:`letter_sha256`), which the audit trail records.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from solver.core.currency import amount_digits, format_amount
from solver.errors import InputError
from solver.officer.offers import Offer
from solver.officer.templating import environment, words
from solver.plans.terms import holiday_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Letter languages: Chinese, English, or both side by side.
LANGUAGES = ("zh-en", "zh", "en")


@dataclass(frozen=True)
class LetterSettings:
    """What the bank puts in every letter (from a TOML file with these keys).

    Parameters
    ----------
    bank_name_zh, bank_name_en
        The lender's name in each language.
    hotline
        The bank's customer-service number (left out when empty).
    regulator_hotline
        The financial consumer complaint hotline (12378 in China).
    grace_days
        Days after a due date before a payment counts as missed.
    cancel_after_missed
        Missed payments in a row after which the bank may end the plan.
    valid_days
        Days the offer stays open.
    prepayment_allowed
        Whether the letter states the right to prepay without charge.
    currency
        Currency label of the amounts.
    """

    bank_name_zh: str = "本行"
    bank_name_en: str = "the Bank"
    hotline: str = ""
    regulator_hotline: str = "12378"
    grace_days: int = 3
    cancel_after_missed: int = 2
    valid_days: int = 14
    prepayment_allowed: bool = True
    currency: str = "CNY"

    def __post_init__(self) -> None:
        for name in ("grace_days", "cancel_after_missed", "valid_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
                raise InputError(
                    f"{name}: must be a whole number of days in [0, 365], got {value!r}"
                )
        if self.cancel_after_missed < 1 or self.valid_days < 1:
            raise InputError("cancel_after_missed and valid_days must be at least 1")
        for name in ("bank_name_zh", "bank_name_en", "hotline", "regulator_hotline", "currency"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > 120:
                raise InputError(f"{name}: must be text of at most 120 characters")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<letter>") -> LetterSettings:
        known = {f.name for f in fields(cls)}
        unknown = [k for k in data if k not in known]
        if unknown:
            raise InputError(
                f"{source}: {unknown[0]}: unknown letter setting ({', '.join(sorted(known))})"
            )
        try:
            return cls(**dict(data))
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> LetterSettings:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_mapping(data.get("letter", data), source=str(path))


def software_version() -> str:
    """The installed ``loan-workout`` version (``dev`` in a tree that is not installed);
    letters and audit records carry it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("loan-workout")
    except PackageNotFoundError:
        return "dev"


def offer_reference(offer: Offer) -> str:
    """A short reference for the letter: the same offer gives the same reference."""
    key = "|".join(
        [offer.account_id, offer.label, offer.as_of.isoformat(), *map(str, offer.schedule.payment)]
    )
    return "WO-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12].upper()


def render_letter(offer: Offer, settings: LetterSettings | None = None, lang: str = "zh-en") -> str:
    """The offer letter as one HTML document (UTF-8 text).

    Parameters
    ----------
    offer
        What is offered (:func:`offer_of_option`, :func:`offer_of_counter`).
    settings
        The bank's letter settings (defaults when omitted).
    lang
        ``zh-en`` (both languages, Chinese first), ``zh`` or ``en``.
    """
    from markupsafe import Markup, escape

    if lang not in LANGUAGES:
        raise InputError(f"lang: must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    settings = settings or LetterSettings()
    texts = words(TEMPLATES / "letter_text.toml")
    values = {
        "bank_zh": settings.bank_name_zh,
        "bank_en": settings.bank_name_en,
        "hotline_zh": f"（电话 {settings.hotline}）" if settings.hotline else "",
        "hotline_en": f" ({settings.hotline})" if settings.hotline else "",
        "regulator_hotline": settings.regulator_hotline,
        "grace_days": settings.grace_days,
        "cancel_after": settings.cancel_after_missed,
        "valid_until": offer.valid_until.isoformat(),
        "currency": settings.currency,
    }
    languages = ("zh", "en") if lang == "zh-en" else (lang,)

    def text(key: str, language: str, extra: Mapping[str, Any]) -> str:
        args = {
            k: (v[language] if isinstance(v, Mapping) else v)
            for k, v in {**values, **extra}.items()
        }
        return texts[key][language].format(**args)

    def t(key: str, plain: bool = False, **extra: Any) -> Any:
        parts = [text(key, language, extra) for language in languages]
        if plain:
            return " / ".join(parts)
        return Markup(" ").join(
            Markup('<span class="{}" lang="{}">{}</span>').format(language, language, escape(part))
            for language, part in zip(languages, parts, strict=True)
        )

    rows = offer.schedule.to_records()
    totals = {
        k: sum(int(v) for v in getattr(offer.schedule, k)) / 100
        for k in ("payment", "interest", "principal", "fees")
    }
    # one number of decimals for the whole letter: the currency's (JPY none, KWD three; a
    # label babel does not know: two), or two when an amount is not on them
    # (solver.core.currency)
    figures = [
        offer.finance_charge, offer.amount_financed, offer.total_of_payments, offer.relief,
        offer.current_total, *offer.owed.values(), *totals.values(),
        *(row[k] for row in rows for k in ("payment", "interest", "principal", "fees", "balance")),
    ]  # fmt: skip
    digits = amount_digits(settings.currency, figures)
    bank = " ".join(
        {"zh": settings.bank_name_zh, "en": settings.bank_name_en}[language]
        for language in languages
    )
    mode = offer.deferral_mode or "capitalize"
    return (
        environment(TEMPLATES)
        .get_template("offer_letter.html.j2")
        .render(
            offer=offer,
            settings=settings,
            rows=rows,
            totals=totals,
            t=t,
            money=lambda x: format_amount(x, settings.currency, digits=digits),
            pct=lambda x: f"{x * 100:.2f}%",
            mode_text=texts[f"mode_{mode}"],
            # holidays other than the first months are named where they fall
            holiday_months=""
            if offer.holidays == ((1, offer.deferral_months),)
            else holiday_text(offer.holidays),
            reference=offer_reference(offer),
            bank=bank,
            bilingual=len(languages) > 1,
            html_lang="zh-Hans" if languages[0] == "zh" else "en",
            version=software_version(),
        )
    )


def letter_sha256(html: str) -> str:
    """The SHA-256 of a letter's UTF-8 bytes (hex), as the audit trail records it."""
    return hashlib.sha256(html.encode("utf-8")).hexdigest()
