"""``workout audit``: verify, list and export the audit trail, and fetch a recorded letter
(parse, call, format). The trail itself is :mod:`solver.service.audit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.common import echo_error
from commands.options import file_option, int_option
from commands.output import check_out, emit, format_option, out_option, write_out, wrote


def letter_out_option(text: str) -> Any:
    """``--out FILE.html|.pdf`` of a command that writes an offer letter (as ``out_path``)."""
    return file_option("--out", text, dest="out_path", required=True)


#: Exit code of ``audit verify`` when the trail was altered (rows edited, deleted or
#: rewritten): not bad input, not an internal error.
EXIT_TAMPERED = 5
#: Environment variable with the audit database URL (``--db`` wins).
DB_ENV = "WORKOUT_DB"


def db_option(func: Any) -> Any:
    """``--db URL``: the audit database (any SQLAlchemy URL; SQLite file by default)."""
    return click.option(
        "--db",
        "db_url",
        default="sqlite:///workout.db",
        envvar=DB_ENV,
        show_default=True,
        metavar="URL",
        help="Audit database: any SQLAlchemy URL, e.g. sqlite:///workout.db (a file, the "
        "default) or postgresql+psycopg://user@host/dbname; also from $WORKOUT_DB.",
    )(func)


@click.group("audit")
def audit() -> None:
    """The audit trail of officers' decisions: verify, list, export, fetch a letter.

    Every `workout offer --officer ID` (and every decision recorded through
    `workout serve`) appends one record: inputs, policy and model versions (content
    hashes), every option shown with its NPV, the chosen option, the officer id, the
    time and the offer letter's hash. Records are append-only and chained by hashes.

    \b
    Examples:
      workout audit verify --db sqlite:///workout.db
      workout audit list --db sqlite:///workout.db --account-id AUTO-000123
      workout audit export --db sqlite:///workout.db --out out/audit.xlsx
    """


@audit.command("verify")
@db_option
@click.option(
    "--anchor",
    default=None,
    metavar="HASH",
    help="A row hash kept outside the database (as printed when it was recorded): it must "
    "still be in the trail.",
)
@click.option(
    "--expect-head",
    default=None,
    metavar="SEQ:HASH",
    help="The head an earlier verify printed, kept outside the database: that record must "
    "still be in the trail with that hash (the head now is it or a later record). Catches "
    "the newest records deleted together with the head row, which the database alone "
    "cannot show.",
)
@format_option(
    "Here json is the report (rows, head, every problem with its row); csv the problems."
)
def verify(db_url: str, anchor: str | None, expect_head: str | None, fmt: str) -> int:
    """Check the hash chain: detect edited, deleted or rewritten records.

    Exit code 0 when the trail is intact; 5 when it was altered (each problem names its
    record); 2 when the database cannot be read or holds no trail. An intact trail's head
    is printed as SEQ:HASH: keep it outside the database (a ticket, another system) and
    pass it as --expect-head next time. Without it, deleting the newest records together
    with the head row leaves a shorter trail that verifies.

    \b
    Examples:
      workout audit verify
      workout audit verify --db sqlite:///workout.db --format json
      workout audit verify --expect-head "$(cat /secure/workout-audit-head)"
    """
    import pandas as pd

    from solver.errors import InputError
    from solver.service.audit.chain import parse_head
    from solver.service.audit.trail import AuditTrail

    expected = None
    if expect_head is not None:
        try:
            expected = parse_head(expect_head)
        except ValueError as exc:
            raise InputError(f"--expect-head {expect_head}: {exc}") from None
    with AuditTrail(db_url, create=False) as trail:
        report = trail.verify(anchor, expected)
    problems = pd.DataFrame([p.to_dict() for p in report.problems], columns=["seq", "kind", "text"])
    if fmt == "table":
        _print_problems(report)
    else:
        emit(fmt, table=problems, payload=report.to_dict())
    if report.ok:
        return 0
    echo_error(report.summary())
    return EXIT_TAMPERED


def _print_problems(report: Any) -> None:
    from commands.common import console

    out = console()
    for problem in report.problems:
        out.print(f"[red]{problem.kind}[/]: {problem.text}", highlight=False)
    colour = "green" if report.ok else "red"
    out.print(f"[bold {colour}]{report.summary()}[/]", highlight=False)


@audit.command("list")
@db_option
@click.option(
    "--account-id", "account_id", default=None, metavar="ID", help="Only this account's records."
)
@int_option("--last", 1, 100_000, 20, "Show the last N records.")
@format_option("Here json and csv are the records shown (without the letters).")
def list_records(db_url: str, account_id: str | None, last: int, fmt: str) -> int:
    """The latest records: number, time, officer, account, decision, letter hash.

    \b
    Examples:
      workout audit list
      workout audit list --account-id AUTO-000123 --last 5 --format json
    """
    from collections import deque

    import pandas as pd

    from commands.tables import Column, print_fitted
    from solver.service.audit.schema import SUMMARY_COLUMNS
    from solver.service.audit.trail import AuditTrail

    with AuditTrail(db_url, create=False) as trail:
        rows = list(deque(trail.rows(letters=False, account_id=account_id), maxlen=last))
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    if fmt != "table":
        emit(fmt, table=table, payload=table)
        return 0
    from commands.common import console

    layout = (
        Column("#", "right", 0),
        Column("recorded (UTC)", "left", 3),
        Column("officer", "left", 2),
        Column("account", "left", 0),
        Column("decision", "left", 1),
        Column("letter sha256", "left", 4),
    )
    cells = [
        (
            [
                str(r["seq"]),
                str(r["recorded_at"])[:19].replace("T", " "),
                str(r["officer_id"]),
                str(r["account_id"]),
                f"{r['action']} {r['chosen_option']}",
                (r["letter_sha256"] or "")[:16],
            ],
            None,
        )
        for r in rows
    ]
    print_fitted(console(), f"Audit trail: last {len(rows)} records", layout, cells)
    return 0


@audit.command("export")
@db_option
@out_option(
    "the records (every column but the letters, which stay in the database)",
    required=True,
    dest="out_path",
)
@format_option("Here json and csv print the records too.")
def export(db_url: str, out_path: Path, fmt: str) -> int:
    """Export every record (CSV, Excel, Parquet or JSON by the extension).

    \b
    Examples:
      workout audit export --out out/audit.csv
      workout audit export --db sqlite:///workout.db --out out/audit.xlsx
    """
    from solver.service.audit.trail import AuditTrail

    check_out(out_path)
    with AuditTrail(db_url, create=False) as trail:
        frame = trail.to_frame()
    write_out(out_path, frame, sheet_name="audit")
    if fmt == "table":
        click.echo(f"wrote {out_path}: {len(frame):,} records")
    else:
        emit(fmt, table=frame, payload=frame)
        wrote(out_path, fmt)
    return 0


@audit.command("letter")
@click.argument("seq", type=click.IntRange(1))
@db_option
@letter_out_option(
    "Write the recorded offer letter to this file (atomically): .html as issued, or .pdf "
    "rendered from it."
)
@format_option("Here json is the record's number, letter file and hash; csv the same as one row.")
def letter(seq: int, db_url: str, out_path: Path, fmt: str) -> int:
    """Write the offer letter of record SEQ, as issued (checked against its hash).

    \b
    Examples:
      workout audit letter 1 --out out/letter-1.html
      workout audit letter 1 --out out/letter-1.pdf
    """
    from commands.letter_file import letter_path_check, write_letter
    from solver.service.audit.chain import sha256_text
    from solver.service.audit.trail import AuditTrail

    letter_path_check(out_path, {})
    with AuditTrail(db_url, create=False) as trail:
        html = trail.letter(seq)
    with write_letter(out_path, html):
        pass  # nothing to do while the file is being put in place
    summary = {"seq": seq, "letter": str(out_path), "sha256": sha256_text(html)}
    if fmt == "table":
        click.echo(f"wrote {out_path} (record {seq}, sha256 {summary['sha256']})")
    else:
        import pandas as pd

        emit(fmt, table=pd.DataFrame([summary]), payload=summary)
    return 0
