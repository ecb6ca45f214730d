"""The officer's web page: one server-rendered page (Jinja2) in Chinese or English, with a
small static script over the ``/api`` endpoints (no build step).

The account form is prefilled with the sample account (``scenarios/sample_account.toml``
when the service runs from the repository, else blank), so the page plans at once.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from solver.core.schema import COLUMNS, PRODUCTS, SPECS
from solver.domain import TIERS
from solver.officer.templating import environment, words

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: The account shown when the page opens (the demo's sample; absent in an installed copy).
SAMPLE_ACCOUNT = HERE.parents[1] / "scenarios" / "sample_account.toml"
#: Page languages.
PAGE_LANGUAGES = ("zh", "en")
#: Account fields left off the form (they keep their defaults): forecasts and contact data.
NOT_ON_FORM = frozenset(
    {
        "income_forecast",
        "inflows",
        "region",
        "language",
        "preferred_channel",
        "consent_email",
        "consent_sms",
        "cease_contact",
        "dispute",
        "bankruptcy",
        "has_plan",
    }
)
#: The account fields on the form, in the schema's order.
FORM_FIELDS = tuple(name for name in COLUMNS if name not in NOT_ON_FORM)
#: Security headers of the page (the script and styles are served from /static).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _sample() -> dict[str, Any]:
    try:
        with open(SAMPLE_ACCOUNT, "rb") as fh:
            return tomllib.load(fh)
    except OSError:
        return {}


def _form_fields() -> list[dict[str, Any]]:
    sample = _sample()
    out = []
    for name in FORM_FIELDS:
        spec = SPECS[name]
        field: dict[str, Any] = {"name": name, "value": sample.get(name, ""), "step": None}
        if name == "product":
            field.update(kind="choice", choices=PRODUCTS)
        elif name == "tier":
            field.update(kind="choice", choices=("", *TIERS))
        elif spec.kind == "bool":
            field.update(kind="bool", value=bool(sample.get(name, False)))
        elif spec.kind in ("id", "text", "category"):
            field.update(kind="text")
        else:
            field.update(kind="number", step="1" if spec.kind == "int" else "any")
        out.append(field)
    return out


def page_router(*, auth: bool, book: str, docs: str = "/openapi.json") -> APIRouter:
    """``GET /``: the page, in ``?lang=zh`` (default) or ``?lang=en``; its "API docs"
    link goes to ``docs`` (``/docs`` when the interactive docs are on)."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(lang: str = Query("zh", pattern="^(zh|en)$")) -> HTMLResponse:
        texts = {key: value[lang] for key, value in words(TEMPLATES / "page_text.toml").items()}
        html = (
            environment(TEMPLATES)
            .get_template("officer.html.j2")
            .render(
                t=texts,
                texts_json=json.dumps(texts, ensure_ascii=False).replace("</", "<\\/"),
                lang=lang,
                auth=auth,
                book=book,
                docs=docs,
                fields=_form_fields(),
            )
        )
        return HTMLResponse(html, headers=PAGE_HEADERS)

    return router
