"""The output of ``workout validate``: the summary tables and the machine-readable report.

:func:`print_summary` prints the summary tables (by product, tier, dpd bucket; flags; the
one account of a one-account book) fitted to the terminal; :func:`validation_report` builds
the report of ``--format json|csv`` and ``--out`` (one record per issue and a summary row);
:func:`summary_long` stacks the summary tables into the sheet an ``.xlsx`` report adds.
"""

from __future__ import annotations

from typing import Any

from commands.tables import Column, print_fitted
from solver.domain import DEFAULT_CURRENCY

__all__ = ["REPORT_COLUMNS", "print_summary", "summary_long", "validation_report"]


def _field_text(name: str, value: object) -> str:
    """One field of a validated account for the detail table."""
    from solver.core.cleaning import sequence_text

    if name == "income_normal" and isinstance(value, float) and value != value:
        return "= income (not given)"
    if name in ("income_forecast", "inflows"):
        text = sequence_text(value)
        if text is None:
            return "—"
        count = len(value)  # type: ignore[arg-type]
        what = "month" if name == "income_forecast" else "inflow"
        shown = text if len(text) <= 60 else text[:57] + "..."
        return f"{shown} ({count} {what}{'s' if count != 1 else ''})"
    return str(value)


#: Columns of the validation report table (``--out``, ``--format csv``).
REPORT_COLUMNS = ("severity", "file", "row", "account_id", "column", "message")
_MONEY_COLUMNS = ("principal", "arrears", "interest_due", "fees_due", "vehicle_value")


def _summary_columns(label: str) -> tuple[Column, ...]:
    """Columns of a "By ..." table, by priority: label, counts, then the amounts."""
    priorities = {"principal": 2, "arrears": 3, "vehicle_value": 5, "interest_due": 6}
    return (
        Column(label, "left", 0),
        Column("accounts", "right", 1),
        Column("share", "right", 4),
        *(Column(m, "right", priorities.get(m, 7)) for m in _MONEY_COLUMNS),
    )


def print_summary(
    out: Any, summary: dict[str, Any], first: Any = None, currency: str = DEFAULT_CURRENCY
) -> None:
    """The validation summary tables (by product, tier, dpd bucket; flags; one account),
    fitted to the console ``out`` (numbers are never cut); amounts labelled ``currency`` and
    printed in its decimals (:func:`solver.core.currency.format_amount`)."""
    from solver.core.currency import amount_digits, format_amount

    for key, title in (
        ("by_product", "By product"),
        ("by_tier", "By tier"),
        ("by_dpd_bucket", "By dpd bucket"),
    ):
        rows = []
        digits = amount_digits(currency, summary[key][list(_MONEY_COLUMNS)].to_numpy().ravel())
        for label, row in summary[key].iterrows():
            cells = [
                str(label),
                f"{int(row['accounts']):,}",
                f"{row['share']:.1%}",
                *(format_amount(row[m], currency, digits=digits) for m in _MONEY_COLUMNS),
            ]
            rows.append((cells, "bold" if label == "total" else None))
        columns = _summary_columns(key.removeprefix("by_"))
        print_fitted(out, f"{title} (amounts in {currency})", columns, rows)
    flags = [
        ([str(label), f"{int(row['accounts']):,}", f"{row['share']:.1%}"], None)
        for label, row in summary["flags"].iterrows()
    ]
    columns = (Column("flag", "left", 0), Column("accounts", "right", 1), Column("share"))
    print_fitted(out, "Flags", columns, flags)
    if first is not None and len(first) == 1:
        record = first.iloc[0]
        detail = [
            ([str(name), _field_text(str(name), value)], None) for name, value in record.items()
        ]
        columns = (Column("field", "left", 0), Column("value", "left", 1, wraps=True))
        print_fitted(out, f"Account {record['account_id']}", columns, detail)


def _summary_records(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The summary tables as JSON records (label column first)."""
    from solver.core.writers import table_records

    out = {}
    for key, table in summary.items():
        frame = table.reset_index()
        frame = frame.rename(columns={frame.columns[0]: key.removeprefix("by_").removesuffix("s")})
        out[key] = table_records(frame)
    return out


def summary_long(summary: dict[str, Any]) -> Any:
    """The summary tables stacked into one (``by``, ``segment``, counts, amounts)."""
    import pandas as pd

    frames = []
    for key, table in summary.items():
        frame = table.reset_index()
        frame = frame.rename(columns={frame.columns[0]: "segment"})
        frame.insert(0, "by", key.removeprefix("by_"))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _problem_count(error: Any, shown: int) -> int:
    """How many problems an error reports (its headline counts those not listed)."""
    import re

    match = re.search(r"(\d[\d,]*) problems? found", str(error.args[0]) if error.args else "")
    return int(match.group(1).replace(",", "")) if match else shown


def validation_report(
    path: Any,
    error: Any,
    warnings_seen: list[str],
    n: int,
    summary: dict[str, Any] | None,
    sources: list[str],
) -> tuple[dict[str, Any], Any]:
    """The machine-readable validation report: (JSON document, per-issue table).

    One row per problem (severity ``error``) and per warning (``warning``) with file,
    row, account_id, column and message, then one ``summary`` row saying whether the file
    is valid; the JSON document also has the counts and the summary tables.
    """
    import pandas as pd

    from solver.core.problems import issue_records

    errors = issue_records(error, sources) if error is not None else []
    warnings_ = issue_records(warnings_seen, sources)
    issues = [{"severity": "error", **r} for r in errors]
    issues += [{"severity": "warning", **r} for r in warnings_]
    if error is None:
        message = f"OK: {n:,} account{'s' if n != 1 else ''} valid"
        count = 0
    else:
        message = str(error.args[0]) if error.args else str(error)
        count = _problem_count(error, len(errors))
    rows = [*issues, {"severity": "summary", "file": str(path), "message": message}]
    table = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    table["row"] = table["row"].astype("Int64")
    payload = {
        "file": str(path),
        "valid": error is None,
        "accounts": n,
        "errors": count,
        "warnings": len(warnings_),
        "message": message,
        "issues": issues,
        "summary": _summary_records(summary) if summary is not None else None,
    }
    return payload, table
